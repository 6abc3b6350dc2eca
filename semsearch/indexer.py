"""Documents in, chunks in Milvus out: the one indexing path used by the ingest CLI and `POST /documents`.

Like `llm`'s `embed_multi`, it skips work whose content hash is unchanged: re-indexing the same documents embeds
nothing and writes nothing; a changed document gets its chunks replaced and the ones it no longer has deleted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from semsearch.chunking import Chunk, content_hash, split_document
from semsearch.embedder import Embedder
from semsearch.errors import DocumentRejected
from semsearch.filters import METADATA_KEY_RULE, is_metadata_key
from semsearch.keywords import window_spans, window_text
from semsearch.layout import Layout
from semsearch.settings import Settings
from semsearch.store import MilvusStore
from semsearch.store.schema import ID_MAX, KEYWORD_FIELD, SOURCE_MAX, TEXT_MAX_BYTES

#: Metadata is stored with every chunk as a Milvus JSON value: bounded in size and nesting, with int64 integers.
METADATA_MAX_BYTES = 65_536
METADATA_MAX_DEPTH = 16
_INT64 = range(-(2**63), 2**63)


@dataclass
class Document:
    """A unit of source text with a stable id; `source` is where it came from (a path, or 'api'). `metadata` is
    the whole document's; `layout` (pages, sections) adds per-chunk metadata and section-aware chunking."""

    id: str
    text: str
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)
    layout: Layout | None = None


@dataclass
class IndexStats:
    """What one indexing call did, in chunks unless named otherwise. Every chunk of the documents is counted once:
    `chunks == embedded + unchanged + reused`.

    - `embedded`: text no stored chunk has, so the model embedded it;
    - `unchanged`: stored as it is (same id, text, position and metadata): nothing written;
    - `reused`: rewritten with a vector already stored, not embedded again: its text is stored under another id (a
      renamed or copied file, or a repeat of a chunk an earlier batch of the same run stored), or it moved within its
      document or was re-labelled;
    - `deleted`: stored chunks the documents no longer have (a document got shorter), removed.
    """

    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    unchanged: int = 0
    reused: int = 0
    deleted: int = 0

    def add(self, other: IndexStats) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def counts(self) -> dict[str, int]:
        """The counters by name (COUNTS' order): the one shape every summary (ingest, jobs, --json) reports."""
        return {name: getattr(self, name) for name in COUNTS}


#: IndexStats' counters, in the order summaries show them.
COUNTS = ("documents", "chunks", "embedded", "unchanged", "reused", "deleted")


@dataclass
class IndexPlan:
    """One batch's work, decided before any write: chunk rows to embed, rows to rewrite with their stored vectors
    (moved or re-labelled), and stored chunk ids the documents no longer have."""

    documents: int
    rows: list[dict[str, Any]]
    to_embed: list[dict[str, Any]]
    moved: list[dict[str, Any]]
    stale: list[str]
    #: Ids of `rows` that Milvus did not hold when the plan read it: the store may insert these (`store_chunks`).
    new: set[str] = field(default_factory=set)

    def stats(self) -> IndexStats:
        return IndexStats(
            documents=self.documents,
            chunks=len(self.rows),
            embedded=len(self.to_embed),
            unchanged=len(self.rows) - len(self.to_embed) - len(self.moved),
            reused=len(self.moved),
            deleted=len(self.stale),
        )


