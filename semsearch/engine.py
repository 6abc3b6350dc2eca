"""The engine as the doors see it: one model, one store, and the indexer and searcher built on them."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from semsearch.batcher import QueryBatcher
from semsearch.embedder import Embedder
from semsearch.indexer import Indexer
from semsearch.reranker import Reranker
from semsearch.searcher import Searcher
from semsearch.settings import Settings
from semsearch.store import MilvusStore


@dataclass
class Engine:
    settings: Settings
    embedder: Embedder
    store: MilvusStore

    @classmethod
    def open(cls, settings: Settings, *, create: bool, embedder: Embedder | None = None) -> Engine:
        """Connect to Milvus first (fails fast, before the slow model load), then load and check the model."""
        store = MilvusStore.connect(settings)
        try:
            embedder = embedder or Embedder.load(settings)
            store.open(embedder.model_id, embedder.dim, create=create)
        except BaseException:
            store.close()
            raise
        return cls(settings=settings, embedder=embedder, store=store)

    @property
    def indexer(self) -> Indexer:
        return Indexer(self.store, self.embedder, self.settings)

    @property
    def searcher(self) -> Searcher:
        return Searcher(
            self.store, self.embedder, lambda: self.reranker, self.settings.rerank_candidates, self.query_batcher.embed
        )

    @functools.cached_property
    def query_batcher(self) -> QueryBatcher:
        """Query embeddings for every search of this engine: cached, and batched across concurrent requests."""
        return QueryBatcher(self.embedder.embed_queries)

    @functools.cached_property
    def reranker(self) -> Reranker | None:
        """The CrossEncoder named by SEMSEARCH_RERANK_MODEL, loaded on first use; None when not configured."""
        if not self.settings.rerank_model:
            return None
        return Reranker(self.settings.rerank_model, self.settings.device)

    def close(self) -> None:
        if "query_batcher" in self.__dict__:
            self.query_batcher.close()
        self.store.close()
