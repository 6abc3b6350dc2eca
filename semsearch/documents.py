"""What the knowledge base holds, document by document: list, show, delete by selection, status.

The `KnowledgeBase` verbs (`documents`, `document`, `delete_where`, `status`) call these; the CLI's `list`, `show`,
`delete`, `status` and the HTTP `/documents` routes call those verbs, so every door answers with the same shapes
(`to_dict()`). A selection is a source prefix and/or a filter (the search filter language), both optional.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from semsearch.engine import Engine
from semsearch.errors import DocumentNotFound, Refused
from semsearch.filters import compile_filter, in_list
from semsearch.reindex import rebuild_text
from semsearch.store import MilvusStore
from semsearch.store.documents import both, prefix_expr

#: Documents per read when counting chunks or deleting a selection.
DOCUMENT_BATCH = 1000
#: Most documents one page of `documents()` returns.
PAGE_MAX = 1000


@dataclass
class DocumentInfo:
    """One stored document: its id, source, title (metadata `title`, '' if none), chunk count and metadata."""

    doc_id: str
    source: str
    title: str
    chunks: int
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DocumentPage:
    """A page of documents in storage order; `next` is the cursor for the following page (None at the end)."""

    documents: list[DocumentInfo]
    next: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"documents": [d.to_dict() for d in self.documents], "next": self.next}


@dataclass
class DocumentDetail:
    """A document as stored: the text rebuilt from its chunks (offsets into it are offsets into the source), its
    metadata, and each chunk's span."""

    doc_id: str
    source: str
    metadata: dict[str, Any]
    text: str
    chunks: list[dict[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Removal:
    """What a delete removed: document ids and chunks; `missing` are requested ids that were not stored."""

    doc_ids: list[str]
    chunks: int
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "removed_documents": len(self.doc_ids),
            "deleted": self.chunks,
            "doc_ids": self.doc_ids,
            "missing": self.missing,
        }


def selection_expr(store: MilvusStore, source_prefix: str | None, filter: Mapping[str, Any] | None) -> str:
    """The Milvus expression for a selection; raises InvalidFilter for a bad filter, before anything is read."""
    return both(prefix_expr("source", source_prefix or ""), compile_filter(filter, store.metadata_keys))


def page(store: MilvusStore, expr: str, after: str | None, limit: int) -> DocumentPage:
    if not 1 <= limit <= PAGE_MAX:
        raise Refused(f"limit must be 1..{PAGE_MAX}, got {limit}")
    heads = store.document_page(expr, after, limit)
    return DocumentPage(_infos(store, heads), heads[-1]["id"] if len(heads) == limit else None)


def every(store: MilvusStore, expr: str) -> Iterator[DocumentInfo]:
    """Every document of the selection, with chunk counts read a batch of documents at a time."""
    batch: list[dict[str, Any]] = []
    for head in store.document_heads(expr):
        batch.append(head)
        if len(batch) == DOCUMENT_BATCH:
            yield from _infos(store, batch)
            batch = []
    yield from _infos(store, batch)


def detail(store: MilvusStore, doc_id: str) -> DocumentDetail:
    fields = ["doc_id", "chunk_index", "text", "source", "char_start", "char_end", "metadata"]
    chunks = sorted(store.chunks_of([doc_id], fields), key=lambda row: row["chunk_index"])
    if not chunks:
        raise DocumentNotFound(f"no document with id {doc_id!r}")
    spans = [{k: int(row[k]) for k in ("chunk_index", "char_start", "char_end")} for row in chunks]
    return DocumentDetail(doc_id, chunks[0]["source"], chunks[0].get("metadata") or {}, rebuild_text(chunks), spans)


def delete_selection(
    store: MilvusStore,
    *,
    doc_ids: Sequence[str] = (),
    source_prefix: str | None = None,
    filter: Mapping[str, Any] | None = None,
    everything: bool = False,
) -> Removal:
    """Delete the documents named, or those the selection matches. Refused: no selector at all, or a selection that
    matches every stored document, unless `everything` (a typo in a filter must not empty the collection)."""
    expr = selection_expr(store, source_prefix, filter)
    if doc_ids:
        named = both(in_list("doc_id", doc_ids), expr)
        found = sorted({head["doc_id"] for head in store.document_heads(named, ["doc_id"])})
        missing = sorted(set(doc_ids) - set(found))
        return Removal(found, store.delete_documents(found) if found else 0, missing)
    if not expr and not everything:
        raise Refused("name documents, a source prefix or a filter; deleting everything needs `all`")
    found = sorted(head["doc_id"] for head in store.document_heads(expr, ["doc_id"]))
    if found and not everything and len(found) == store.count_where("chunk_index == 0"):
        raise Refused(f"this selection matches all {len(found)} documents; deleting everything needs `all`")
    chunks = sum(
        store.delete_documents(found[start : start + DOCUMENT_BATCH]) for start in range(0, len(found), DOCUMENT_BATCH)
    )
    return Removal(found, chunks)


def status(engine: Engine) -> dict[str, Any]:
    """Where the knowledge base lives and what it holds: the answer of `semsearch status --json` and `GET /status`."""
    store, settings = engine.store, engine.settings
    return {
        "collection": store.collection,
        "physical_collection": store.target,
        "multi_tenant": store.multi_tenant,  # documents and chunks below: `tenant`'s, else every tenant's
        "tenant": store.tenant,
        "model": engine.embedder.model_id,
        "dim": engine.embedder.dim,
        "capabilities": store.capabilities.as_dict(),
        "documents": store.count_where("chunk_index == 0"),
        "chunks": store.count(),
        "metadata_fields": sorted(store.refresh_metadata_keys()),
        "fusion": engine.default_fusion.to_dict(),
        "location": store.lite_path or settings.milvus_uri,
    }


def _infos(store: MilvusStore, heads: list[dict[str, Any]]) -> list[DocumentInfo]:
    counts = store.chunk_counts([head["doc_id"] for head in heads]) if heads else {}
    return [
        DocumentInfo(
            doc_id=head["doc_id"],
            source=head["source"],
            title=str((head.get("metadata") or {}).get("title") or ""),
            chunks=counts.get(head["doc_id"], 0),
            metadata=head.get("metadata") or {},
        )
        for head in heads
    ]