def validate_document(doc: Document) -> None:
    """Raise DocumentRejected if the document cannot be stored as given."""
    for name, value in (("id", doc.id), ("text", doc.text), ("source", doc.source)):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise DocumentRejected(f"document {name} is not valid Unicode text (lone surrogate)") from exc
    if not doc.id or len(doc.id.encode()) > ID_MAX - 16:
        raise DocumentRejected(f"document id must be 1..{ID_MAX - 16} bytes, got {len(doc.id.encode())}")
    if any(c in doc.id for c in "\n\r\x00"):
        raise DocumentRejected(f"document id {doc.id!r} contains a line break or NUL character")
    if not doc.text.strip():
        raise DocumentRejected(f"document {doc.id!r} has no text")
    if len(doc.source.encode()) > SOURCE_MAX:
        raise DocumentRejected(f"document {doc.id!r}: source is longer than {SOURCE_MAX} bytes")
    for key in doc.metadata:
        if not is_metadata_key(key):
            raise DocumentRejected(f"document {doc.id!r}: metadata key {key!r} must be {METADATA_KEY_RULE}")
        problem = _metadata_problem(doc.metadata[key], 1)
        if problem:
            raise DocumentRejected(f"document {doc.id!r}: metadata {key!r} {problem}")
    size = len(json.dumps(doc.metadata, ensure_ascii=False, default=str).encode())
    if size > METADATA_MAX_BYTES:
        raise DocumentRejected(f"document {doc.id!r}: metadata is {size} bytes as JSON, over {METADATA_MAX_BYTES}")


def validate_batch(docs: list[Document]) -> None:
    """Raise DocumentRejected for a document that cannot be stored, or for a doc id given twice."""
    seen: set[str] = set()
    for doc in docs:
        validate_document(doc)
        if doc.id in seen:
            raise DocumentRejected(f"document id {doc.id!r} appears more than once in one batch")
        seen.add(doc.id)


def _metadata_problem(value: Any, depth: int) -> str | None:
    """Why Milvus's JSON field cannot hold this value as given (it would fail, or silently turn NaN into null)."""
    if depth > METADATA_MAX_DEPTH:
        return f"is nested deeper than {METADATA_MAX_DEPTH} levels"
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if isinstance(value, int):
        return None if value in _INT64 else f"holds the integer {value}, outside the 64-bit range"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"holds {value}, which JSON cannot represent"
    if isinstance(value, list):
        return next((p for p in (_metadata_problem(v, depth + 1) for v in value) if p), None)
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return "has an object with non-string keys"
        return next((p for p in (_metadata_problem(v, depth + 1) for v in value.values()) if p), None)
    return f"holds a {type(value).__name__}, not a JSON value"


