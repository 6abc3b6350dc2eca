"""The Milvus store: the only module that talks to pymilvus.

It presents a few verbs (`open`, `existing_chunks`, `upsert_chunks`, `delete_*`, `search`, `count`) over one chunk
collection, so the same code runs on Milvus Lite (a local `.db`) and on a Milvus server (a URI).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

with warnings.catch_warnings():  # milvus-lite 2.5 imports the deprecated pkg_resources
    warnings.simplefilter("ignore", UserWarning)
    from pymilvus import MilvusClient, MilvusException
    from pymilvus.exceptions import DataNotMatchException

from semsearch.chunking import chunk_id
from semsearch.errors import (
    BackendUnavailable,
    CollectionMissing,
    CollectionModelMismatch,
    DatabaseLocked,
    DocumentRejected,
)
from semsearch.filters import string_literal
from semsearch.settings import Settings
from semsearch.store import lite, milvus_calls
from semsearch.store.capabilities import Capabilities, detect, physical_name
from semsearch.store.schema import (
    DENSE_METRIC,
    KEYWORD_FIELD,
    OUTPUT_FIELDS,
    SPARSE_FIELD,
    STATE_FIELDS,
    VECTOR_FIELD,
    ModelRecord,
    build_index_params,
    build_keys_schema,
    build_schema,
    keys_collection,
    keyword_text,
)

log = logging.getLogger(__name__)

#: Rows per upsert/delete request: well under Milvus's 64 MB gRPC message limit at 384-d.
WRITE_BATCH = 500
#: doc_ids per `in [...]` expression when reading back state.
READ_BATCH = 200
#: Rows per page when scanning.
SCAN_PAGE = 1000
#: Reads that decide what ingest writes see every earlier write (on a server "Strong" waits for the next time tick,
#: about 200 ms; Milvus Lite is always up to date).
STATE_CONSISTENCY = "Strong"
#: Searches see this process's own writes at once and other writers' within a time tick, without that wait.
SEARCH_CONSISTENCY = "Session"


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
class MilvusStore:
    """One chunk collection in one Milvus. Build with `MilvusStore.connect`, then `open` or `create`.

    `collection` is the name users configure. On a server it is an alias of the physical collection `target`
    (`<collection>__<model-slug>`), which `open` resolves once: this store keeps using that physical collection
    even when `semsearch reindex` moves the alias, so its vectors always match its model. On Milvus Lite (no
    aliases) and for a legacy plain collection, `target == collection`.
    """

    client: MilvusClient
    collection: str
    capabilities: Capabilities
    metadata_keys: set[str] = field(default_factory=set)
    #: Resolved `.db` path when this store runs on Milvus Lite (embedded in this process).
    lite_path: str | None = None
    target: str = ""
    #: Seconds per write-path call, per read-path call (search, readiness), and the write retry budget.
    write_timeout: float = 10.0
    read_timeout: float = 1.0
    retry_seconds: float = 60.0
    _has_sparse: bool = False
    #: False for collections without `keyword_text` (on Milvus < 2.5, or made before it existed: BM25 reads `text`).
    _has_keyword_text: bool = False
    #: The dense index's metric as built: IP for new collections, COSINE for older ones (same ranking and scores).
    _dense_metric: str = DENSE_METRIC

    def __post_init__(self) -> None:
        self.target = self.target or self.collection

    @classmethod
    def connect(cls, settings: Settings) -> MilvusStore:
        """Connect to the configured Milvus; raise BackendUnavailable / DatabaseLocked with a clear message."""
        uri = settings.milvus_uri
        if settings.is_lite:
            Path(uri).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
            if lite.held_by_another_process(Path(uri)):
                raise DatabaseLocked(
                    f"the Milvus Lite database {uri} is open in another process (a running `semsearch serve`?); "
                    "Milvus Lite allows one process per .db file. Stop that process, or send the documents "
                    "to it: semsearch ingest --api http://127.0.0.1:8000 PATH..."
                )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                client = MilvusClient(uri=uri, token=settings.milvus_token or "", timeout=settings.milvus_timeout)
            capabilities = detect(client, settings.is_lite, settings.milvus_timeout)
        except MilvusException as exc:
            raise BackendUnavailable(f"cannot open Milvus at {uri}: {exc.message}") from exc
        lite_path = lite.opened(Path(uri)) if settings.is_lite else None
        return cls(
            client=client,
            collection=settings.collection,
            capabilities=capabilities,
            lite_path=lite_path,
            write_timeout=settings.milvus_timeout,
            # Milvus Lite runs embedded, beside this process: a slow call there is CPU load, not a dead server.
            read_timeout=settings.milvus_timeout if settings.is_lite else settings.milvus_read_timeout,
            retry_seconds=settings.write_retry_seconds,
        )

    def close(self) -> None:
        """Close the connection; the last store on a Lite `.db` in this process also stops its embedded server,
        so that another process (e.g. `semsearch serve` after an ingest) can open the file."""
        self.client.close()
        if self.lite_path is not None:
            lite.closed(self.lite_path)

    # -- collection lifecycle -------------------------------------------------------------------------------------

    def exists(self) -> bool:
        return bool(self._read(self.client.has_collection, self.target))

    def resolve(self) -> str | None:
        """The physical collection `collection` names now: an alias's target, or a plain collection; None if none.
        (Aliases are listed first: describing a missing one makes pymilvus log an error with a traceback.)"""
        if self.capabilities.aliases and self.collection in self._read(self.client.list_aliases).get("aliases", []):
            return self._read(self.client.describe_alias, self.collection)["collection_name"]
        return self.collection if self._read(self.client.has_collection, self.collection) else None

    def open(self, model_id: str, dim: int, create: bool, resolve: bool = True) -> None:
        """Check the collection was built with this model (or create it); load it for search. With `resolve` False
        the store opens its `target` as it is (reindex fills a physical collection the alias does not name yet)."""
        target = self.resolve() if resolve else self.target
        if target is None:
            if not create:
                raise CollectionMissing(
                    f"collection {self.collection!r} does not exist yet: ingest some documents first"
                )
            target = self.create(ModelRecord(model_id, dim))
            if self.capabilities.aliases:
                self._write(self.client.create_alias, target, self.collection, what=f"alias {self.collection!r}")
        self.target = target
        info = self._read(self.client.describe_collection, self.target)
        record = ModelRecord.from_description(info.get("description", ""))
        if record is not None and (record.model != model_id or record.dim != dim):
            raise CollectionModelMismatch(
                f"collection {self.collection!r} was built with model {record.model!r} ({record.dim}-d vectors), "
                f"but the configured model is {model_id!r} ({dim}-d). Use the model it was built with "
                "(SEMSEARCH_MODEL), or another collection (SEMSEARCH_COLLECTION), or switch the collection to "
                "the new model with `semsearch reindex --model NAME` (Milvus server)."
            )
        self._write(self.client.load_collection, self.target, what=f"load {self.target!r}")
        fields = {f["name"] for f in info["fields"]}
        self._has_sparse = SPARSE_FIELD in fields
        self._has_keyword_text = KEYWORD_FIELD in fields
        self._dense_metric = self._index_metric(VECTOR_FIELD)
        self.refresh_metadata_keys()

    def _index_metric(self, field_name: str) -> str:
        names = self._read(self.client.list_indexes, self.target, field_name=field_name)
        if not names:
            return DENSE_METRIC
        return self._read(self.client.describe_index, self.target, names[0])["metric_type"]

    def create(self, record: ModelRecord) -> str:
        """Create the physical collection for this model (and the metadata-keys companion); returns its name.
        On a server it is `<collection>__<model-slug>`, for the alias `collection` to point at."""
        target = physical_name(self.collection, record.model) if self.capabilities.aliases else self.collection
        bm25 = self.capabilities.bm25
        self._write(
            self.client.create_collection,
            target,
            schema=build_schema(record.dim, record, bm25=bm25),
            index_params=build_index_params(self.client, self.capabilities.dense_index, bm25=bm25),
            consistency_level=SEARCH_CONSISTENCY,
            what=f"create collection {target!r}",
        )
        keys = keys_collection(self.collection)
        if not self._write(self.client.has_collection, keys, what="read collections"):
            self._write(
                self.client.create_collection,
                keys,
                schema=build_keys_schema(),
                index_params=_keys_index(self),
                consistency_level=STATE_CONSISTENCY,
                what=f"create collection {keys!r}",
            )
        return target

    # -- reads ----------------------------------------------------------------------------------------------------

    def count(self) -> int:
        """Chunks in the collection, counting every write acknowledged so far (by any process)."""
        rows = self._read(
            self.client.query,
            self.target,
            filter="",
            output_fields=["count(*)"],
            consistency_level=STATE_CONSISTENCY,
        )
        return int(rows[0]["count(*)"])

    def existing_chunks(self, doc_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Stored state of every chunk of these documents, by primary key (`Chunk.key`)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(doc_ids), READ_BATCH):
            expr = _in_expr("doc_id", doc_ids[start : start + READ_BATCH])
            for row in self.scan(expr, STATE_FIELDS):
                found[row["id"]] = row
        return found

    def chunks_of(self, doc_ids: Sequence[str], fields: list[str]) -> Iterator[dict[str, Any]]:
        """Every stored chunk of these documents, with these fields."""
        for start in range(0, len(doc_ids), READ_BATCH):
            yield from self.scan(_in_expr("doc_id", doc_ids[start : start + READ_BATCH]), fields)

    def vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        for start in range(0, len(ids), READ_BATCH):
            expr = _in_expr("id", ids[start : start + READ_BATCH])
            found.update({row["id"]: row[VECTOR_FIELD] for row in self.scan(expr, ["id", VECTOR_FIELD])})
        return found

    def doc_ids_for_source(self, source: str) -> set[str]:
        return {row["doc_id"] for row in self.scan(_in_expr("source", [source]), ["id", "doc_id"])}

    @property
    def keyword_ready(self) -> bool:
        """True when the collection has the BM25 sparse field (built on a Milvus that supports it)."""
        return self._has_sparse

    def dense_search(self, vector: np.ndarray, limit: int, expr: str = "") -> list[Hit]:
        """Nearest chunks by cosine similarity; `Hit.score` is the raw cosine (the dot product of unit vectors)."""
        return self._search(
            data=[vector.tolist()], anns_field=VECTOR_FIELD, metric=self._dense_metric, limit=limit, expr=expr
        )

    def keyword_search(self, query: str, limit: int, expr: str = "") -> list[Hit]:
        """Best chunks by BM25 over the analysed text; `Hit.score` is the raw BM25 score."""
        try:
            return self._search(data=[query], anns_field=SPARSE_FIELD, metric="BM25", limit=limit, expr=expr)
        except MilvusException as exc:
            # On an empty collection Milvus's BM25 divides by a zero average length and refuses the NaN it made.
            if "NaN or Inf" in str(exc.message) and self.count() == 0:
                return []
            raise

    def _search(self, *, data: list, anns_field: str, metric: str, limit: int, expr: str) -> list[Hit]:
        result = self._read(
            self.client.search,
            self.target,
            data=data,
            anns_field=anns_field,
            limit=limit,
            filter=expr,
            output_fields=OUTPUT_FIELDS,
            search_params=_search_params(metric, limit, self.capabilities),
            consistency_level=SEARCH_CONSISTENCY,
        )
        return [_to_hit(raw) for raw in result[0]]

    def refresh_metadata_keys(self) -> set[str]:
        keys = keys_collection(self.collection)
        if self._read(self.client.has_collection, keys):
            rows = self._read(
                self.client.query,
                keys,
                filter='key != ""',
                output_fields=["key"],
                limit=16_384,
                consistency_level=STATE_CONSISTENCY,
            )
            self.metadata_keys = {row["key"] for row in rows}
        return self.metadata_keys

    # -- writes ---------------------------------------------------------------------------------------------------

    def upsert_chunks(self, rows: list[dict[str, Any]]) -> None:
        """Upsert in batches, each retried while Milvus is unreachable or restarting (upserts are idempotent).
        Data Milvus refuses as given (e.g. a metadata integer beyond 64 bits) raises DocumentRejected."""
        if self._has_keyword_text:
            rows = [{**row, KEYWORD_FIELD: keyword_text(row["text"], row["metadata"].get("title"))} for row in rows]
        for start in range(0, len(rows), WRITE_BATCH):
            batch = rows[start : start + WRITE_BATCH]
            what = _describe_batch("upsert", batch)
            try:
                self._write(self.client.upsert, self.target, data=batch, what=what)
            except DataNotMatchException as exc:
                raise DocumentRejected(f"Milvus refused the {what}: {exc.message}") from exc
        self._register_keys(rows)

    def delete_ids(self, ids: Sequence[str]) -> int:
        # By filter with our own literals: pymilvus's `ids=` quoting breaks on ids with quotes or backslashes.
        for start in range(0, len(ids), READ_BATCH):
            batch = ids[start : start + READ_BATCH]
            self._write(
                self.client.delete, self.target, filter=_in_expr("id", batch), what=f"delete of {len(batch)} chunks"
            )
        return len(ids)

    def delete_documents(self, doc_ids: Sequence[str]) -> int:
        """Delete every chunk of these documents; returns how many chunks there were."""
        ids = list(self.existing_chunks(doc_ids))
        return self.delete_ids(ids)

    def _register_keys(self, rows: Iterable[dict[str, Any]]) -> None:
        new = {key for row in rows for key in row["metadata"]} - self.metadata_keys
        if new:
            data = [{"key": key, "vector": [0.0, 0.0]} for key in sorted(new)]
            self._write(self.client.upsert, keys_collection(self.collection), data=data, what="upsert metadata keys")
            self.metadata_keys |= new

    # -- plumbing -------------------------------------------------------------------------------------------------

    def scan(self, expr: str, fields: list[str]) -> Iterator[dict[str, Any]]:
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
            rows = self._write(
                self.client.query,
                self.target,
                filter=page_expr,
                output_fields=fields,
                limit=SCAN_PAGE,
                consistency_level=STATE_CONSISTENCY,
                what=f"read of stored chunks from {self.target!r}",
            )
            rows.sort(key=lambda row: row["id"])
            yield from rows
            if len(rows) < SCAN_PAGE:
                return
            last = rows[-1]["id"]

    def _read(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return milvus_calls.read(fn, *args, timeout=self.read_timeout, **kwargs)

    def _write(self, fn: Any, *args: Any, what: str, **kwargs: Any) -> Any:
        return milvus_calls.write(
            fn, *args, what=what, timeout=self.write_timeout, retry_seconds=self.retry_seconds, **kwargs
        )


def _search_params(metric: str, limit: int, capabilities: Capabilities) -> dict[str, Any]:
    """HNSW needs its candidate list `ef` to be at least `limit` (Milvus 2.3 refuses less)."""
    if metric != "BM25" and capabilities.dense_index == "HNSW":
        return {"metric_type": metric, "params": {"ef": max(64, limit)}}
    return {"metric_type": metric}


def _describe_batch(verb: str, rows: list[dict[str, Any]]) -> str:
    docs = sorted({row["doc_id"] for row in rows})
    shown = ", ".join(repr(d) for d in docs[:3]) + (f" and {len(docs) - 3} more" if len(docs) > 3 else "")
    return f"{verb} of {len(rows)} chunks of documents {shown}"


def _keys_index(store: MilvusStore):
    params = store.client.prepare_index_params()
    params.add_index(field_name="vector", index_type="FLAT", metric_type="L2")
    return params


def _in_expr(field_name: str, values: Sequence[str]) -> str:
    return f"{field_name} in [{', '.join(string_literal(v) for v in values)}]"


def _to_hit(raw: dict[str, Any]) -> Hit:
    entity = raw["entity"]
    return Hit(
        id=chunk_id(entity["doc_id"], int(entity["chunk_index"])),
        doc_id=entity["doc_id"],
        chunk_index=int(entity["chunk_index"]),
        score=float(raw["distance"]),
        raw_score=float(raw["distance"]),
        text=entity["text"],
        source=entity["source"],
        char_start=int(entity["char_start"]),
        char_end=int(entity["char_end"]),
        metadata=entity.get("metadata") or {},
    )
