"""Chunk reads and writes on one physical collection: count, state for ingest, scans, dense and keyword search,
and the metadata keys filters may name; the writes (upsert, insert of new chunks, delete) are in `chunk_writes`.

These are the verbs the indexer and the searcher use; `MilvusStore` (in `milvus_store`) adds the lifecycle that
opens the collection. Every call goes through `milvus_calls.Connection`, so its timeout and retry policy apply and
only engine errors come out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from semsearch.chunking import chunk_id
from semsearch.errors import MilvusFailed
from semsearch.filters import string_literal
from semsearch.store.capabilities import Capabilities
from semsearch.store.chunk_writes import READ_BATCH, ChunkWrites, in_expr
from semsearch.store.collections import SEARCH_CONSISTENCY, STATE_CONSISTENCY
from semsearch.store.documents import DocumentReads
from semsearch.store.indexes import DenseIndex
from semsearch.store.milvus_calls import Connection
from semsearch.store.saved import SAVED_ROW_PREFIX
from semsearch.store.schema import (
    DENSE_METRIC,
    KEYWORD_FIELD,
    OUTPUT_FIELDS,
    SPARSE_FIELD,
    STATE_FIELDS,
    VECTOR_FIELD,
    keys_collection,
)

#: Rows per page when scanning.
SCAN_PAGE = 1000
#: Documents per read of stored state, and rows per page of it. `doc_id` has no index, so each read scans the
#: whole collection: at a million chunks that scan, not the rows it returns, is the cost, so a big table's batch
#: (`ingest.pipeline.TABLE_UNIT`) is read in one query rather than six (`READ_BATCH` ids each).
STATE_BATCH = 1024
STATE_PAGE = 4096
#: Rows per page when listing a source's document ids (two short fields a row): Milvus's largest query limit, as
#: each page is a scan of the whole collection too.
ID_PAGE = 16_384


@dataclass(frozen=True)
class Hit:
    """One search result: a chunk, its relevance `score` (0..1, see semsearch.ranking) and Milvus's `raw_score`.

    Straight out of the store, `score` is still the raw metric; the searcher normalises it.
    """

    id: str
    doc_id: str
    chunk_index: int
    score: float
    text: str
    source: str
    char_start: int
    char_end: int
    metadata: dict[str, Any]
    raw_score: float = 0.0
    #: In hybrid mode: the chunk's 1-based rank in the dense and keyword lists (None where it is absent).
    ranks: dict[str, int | None] | None = None


@dataclass
class ChunkCollection(DocumentReads, ChunkWrites):
    """The chunks of the physical collection `target`, behind the name `collection` that users configure.

    `metadata_keys` are the keys ingest has seen (kept in the companion collection `<collection>__keys`), which
    filters may name. The flags say what the collection was built with; `MilvusStore.open` reads them.
    """

    milvus: Connection
    collection: str
    target: str = ""
    metadata_keys: set[str] = field(default_factory=set)
    _has_sparse: bool = False
    #: False for collections without `keyword_text` (on Milvus < 2.5, or made before it existed: BM25 reads `text`).
    _has_keyword_text: bool = False
    #: The dense index's metric as built: IP for new collections, COSINE for older ones (same ranking and scores).
    _dense_metric: str = DENSE_METRIC
    #: The dense index as built (read back at open), whose type decides the search parameters.
    dense_index: DenseIndex = field(default_factory=lambda: DenseIndex("AUTOINDEX"))

    def __post_init__(self) -> None:
        self.target = self.target or self.collection

    @property
    def capabilities(self) -> Capabilities:
        return self.milvus.capabilities

    def whole_collection(self) -> ChunkCollection:
        """The store over every tenant's chunks, for what belongs to the collection rather than to one tenant (its
        metadata keys); `MilvusStore` steps past the tenant scope here. Itself for a single-tenant collection."""
        return self

    @property
    def client(self) -> Any:
        """The raw pymilvus client, for tests and benchmarks that look behind the store; the product calls verbs."""
        return self.milvus.client

    # -- reads ----------------------------------------------------------------------------------------------------

    def count(self) -> int:
        """Chunks in the collection, counting every write acknowledged so far (by any process)."""
        return self._count(STATE_CONSISTENCY)

    def serving_count(self) -> int:
        """Chunks as a search sees them now (this process's writes at once, others' within a time tick): what a
        readiness check reports. It reads as `search` does, so it answers whenever searches are answered: a count at
        `count`'s consistency waits for Milvus's next time tick, which after a restart and under load can outlast the
        serving read timeout while searches already succeed (the /ready flake of issue 23)."""
        return self._count(SEARCH_CONSISTENCY)

    def _count(self, consistency: str) -> int:
        rows = self.milvus.read(
            "query", self.target, filter="", output_fields=["count(*)"], consistency_level=consistency
        )
        return int(rows[0]["count(*)"])

    def existing_chunks(self, doc_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Stored state of every chunk of these documents, by primary key (`Chunk.key`), with its keyword text where
        the collection has one (it depends on the chunk's neighbours, not only on the chunk)."""
        found: dict[str, dict[str, Any]] = {}
        fields = [*STATE_FIELDS, KEYWORD_FIELD] if self._has_keyword_text else STATE_FIELDS
        for start in range(0, len(doc_ids), STATE_BATCH):
            expr = in_expr("doc_id", doc_ids[start : start + STATE_BATCH])
            for row in self.scan(expr, fields, page=STATE_PAGE):
                found[row["id"]] = row
        return found

    def chunks_of(self, doc_ids: Sequence[str], fields: list[str]) -> Iterator[dict[str, Any]]:
        """Every stored chunk of these documents, with these fields."""
        for start in range(0, len(doc_ids), READ_BATCH):
            yield from self.scan(in_expr("doc_id", doc_ids[start : start + READ_BATCH]), fields)

    def vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        for start in range(0, len(ids), READ_BATCH):
            expr = in_expr("id", ids[start : start + READ_BATCH])
            found.update({row["id"]: row[VECTOR_FIELD] for row in self.scan(expr, ["id", VECTOR_FIELD])})
        return found

    def doc_ids_for_source(self, source: str) -> set[str]:
        return {row["doc_id"] for row in self.scan(in_expr("source", [source]), ["id", "doc_id"], page=ID_PAGE)}

    @property
    def has_keyword_text(self) -> bool:
        """Whether BM25 reads a keyword text of its own (`KEYWORD_FIELD`), which writers may fill, or `text`."""
        return self._has_keyword_text

    @property
    def keyword_ready(self) -> bool:
        """True when the collection has the BM25 sparse field (built on a Milvus that supports it)."""
        return self._has_sparse

    def dense_search(self, vector: np.ndarray, limit: int, expr: str = "", depth: int | None = None) -> list[Hit]:
        """Nearest chunks by cosine similarity; `Hit.score` is the raw cosine (the dot product of unit vectors).
        `depth`: search with the parameters of a `depth`-deep search (HNSW's `ef`), so that the `limit` hits are
        the first of that deeper search's (`Searcher` reads a page this way)."""
        return self._search(
            data=[vector.tolist()],
            anns_field=VECTOR_FIELD,
            metric=self._dense_metric,
            limit=limit,
            expr=expr,
            params_for=max(depth or limit, limit),
        )

    def keyword_search(self, query: str, limit: int, expr: str = "") -> list[Hit]:
        """Best chunks by BM25 over the analysed keyword text; `Hit.score` is the raw BM25 score. Neighbouring
        chunks of a short document share one keyword window, so their scores tie: the earlier chunk comes first
        (Milvus orders ties arbitrarily, and a document's best chunk must not change between two searches)."""
        try:
            hits = self._search(data=[query], anns_field=SPARSE_FIELD, metric="BM25", limit=limit, expr=expr)
            return sorted(hits, key=lambda hit: (-hit.raw_score, hit.chunk_index))
        except MilvusFailed as exc:
            # On an empty collection Milvus's BM25 divides by a zero average length and refuses the NaN it made.
            if "NaN or Inf" in str(exc) and self.count() == 0:
                return []
            raise

    def _search(
        self, *, data: list, anns_field: str, metric: str, limit: int, expr: str, params_for: int | None = None
    ) -> list[Hit]:
        result = self.milvus.read(
            "search",
            self.target,
            data=data,
            anns_field=anns_field,
            limit=limit,
            filter=expr,
            output_fields=OUTPUT_FIELDS,
            search_params=_search_params(metric, params_for or limit, self.dense_index),
            consistency_level=SEARCH_CONSISTENCY,
        )
        return [_to_hit(raw["entity"], float(raw["distance"])) for raw in result[0]]

    def refresh_metadata_keys(self, patient: bool = False) -> set[str]:
        """The metadata keys filters may name, read again. `patient` (opening) reads on the write path's deadline
        and retries: a server that has just loaded a collection may take more than the serving path's second."""
        keys = keys_collection(self.collection)
        query = {
            "filter": 'key != ""',
            "output_fields": ["key"],
            "limit": 16_384,
            "consistency_level": STATE_CONSISTENCY,
        }
        if patient:
            rows = self.milvus.write(
                "query", keys, what=f"read of {keys!r}", unfinished="the keys are unknown", **query
            )
        elif self.milvus.read("has_collection", keys):
            rows = self.milvus.read("query", keys, **query)
        else:
            return self.metadata_keys
        self.metadata_keys = {row["key"] for row in rows if not row["key"].startswith(SAVED_ROW_PREFIX)}
        return self.metadata_keys

    # -- plumbing -------------------------------------------------------------------------------------------------

    def scan(self, expr: str, fields: list[str], page: int = SCAN_PAGE) -> Iterator[dict[str, Any]]:
        """Every row matching `expr`, in primary-key order, a page at a time, seeing every acknowledged write.

        Pages continue after the last id with our own escaped literal: pymilvus's query_iterator writes that
        literal itself and loops forever on ids containing quotes or backslashes. Milvus returns the smallest ids
        first for a limited query, which is what query_iterator relies on too.
        """
        last: str | None = None
        fields = fields if "id" in fields else ["id", *fields]
        while True:
            after = f"id > {string_literal(last)}" if last is not None else ""
            page_expr = " and ".join(f"({e})" for e in (expr, after) if e)
            rows = self.milvus.write(
                "query",
                self.target,
                filter=page_expr,
                output_fields=fields,
                limit=page,
                consistency_level=STATE_CONSISTENCY,
                what=f"read of stored chunks from {self.target!r}",
            )
            rows.sort(key=lambda row: row["id"])
            yield from rows
            if len(rows) < page:
                return
            last = rows[-1]["id"]


def _search_params(metric: str, limit: int, dense: DenseIndex) -> dict[str, Any]:
    """BM25 takes no parameters; a dense search takes its index's (`DenseIndex.search_params`)."""
    params = dense.search_params(limit) if metric != "BM25" else {}
    return {"metric_type": metric, "params": params} if params else {"metric_type": metric}


def _to_hit(entity: dict[str, Any], raw_score: float) -> Hit:
    return Hit(
        id=chunk_id(entity["doc_id"], int(entity["chunk_index"])),
        doc_id=entity["doc_id"],
        chunk_index=int(entity["chunk_index"]),
        score=raw_score,
        raw_score=raw_score,
        text=entity["text"],
        source=entity["source"],
        char_start=int(entity["char_start"]),
        char_end=int(entity["char_end"]),
        metadata=entity.get("metadata") or {},
    )
