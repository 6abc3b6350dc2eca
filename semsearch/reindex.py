"""Switch a collection to another embedding model without a search outage (`semsearch reindex --model NAME`).

On a server the configured name (`documents`) is an alias of a physical collection `documents__<collection-slug>`.
A reindex fills `documents__<new-slug>` while searches keep using the old one, then moves the alias in one
`alter_alias` call: readers of the alias switch atomically, and a running API (pinned to its physical collection,
whose vectors match its model) notices the move and swaps in the new model and collection together
(`search_api/follow.py`). The old collection is kept for a rollback until `--drop-old`.

What is embedded: the chunk texts and character offsets are stored, the documents are not. Each document's text is
rebuilt from its chunks (placed at their offsets; overlapping chunks agree on the characters they share) and
re-chunked with the new model's tokenizer, rather than re-embedding the stored chunks as they are. Chunk sizes are
counted in the model's tokens: a chunk that fit the old model's window may not fit the new one and would be silently
truncated. Re-chunking keeps that guarantee and produces the same chunks a fresh `semsearch ingest` with the new
model would (the chunker trims only whitespace, which is rebuilt as spaces at the same offsets), so ingesting the
source files afterwards embeds nothing new, and citations keep pointing at the right span of the source.

The collection's saved default fusion (`semsearch eval --tune --save`) lives with the name, not the physical
collection, so it carries over; the report says so, since it was tuned on the old model's results. What the
collection records (chunk size, keyword window, index, tenancy: `semsearch.collection_settings`) carries over too:
the documents are re-chunked with the collection's chunk size, whatever the environment of the process that runs the
reindex says, and the new physical collection records the same settings. Only the prompts are the new model's (the
environment's, or the model's defaults): the old ones were written for the old model. A multi-tenant collection is
filled tenant by tenant, each tenant's documents rebuilt from its own chunks into its own scope.

Resumable: the new collection's content hashes include the model, so an interrupted reindex run again skips what it
already embedded. Writes that reach the old collection during a reindex are not carried over: pause ingest while it
runs, or run ingest again afterwards (unchanged documents cost nothing).

Milvus Lite 2.5.1 has no aliases (create_alias and rename_collection answer UNIMPLEMENTED), and only one process can
open its `.db`, so nothing could search during a reindex anyway: on Lite, ingest into a new collection instead.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from semsearch import collection_settings
from semsearch.default_fusion import load_default_fusion
from semsearch.embedder import Embedder
from semsearch.errors import CollectionMissing, UnsupportedOperation
from semsearch.indexer import Document, Indexer, IndexStats
from semsearch.settings import Settings
from semsearch.store import MilvusStore
from semsearch.store.capabilities import physical_name
from semsearch.store.schema import TENANT_FIELD, ModelRecord

log = logging.getLogger(__name__)

#: Documents rebuilt and re-embedded per batch.
DOC_BATCH = 64
#: What a document is rebuilt from.
REBUILD_FIELDS = ["id", "doc_id", "chunk_index", "text", "source", "char_start", "char_end", "metadata"]


@dataclass
class ReindexReport:
    collection: str
    old: str
    new: str
    model: str
    switched: bool = False
    stats: IndexStats = field(default_factory=IndexStats)
    removed: int = 0
    dropped: list[str] = field(default_factory=list)
    #: The collection's saved default fusion, carried over (it is kept with the name, not the physical
    #: collection); None when it has none. It was tuned on the old model's results: re-tune for the new one.
    fusion: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "old": self.old,
            "new": self.new,
            "model": self.model,
            "switched": self.switched,
            "documents": self.stats.documents,
            "chunks": self.stats.chunks,
            "embedded": self.stats.embedded,
            "unchanged": self.stats.unchanged,
            "reused": self.stats.reused,
            "removed": self.removed,
            "dropped": self.dropped,
            "fusion": self.fusion,
        }


def rebuild_text(chunks: Iterable[dict[str, Any]]) -> str:
    """A document's text from its chunks: each chunk placed at its character offsets, gaps (whitespace the chunker
    trimmed) as spaces, so that offsets into the rebuilt text are offsets into the source document."""
    rows = sorted(chunks, key=lambda row: row["chunk_index"])
    text = [" "] * max(row["char_end"] for row in rows)
    for row in rows:
        text[row["char_start"] : row["char_end"]] = row["text"]
    return "".join(text).rstrip()


def reindex(
    settings: Settings,
    model: str,
    *,
    drop_old: bool = False,
    grace_seconds: float = 0.0,
    on_batch: Callable[[ReindexReport], None] | None = None,
) -> ReindexReport:
    """Embed every document of `settings.collection` with `model` into a new physical collection, move the alias
    to it, and (with `drop_old`, after `grace_seconds` for running APIs to follow) drop the previous ones."""
    store = MilvusStore.connect(settings)
    try:
        if not store.capabilities.aliases:
            raise UnsupportedOperation(
                f"reindex needs collection aliases, which {store.capabilities.backend} {store.capabilities.version} "
                "lacks; it runs against a Milvus server. On Milvus Lite, ingest again into another collection: "
                "SEMSEARCH_COLLECTION=<new name> semsearch ingest --model NAME PATH..."
            )
        old = _current_target(store)
        store.target = old
        new_settings = _carried_over(settings, store, model)
        embedder = Embedder.load(new_settings)
        report = ReindexReport(store.collection, old, physical_name(store.collection, embedder.model_id), model)
        default = load_default_fusion(store)
        if default.source == "saved":
            report.fusion = (
                f"{default.fusion.describe()} (saved default, carried over; it was tuned with the old model: "
                "re-tune with semsearch eval DIR --tune --save)"
            )
        if report.new != old:
            _fill(store, report, embedder, new_settings, on_batch)
            store.collections.move_alias(store.collection, report.new)
            report.switched = True
            log.info("alias %r now points at %r (was %r)", store.collection, report.new, old)
        if drop_old:
            time.sleep(grace_seconds if report.switched else 0)
            report.dropped = _drop_others(store, keep=report.new)
        return report
    finally:
        store.close()


def _current_target(store: MilvusStore) -> str:
    """The physical collection behind the alias; a legacy plain collection is first renamed to its physical name
    and given the alias (searches through the plain name fail for that instant)."""
    target = store.resolve()
    if target is None:
        raise CollectionMissing(f"collection {store.collection!r} does not exist yet: ingest some documents first")
    if target != store.collection:
        return target
    record = store.collections.describe(store.collection).record
    if record is None:
        raise CollectionMissing(f"collection {store.collection!r} has no model record; it was not made by semsearch")
    physical = physical_name(store.collection, record.model)
    log.warning("migrating the plain collection %r to %r behind an alias of the same name", store.collection, physical)
    store.collections.rename(store.collection, physical)
    store.collections.create_alias(store.collection, physical)
    return physical


def _carried_over(settings: Settings, store: MilvusStore, model: str) -> Settings:
    """The settings the new physical collection is made and filled with: what the old one records (its
    tenancy read from its schema), the new `model`, and the prompts `settings` give for it."""
    described = store.collections.describe(store.target)
    kept = collection_settings.recorded(settings, described.record, keep=("query_prompt", "document_prompt"))
    return kept.model_copy(update={"model": model, "multi_tenant": TENANT_FIELD in described.fields})


def _fill(
    source: MilvusStore,
    report: ReindexReport,
    embedder: Embedder,
    settings: Settings,
    on_batch: Callable[[ReindexReport], None] | None,
) -> None:
    """Fill the new physical collection from the old one: the whole collection, or each tenant's scope apart."""
    target = source.pinned_to(report.new, settings)
    prompts = (embedder.prompts.query, embedder.prompts.document)
    if not source.collections.has(report.new):
        recorded = collection_settings.to_record(settings)
        target.create(ModelRecord(embedder.model_id, embedder.dim, *prompts, settings=recorded))
    target.open(embedder.model_id, embedder.dim, create=False, resolve=False, prompts=prompts)
    if not settings.multi_tenant:
        _fill_scope(source, target, report, embedder, settings, on_batch)
        return
    old = source.collections.describe(source.target).record
    if old is None:
        raise CollectionMissing(f"collection {source.target!r} has no model record; it was not made by semsearch")
    old_prompts = (old.query_prompt or "", old.document_prompt or "")
    source.open(old.model, old.dim, create=False, resolve=False, prompts=old_prompts)  # scopes it to tenants
    for tenant in sorted({*source.tenants(), *target.tenants()}):  # the target's: left by an interrupted run
        _fill_scope(source.for_tenant(tenant), target.for_tenant(tenant), report, embedder, settings, on_batch)


