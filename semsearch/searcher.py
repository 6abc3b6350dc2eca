"""Query in, hits out: embed the query with the collection's model and ask Milvus for the nearest chunks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from semsearch.embedder import Embedder
from semsearch.errors import InvalidFilter
from semsearch.filters import compile_filter
from semsearch.store import Hit, MilvusStore


class Searcher:
    def __init__(self, store: MilvusStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def compile_filter(self, spec: Mapping[str, Any] | None) -> str:
        """Compile a filter; a field unknown to this process is looked up once more (another writer may know it)."""
        try:
            return compile_filter(spec, self.store.metadata_keys)
        except InvalidFilter:
            return compile_filter(spec, self.store.refresh_metadata_keys())

    def search(self, query: str, top_k: int = 10, filters: Mapping[str, Any] | None = None) -> list[Hit]:
        """Top-k chunks by cosine similarity to `query`, best first."""
        expr = self.compile_filter(filters)
        vector = self.embedder.embed_queries([query])[0]
        return self.store.search(vector, top_k, expr)
