"""Query embeddings under load: an LRU cache in front of the model, which either batches concurrent queries on one
worker thread or runs each on its caller's thread.

Batching (`batching=True`): where one model call for 16 queries costs far less than 16 calls (torch, ONNX fp32),
the callers (request threads) only wait on a future while one worker encodes together every query already waiting;
only when the last batch had company (concurrent load) does it linger up to `max_wait_s` for more, so a lone query
pays no wait. Direct (`batching=False`): a model that runs one text per call anyway (ONNX int8) gains nothing from
a batch, and a single worker would hold the model to one core and add two thread hops per query; the caller's
thread encodes, and the model bounds how many run at once (`Embedder.embed_queries`: one per core).
"""

from __future__ import annotations

import queue
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np

from semsearch.errors import BackendUnavailable

_STOP = object()


class QueryCache:
    """A thread-safe LRU map from query text to its (read-only) unit vector."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, query: str) -> np.ndarray | None:
        with self._lock:
            vector = self._items.get(query)
            if vector is None:
                self.misses += 1
                return None
            self._items.move_to_end(query)
            self.hits += 1
            return vector

    def put(self, query: str, vector: np.ndarray) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[query] = vector
            self._items.move_to_end(query)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class QueryBatcher:
    """Embeds single queries from many threads through batched calls of `encode` (list of texts → (n, dim) array).

    Thread-safe; `close()` stops the worker after the queries already queued, and later calls raise
    BackendUnavailable instead of waiting forever.
    """

    def __init__(
        self,
        encode: Callable[[list[str]], np.ndarray],
        *,
        max_batch: int = 32,
        max_wait_s: float = 0.002,
        cache_size: int = 1024,
        batching: bool = True,
    ) -> None:
        self.encode = encode
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.cache = QueryCache(cache_size)
        self.batches = 0  # model calls made, for tests and benchmarks
        self._queue: queue.Queue = queue.Queue()
        self._closed = False
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        if batching:
            self._worker = threading.Thread(target=self._run, name="query-batcher", daemon=True)
            self._worker.start()

    def embed(self, query: str) -> np.ndarray:
        """The query's unit vector (read-only; copy it to modify)."""
        cached = self.cache.get(query)
        if cached is not None:
            return cached
        if self._worker is None:
            return self._embed_here(query)
        future: Future[np.ndarray] = Future()
        with self._lock:
            if self._closed:
                raise BackendUnavailable("the query encoder is shut down")
            self._queue.put((query, future))
        return future.result()

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._worker is not None:
                self._queue.put(_STOP)
        if self._worker is not None:
            self._worker.join(timeout)

    def _embed_here(self, query: str) -> np.ndarray:
        """Direct mode: encode on the caller's thread."""
        with self._lock:
            if self._closed:
                raise BackendUnavailable("the query encoder is shut down")
            self.batches += 1
        vector = np.array(self.encode([query])[0], dtype=np.float32)
        vector.flags.writeable = False
        self.cache.put(query, vector)
        return vector

    def _run(self) -> None:
        lingering = False
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch, stop = self._collect([first], lingering)
            self._encode(batch)
            lingering = len(batch) > 1
            if stop:
                return

    def _collect(self, batch: list, linger: bool) -> tuple[list, bool]:
        """Add the queries already waiting (and, under load, those arriving within max_wait_s) up to max_batch."""
        timeout = self.max_wait_s if linger else 0.0
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get(timeout=timeout) if timeout else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)
        return batch, False

    def _encode(self, batch: list[tuple[str, Future]]) -> None:
        texts = list(dict.fromkeys(query for query, _ in batch))  # one row per distinct query
        try:
            vectors = self.encode(texts)
        except BaseException as exc:  # every waiting caller gets the error, the worker lives on
            for _, future in batch:
                future.set_exception(exc)
            return
        self.batches += 1
        by_text = {}
        for text, vector in zip(texts, vectors, strict=True):
            vector = np.array(vector, dtype=np.float32)
            vector.flags.writeable = False
            by_text[text] = vector
            self.cache.put(text, vector)
        for query, future in batch:
            future.set_result(by_text[query])