def _fill_scope(
    source: MilvusStore,
    target: MilvusStore,
    report: ReindexReport,
    embedder: Embedder,
    settings: Settings,
    on_batch: Callable[[ReindexReport], None] | None,
) -> None:
    indexer = Indexer(target, embedder, settings)
    doc_ids = sorted({row["doc_id"] for row in source.scan("", ["doc_id"])})
    for start in range(0, len(doc_ids), DOC_BATCH):
        batch = doc_ids[start : start + DOC_BATCH]
        by_doc: dict[str, list[dict[str, Any]]] = {}
        for row in source.chunks_of(batch, REBUILD_FIELDS):
            by_doc.setdefault(row["doc_id"], []).append(row)
        docs = [
            Document(id=doc_id, text=rebuild_text(rows), source=rows[0]["source"], metadata=rows[0]["metadata"] or {})
            for doc_id, rows in by_doc.items()
        ]
        report.stats.add(indexer.index(docs))
        if on_batch:
            on_batch(report)
    gone = sorted({row["doc_id"] for row in target.scan("", ["doc_id"])} - set(doc_ids))
    report.removed += target.delete_documents(gone) if gone else 0  # left by an earlier run, since deleted


def _drop_others(store: MilvusStore, keep: str) -> list[str]:
    """Drop this collection's other physical collections (earlier models): `<collection>__<slug>_<8 hex>`."""
    pattern = re.compile(rf"{re.escape(store.collection)}__[a-z0-9_]*[0-9a-f]{{8}}")
    others = [name for name in store.collections.names() if pattern.fullmatch(name) and name != keep]
    for name in others:
        store.collections.drop(name)
        log.info("dropped %r", name)
    return others