class Indexer:
    """Chunks, embeds and upserts documents into one store with one model."""

    def __init__(self, store: MilvusStore, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        # The model reads prompt + chunk + special tokens: the chunk gets what is left, so nothing is truncated.
        room = embedder.max_seq_length - embedder.special_tokens - embedder.document_prompt_tokens
        self.max_tokens = min(settings.chunk_tokens, room)
        self.overlap = min(settings.chunk_overlap, self.max_tokens // 2)
        self.keyword_window = settings.keyword_window_tokens

    def chunk(self, doc: Document) -> list[Chunk]:
        boundaries = doc.layout.boundaries if doc.layout else ()
        return split_document(doc.id, doc.text, self.embedder.tokenizer, self.max_tokens, self.overlap, boundaries)

    def index(self, docs: list[Document]) -> IndexStats:
        """Bring these documents' chunks in Milvus up to date; duplicate ids in one call are refused."""
        plan = self.plan(docs)
        self.embed([plan])
        return self.write(plan)

    def plan(self, docs: list[Document]) -> IndexPlan:
        """Chunk the documents and compare with what Milvus holds: no writes, so a refused batch leaves no trace.
        Raises DocumentRejected for a document that cannot be stored, or a doc id twice in one batch."""
        validate_batch(docs)
        rows = [row for doc in docs for row in self.rows(doc)]
        stored = self.store.existing_chunks([doc.id for doc in docs])
        to_embed = [r for r in rows if stored.get(r["id"], {}).get("content_hash") != r["content_hash"]]
        embed_ids = {r["id"] for r in to_embed}
        moved = [r for r in rows if r["id"] not in embed_ids and r["id"] in stored and _changed(r, stored[r["id"]])]
        if moved:  # same text, new position or metadata: keep the stored vector, rewrite the rest
            vectors = self.store.vectors([r["id"] for r in moved])
            for r in moved:
                r["embedding"] = vectors[r["id"]]
        reused = self._reuse_by_hash(to_embed)
        to_embed = [r for r in to_embed if "embedding" not in r]
        moved += reused
        current = {r["id"] for r in rows}
        stale = [chunk_id for chunk_id in stored if chunk_id not in current]
        new = {r["id"] for r in rows if r["id"] not in stored}
        return IndexPlan(documents=len(docs), rows=rows, to_embed=to_embed, moved=moved, stale=stale, new=new)

    def rows(self, doc: Document) -> list[dict[str, Any]]:
        """The document's chunk rows as stored, with their keyword text where the collection has that field."""
        rows = [_row(doc, chunk, self.embedder.model_id) for chunk in self.chunk(doc)]
        if self.store.has_keyword_text:
            self.add_keyword_text(doc.text, rows, doc.layout.boundaries if doc.layout else ())
        return rows

    def add_keyword_text(self, text: str, rows: list[dict[str, Any]], boundaries: Sequence[int] = ()) -> None:
        """Give each chunk row of one document (`text`) the text BM25 reads: its window (`semsearch.keywords`)."""
        spans = [(row["char_start"], row["char_end"]) for row in rows]
        windows = window_spans(text, spans, self.embedder.tokenizer, self.keyword_window, boundaries)
        for row, span, window in zip(rows, spans, windows, strict=True):
            row[KEYWORD_FIELD] = window_text(text, span, window, row["metadata"])

    def _reuse_by_hash(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Give rows whose text some stored chunk already has (a renamed or copied file, under another id) that
        chunk's vector; returns those rows. One read per 200 new chunks, against embedding them all."""
        if not rows:
            return []
        vectors = self.store.vectors_by_hash([r["content_hash"] for r in rows])
        reused = [r for r in rows if r["content_hash"] in vectors]
        for r in reused:
            r["embedding"] = vectors[r["content_hash"]]
        return reused

    def embed(self, plans: list[IndexPlan]) -> None:
        """Embed the new chunks of several plans in one model call, so batches are sorted by length across all."""
        rows = [r for plan in plans for r in plan.to_embed]
        if rows:
            vectors = self.embedder.embed_documents([r["text"] for r in rows])
            for r, vector in zip(rows, vectors, strict=True):
                r["embedding"] = vector.tolist()

    def write(self, plan: IndexPlan) -> IndexStats:
        """Write the embedded and moved chunks (inserting the new ones where that is safe), delete the stale ones."""
        self.store.store_chunks(plan.to_embed + plan.moved, plan.new)
        self.store.delete_ids(plan.stale)
        return plan.stats()

    def delete_documents(self, doc_ids: Iterable[str]) -> int:
        return self.store.delete_documents(list(doc_ids))


def _row(doc: Document, chunk: Chunk, model_id: str) -> dict[str, Any]:
    if len(chunk.text.encode()) > TEXT_MAX_BYTES:
        raise DocumentRejected(f"document {doc.id!r}: chunk {chunk.chunk_index} exceeds {TEXT_MAX_BYTES} bytes")
    return {
        "id": chunk.key,
        "doc_id": doc.id,
        "chunk_index": chunk.chunk_index,
        "text": chunk.text,
        "source": doc.source,
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
        "content_hash": content_hash(chunk.text, model_id),
        "metadata": {**doc.metadata, **doc.layout.chunk_metadata(chunk.char_start, chunk.char_end)}
        if doc.layout
        else doc.metadata,
    }


def _changed(row: dict[str, Any], stored: dict[str, Any]) -> bool:
    """Whether a chunk whose text is stored needs its row rewritten: moved, re-labelled, or its keyword window
    changed (a neighbour's text, or the window setting), none of which changes its vector."""
    names = ("source", "char_start", "char_end", "metadata", KEYWORD_FIELD)
    return any(row.get(name) != stored.get(name) for name in names if name in row)
