"""Query embedding under concurrency: batched, cached, and shut down cleanly."""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from semsearch.batcher import QueryBatcher
from semsearch.embedder import Embedder
from semsearch.errors import BackendUnavailable

QUERIES = [f"how do I {verb} a {noun}" for verb in ("copy", "sort", "parse", "cache") for noun in ("list", "date")]


def test_concurrent_queries_get_the_vectors_single_queries_get_in_fewer_model_calls(embedder: Embedder) -> None:
    singles = {q: embedder.embed_queries([q])[0] for q in QUERIES}
    calls: list[int] = []
    gate = threading.Event()

    def encode(texts: list[str]) -> np.ndarray:
        gate.wait(5)  # hold the first call so the other queries queue up behind it
        calls.append(len(texts))
        return embedder.embed_queries(texts)

    batcher = QueryBatcher(encode, cache_size=0)
    try:
        with ThreadPoolExecutor(len(QUERIES)) as pool:
            futures = {q: pool.submit(batcher.embed, q) for q in QUERIES}
            threading.Timer(0.3, gate.set).start()
            got = {q: f.result(timeout=60) for q, f in futures.items()}
    finally:
        batcher.close()
    for q in QUERIES:
        np.testing.assert_allclose(got[q], singles[q], atol=1e-5)
    assert sum(calls) == len(QUERIES)
    assert len(calls) < len(QUERIES), calls


def test_a_repeated_query_is_answered_from_the_cache(embedder: Embedder) -> None:
    batcher = QueryBatcher(embedder.embed_queries)
    try:
        first = batcher.embed("sort a list of dates")
        again = batcher.embed("sort a list of dates")
    finally:
        batcher.close()
    assert again is first
    assert (batcher.batches, batcher.cache.hits, batcher.cache.misses) == (1, 1, 1)
    assert not again.flags.writeable  # a caller cannot corrupt the cached vector


def test_the_cache_forgets_the_least_recently_used_query() -> None:
    batcher = QueryBatcher(lambda texts: np.ones((len(texts), 2), dtype=np.float32), cache_size=2)
    try:
        for q in ("a", "b", "a", "c"):  # "b" is the least recently used when "c" arrives
            batcher.embed(q)
        assert batcher.cache.get("a") is not None and batcher.cache.get("c") is not None
        assert batcher.cache.get("b") is None
    finally:
        batcher.close()


def test_a_failing_model_call_reaches_every_waiting_caller_and_the_worker_lives_on() -> None:
    def encode(texts: list[str]) -> np.ndarray:
        if "bad" in texts:
            raise RuntimeError("model exploded")
        return np.zeros((len(texts), 2), dtype=np.float32)

    batcher = QueryBatcher(encode)
    try:
        with pytest.raises(RuntimeError, match="model exploded"):
            batcher.embed("bad")
        assert batcher.embed("good").shape == (2,)
    finally:
        batcher.close()


def test_close_answers_queued_queries_stops_the_worker_and_refuses_later_ones() -> None:
    started, release = threading.Event(), threading.Event()

    def encode(texts: list[str]) -> np.ndarray:
        started.set()
        release.wait(5)
        return np.zeros((len(texts), 2), dtype=np.float32)

    batcher = QueryBatcher(encode)
    with ThreadPoolExecutor(4) as pool:
        queued = [pool.submit(batcher.embed, "q0")]
        assert started.wait(5)  # the worker has taken q0 and is blocked in encode
        queued += [pool.submit(batcher.embed, f"q{i}") for i in range(1, 4)]
        while batcher._queue.qsize() < 3:
            time.sleep(0.01)
        threading.Timer(0.2, release.set).start()
        batcher.close()
        assert all(f.result(timeout=10).shape == (2,) for f in queued)
    assert not batcher._worker.is_alive()
    with pytest.raises(BackendUnavailable):
        batcher.embed("after close")
    batcher.close()  # closing twice is harmless


def test_direct_mode_embeds_concurrent_queries_on_their_callers_threads_with_the_vectors_of_single_calls(
    embedder: Embedder,
) -> None:
    """ONNX int8 runs one text per call, so the engine skips the worker (`batching=False`): each caller encodes."""
    singles = {q: embedder.embed_queries([q])[0] for q in QUERIES}
    callers: set[str] = set()

    def encode(texts: list[str]) -> np.ndarray:
        callers.add(threading.current_thread().name)
        return embedder.embed_queries(texts)

    before = set(threading.enumerate())
    batcher = QueryBatcher(encode, batching=False)
    with ThreadPoolExecutor(4, thread_name_prefix="request") as pool:
        got = dict(zip(QUERIES, pool.map(batcher.embed, QUERIES * 3), strict=False))
    assert set(threading.enumerate()) - before == set()  # no worker thread
    assert callers and all(name.startswith("request") for name in callers)
    for q in QUERIES:
        np.testing.assert_allclose(got[q], singles[q], atol=1e-5)
        assert not got[q].flags.writeable
    assert batcher.batches + batcher.cache.hits == len(QUERIES) * 3

    batcher.close()
    with pytest.raises(BackendUnavailable):
        batcher.embed("a new query after close")


def test_threads_borrow_pooled_tokenizer_copies_one_per_concurrent_call_not_one_per_thread(embedder: Embedder) -> None:
    """A server's /context runs on up to 40 request threads; each used to keep its own ~6 MB copy."""
    embedder = dataclasses.replace(embedder, _tokenizers=queue.SimpleQueue())  # an empty pool of its own
    seen: list[int] = []

    def borrow(_: int) -> None:
        with embedder.borrowed_tokenizer() as tokenizer:
            seen.append(id(tokenizer))
            assert tokenizer("two words")["input_ids"]

    for n in range(8):  # eight threads one after another: one copy serves them all
        thread = threading.Thread(target=borrow, args=(n,))
        thread.start()
        thread.join()
    assert len(set(seen)) == 1
    assert seen[0] != id(embedder.model.tokenizer)  # never the model's own, whose padding state encodes share
