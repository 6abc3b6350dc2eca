"""Chunk writes on one physical collection: upsert, insert what is known to be new, delete, and the metadata keys
ingest has seen. A mixin of `ChunkCollection` (in `chunks`), which holds the connection and the collection's flags.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from semsearch.errors import BackendUnavailable
from semsearch.filters import in_list
from semsearch.store.collections import STATE_CONSISTENCY
from semsearch.store.schema import KEYWORD_FIELD, keys_collection, keyword_text

if TYPE_CHECKING:
    from semsearch.store.chunks import ChunkCollection

log = logging.getLogger("semsearch.store")
#: Held by every chunk write to Milvus Lite in this process, and by `store_chunks` across its check and writes.
_LITE_WRITES = threading.RLock()
#: Rows per upsert/insert/delete request: well under Milvus's 64 MB gRPC message limit at 384-d.
WRITE_BATCH = 500
#: Ids (or doc_ids) per `in [...]` expression.
READ_BATCH = 200
#: Rows per page when looking for metadata keys still in use (only the `metadata` field is read).
KEY_SCAN_PAGE = 5000


class ChunkWrites:
    def upsert_chunks(self: ChunkCollection, rows: list[dict[str, Any]]) -> None:
        """Upsert in batches, each retried while Milvus is unreachable or restarting (upserts are idempotent).
        Data Milvus refuses as given (e.g. a metadata integer beyond 64 bits) raises DocumentRejected."""
        with self._writes():
            self._write_chunks("upsert", rows)

    def insert_chunks(self: ChunkCollection, rows: list[dict[str, Any]]) -> None:
        """Insert rows whose ids the collection does not hold: Milvus does not check primary keys on insert, so an
        id inserted twice is stored twice; `store_chunks` is the safe way in. An insert is tried once: a batch that
        failed in transit (it may have landed) is written again as an upsert, which leaves one row per id."""
        with self._writes():
            self._write_chunks("insert", rows)

    def store_chunks(self: ChunkCollection, rows: list[dict[str, Any]], new: Collection[str] = ()) -> None:
        """Write `rows` so that each id has exactly one row afterwards. `new` are the ids the caller's plan found
        absent (`Indexer.plan` reads every stored chunk of its documents first).

        Why not always upsert: Milvus Lite runs an upsert as a delete plus an insert, and its write rate then falls
        as the collection grows, while inserts hold it (`benchmarks/writes.py`, README "Scale"). So on Milvus Lite
        the rows in `new` are inserted, after checking, under a lock that every chunk write of this process takes,
        that they are still absent (another thread may have written them since the plan read). That is safe
        because Milvus Lite allows one process per .db file, so this lock sees every writer. A Milvus server may
        have several writers at once (two `semsearch ingest`s, or one and the API's POST /documents), which no
        lock here sees: two of them inserting the same new file would store its chunks twice. So on a server
        every row is upserted; its upserts do not slow down with size as Lite's do."""
        if not new or self.capabilities.backend != "milvus-lite":
            self.upsert_chunks(rows)
            return
        with self._writes():
            candidates = [row["id"] for row in rows if row["id"] in new]
            fresh = set(candidates) - self.present_ids(candidates)
            self._write_chunks("insert", [row for row in rows if row["id"] in fresh])
            self._write_chunks("upsert", [row for row in rows if row["id"] not in fresh])

    def present_ids(self: ChunkCollection, ids: Sequence[str]) -> set[str]:
        """Which of these primary keys the collection holds now (every acknowledged write seen)."""
        found: set[str] = set()
        for start in range(0, len(ids), READ_BATCH):
            rows = self.milvus.write(
                "query",
                self.target,
                filter=in_expr("id", ids[start : start + READ_BATCH]),
                output_fields=["id"],
                consistency_level=STATE_CONSISTENCY,
                what=f"read of stored chunk ids from {self.target!r}",
            )
            found.update(row["id"] for row in rows)
        return found

    def _writes(self: ChunkCollection) -> AbstractContextManager[Any]:
        """The lock every chunk write of this process holds on Milvus Lite (see `store_chunks`)."""
        return _LITE_WRITES if self.capabilities.backend == "milvus-lite" else nullcontext()

    def _write_chunks(self: ChunkCollection, verb: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self._has_keyword_text:  # the indexer gives each row its window (`semsearch.keywords`); else its own
            rows = [row if KEYWORD_FIELD in row else {**row, KEYWORD_FIELD: _own_keyword_text(row)} for row in rows]
        else:
            rows = [{k: v for k, v in row.items() if k != KEYWORD_FIELD} for row in rows]
        for start in range(0, len(rows), WRITE_BATCH):
            batch = rows[start : start + WRITE_BATCH]
            if verb == "insert":
                try:
                    self.milvus.write("insert", self.target, data=batch, what=_describe_batch(verb, batch), retry=False)
                    continue
                except BackendUnavailable as exc:
                    log.warning("%s; writing the batch again as an upsert", exc)
            self.milvus.write("upsert", self.target, data=batch, what=_describe_batch("upsert", batch))
        self._register_keys(rows)

    def delete_ids(self: ChunkCollection, ids: Sequence[str]) -> int:
        # By filter with our own literals: pymilvus's `ids=` quoting breaks on ids with quotes or backslashes.
        for start in range(0, len(ids), READ_BATCH):
            batch = ids[start : start + READ_BATCH]
            self.milvus.write("delete", self.target, filter=in_expr("id", batch), what=f"delete of {len(batch)} chunks")
        return len(ids)

    def delete_documents(self: ChunkCollection, doc_ids: Sequence[str]) -> int:
        """Delete every chunk of these documents; returns how many chunks there were. A metadata key that no chunk
        has any more stops being one filters may name (`forget_unused_keys`)."""
        stored = self.existing_chunks(doc_ids)
        deleted = self.delete_ids(list(stored))
        self.forget_unused_keys({key for row in stored.values() for key in row.get("metadata") or {}})
        return deleted

    def forget_unused_keys(self: ChunkCollection, candidates: Collection[str]) -> set[str]:
        """Remove those of `candidates` (keys of chunks just deleted) that no stored chunk has from the keys
        collection, so that `status` no longer lists them and filters refuse them; returns them.

        It reads the stored chunks' metadata, a page at a time, until it has seen every candidate: one page for
        keys many documents share, the whole collection only for a key that is gone (or held by few chunks) (1.6 s
        for a gone key at 50,000 chunks on Milvus Lite, measured at load average 12 on 2 cores). A
        document another process adds with such a key at that very moment registers it again on its next write
        from a fresh process, not before: the price of not counting keys per chunk."""
        unseen = set(candidates)
        if not unseen:
            return set()
        # The keys are the collection's, shared by its tenants: a key one tenant no longer has may be another's.
        for row in self.whole_collection().scan("", ["metadata"], page=KEY_SCAN_PAGE):
            unseen -= (row.get("metadata") or {}).keys()
            if not unseen:
                return set()
        keys = keys_collection(self.collection)
        self.milvus.write(
            "delete", keys, filter=in_expr("key", sorted(unseen)), what=f"delete of unused keys in {keys!r}"
        )
        self.metadata_keys -= unseen
        return unseen

    def _register_keys(self: ChunkCollection, rows: Iterable[dict[str, Any]]) -> None:
        new = {key for row in rows for key in row["metadata"]} - self.metadata_keys
        if new:
            data = [{"key": key, "vector": [0.0, 0.0]} for key in sorted(new)]
            self.milvus.write("upsert", keys_collection(self.collection), data=data, what="upsert metadata keys")
            self.metadata_keys |= new


def _own_keyword_text(row: dict[str, Any]) -> str:
    return keyword_text(row["text"], row["metadata"].get("title"), row["metadata"].get("heading_path"))


def _describe_batch(verb: str, rows: list[dict[str, Any]]) -> str:
    docs = sorted({row["doc_id"] for row in rows})
    shown = ", ".join(repr(d) for d in docs[:3]) + (f" and {len(docs) - 3} more" if len(docs) > 3 else "")
    return f"{verb} of {len(rows)} chunks of documents {shown}"


def in_expr(field_name: str, values: Sequence[str]) -> str:
    return in_list(field_name, values)
