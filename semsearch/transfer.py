"""Export a collection to a JSON Lines file and import one, so a knowledge base can move (Lite → server → Lite)
without its source files: the documents themselves live only in Milvus, as chunks.

The file: a header line (`ExportHeader`: the format's name and schema version, the model record, whether vectors
are in), then one line per chunk (`ExportChunk`). Chunks are written document by document in chunk order (heads
paged, then each batch's chunks read), so an import sees each document's chunks together and can rebuild it without
holding the file. Vectors are base64 of the float32 values Milvus stores (little-endian): exact, so a round trip
gives the same scores, and about a quarter of the size of the same floats as JSON numbers.

Import, into the configured collection: with the same model and vectors in the file, the chunks are written as
they are (0 embedded); with another model, or without vectors, each document is rebuilt from its chunks
(`reindex.rebuild_text`) and indexed with the configured model (re-chunked with its tokenizer; stored vectors of
equal text are reused). Every write is an upsert, so an import that stopped at a bad line completes when run again
without duplicating anything; the documents complete before the bad line are in.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from semsearch.engine import Engine
from semsearch.errors import Refused
from semsearch.indexer import Document, IndexStats
from semsearch.keywords import section_starts
from semsearch.reindex import rebuild_text
from semsearch.store.schema import VECTOR_FIELD

FORMAT = "semsearch-export"
#: Bumped when a line's shape changes; an import refuses any other.
SCHEMA_VERSION = 1
#: Documents read (export) or indexed (import) per batch: bounded memory whatever the collection's size.
DOC_BATCH = 64
#: Chunks per upsert when an import writes stored vectors as they are.
ROW_BATCH = 500
#: Per-chunk metadata a document's layout added (`Layout.chunk_metadata`); a rebuilt document has no layout.
LAYOUT_KEYS = ("page_start", "page_end", "heading_path")
CHUNK_FIELDS = ["id", "doc_id", "chunk_index", "text", "source", "char_start", "char_end", "metadata", "content_hash"]


class NotAnExport(Refused, ValueError):
    """The file is not an export this version reads, or a line of it is corrupt; the message names the line."""


class ExportHeader(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["semsearch-export"]
    schema_version: int
    collection: str
    model: str
    dim: int
    vectors: bool
    chunks: int


class ExportChunk(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    doc_id: str
    chunk_index: int
    text: str
    source: str
    char_start: int
    char_end: int
    metadata: dict[str, Any]
    content_hash: str
    embedding: str | None = None


@dataclass
class TransferReport:
    """What an export or import did: documents and chunks (lines after the header), and for an import what the
    model embedded (0 when the stored vectors were written)."""

    path: str
    model: str
    vectors: bool
    documents: int = 0
    chunks: int = 0
    bytes: int = 0
    rebuilt: bool = False
    stats: IndexStats = field(default_factory=IndexStats)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "model": self.model,
            "vectors": self.vectors,
            "documents": self.documents,
            "chunks": self.chunks,
            "bytes": self.bytes,
            "rebuilt": self.rebuilt,
            "embedded": self.stats.embedded,
        }


def export(engine: Engine, path: Path, vectors: bool = True) -> TransferReport:
    """Write the whole collection to `path` (through a temporary file beside it, renamed at the end, so a failed
    export never leaves a half file under the name)."""
    store = engine.store
    report = TransferReport(str(path), engine.embedder.model_id, vectors)
    header = ExportHeader(
        format=FORMAT,
        schema_version=SCHEMA_VERSION,
        collection=store.collection,
        model=engine.embedder.model_id,
        dim=engine.embedder.dim,
        vectors=vectors,
        chunks=store.count(),
    )
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as out:
        out.write(header.model_dump_json() + "\n")
        for doc_ids in _batches((row["doc_id"] for row in store.document_heads(fields=["doc_id"])), DOC_BATCH):
            rows = sorted(store.chunks_of(doc_ids, CHUNK_FIELDS), key=lambda r: (r["doc_id"], r["chunk_index"]))
            found = store.vectors([r["id"] for r in rows]) if vectors else {}
            for row in rows:
                line = {name: row[name] for name in CHUNK_FIELDS}
                if vectors:
                    line["embedding"] = _encode(found[row["id"]])
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
            report.documents += len(doc_ids)
            report.chunks += len(rows)
    os.replace(partial, path)
    report.bytes = path.stat().st_size
    return report


def import_from(engine: Engine, path: Path) -> TransferReport:
    """Load an export into the engine's collection; raises NotAnExport naming the first bad line (what came before
    it is written)."""
    with path.open("r", encoding="utf-8", errors="strict") as lines:
        header = _header(path, lines)
        same_model = header.model == engine.embedder.model_id and header.dim == engine.embedder.dim
        report = TransferReport(str(path), engine.embedder.model_id, header.vectors)
        report.rebuilt = not (same_model and header.vectors)
        batch: list[list[ExportChunk]] = []
        try:
            for chunks in _documents(path, lines, None if report.rebuilt else header.dim):
                batch.append(chunks)
                if len(batch) == DOC_BATCH:
                    _import_batch(engine, batch, report)
                    batch = []
        except NotAnExport:  # the documents before the bad line go in
            if batch:
                _import_batch(engine, batch, report)
            raise
        if batch:
            _import_batch(engine, batch, report)
    report.bytes = path.stat().st_size
    return report


def _import_batch(engine: Engine, docs: list[list[ExportChunk]], report: TransferReport) -> None:
    report.documents += len(docs)
    report.chunks += sum(len(chunks) for chunks in docs)
    if report.rebuilt:
        report.stats.add(engine.indexer.index([_rebuilt(chunks) for chunks in docs]))
    else:
        _write_as_stored(engine, docs, report.stats)


def _header(path: Path, lines: Iterator[str]) -> ExportHeader:
    first = next(lines, "")
    try:
        header = ExportHeader.model_validate_json(first)
    except (ValidationError, ValueError) as exc:
        raise NotAnExport(f"{path}:1: not a semsearch export (no valid header line): {_reason(exc)}") from exc
    if header.schema_version != SCHEMA_VERSION:
        raise NotAnExport(
            f"{path}:1: export schema version {header.schema_version}; this version of semsearch reads {SCHEMA_VERSION}"
        )
    return header


def _documents(path: Path, lines: Iterator[str], dim: int | None) -> Iterator[list[ExportChunk]]:
    """Each document's chunks, in file order. A bad line ends the iteration with NotAnExport once the documents
    before it have been yielded (the one it interrupts is not: it would be rebuilt from part of its chunks)."""
    current: list[ExportChunk] = []
    for number, raw in enumerate(_lines(path, lines), start=2):
        try:
            chunk = ExportChunk.model_validate_json(raw)
            if dim is not None and (chunk.embedding is None or len(base64.b64decode(chunk.embedding)) != 4 * dim):
                raise ValueError(f"the embedding is not {dim} float32 values")
        except (ValidationError, ValueError) as exc:
            raise NotAnExport(f"{path}:{number}: corrupt line: {_reason(exc)}") from exc
        if current and chunk.doc_id != current[0].doc_id:
            yield current
            current = []
        current.append(chunk)
    if current:
        yield current


def _lines(path: Path, lines: Iterator[str]) -> Iterator[str]:
    """The lines after the header; undecodable bytes are reported as a corrupt line, with its number."""
    number = 1
    while True:
        number += 1
        try:
            raw = next(lines)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise NotAnExport(f"{path}:{number}: corrupt line: not UTF-8 ({exc.reason})") from exc
        yield raw


def _write_as_stored(engine: Engine, docs: list[list[ExportChunk]], stats: IndexStats) -> None:
    """Upsert the chunks with their vectors; chunks the collection holds for these documents beyond the export's
    are deleted, so each document ends up exactly as exported."""
    rows = []
    for chunks in docs:
        doc_rows = [{**c.model_dump(exclude={"embedding"}), VECTOR_FIELD: _decode(c.embedding or "")} for c in chunks]
        if engine.store.has_keyword_text:  # the export holds no keyword texts: rebuild each chunk's window
            engine.indexer.add_keyword_text(rebuild_text(doc_rows), doc_rows, section_starts(doc_rows))
        rows += doc_rows
    held = engine.store.existing_chunks([chunks[0].doc_id for chunks in docs])
    stale = sorted(set(held) - {row["id"] for row in rows})
    for start in range(0, len(rows), ROW_BATCH):
        engine.store.upsert_chunks(rows[start : start + ROW_BATCH])
    engine.store.delete_ids(stale)
    stats.add(IndexStats(documents=len(docs), chunks=len(rows), deleted=len(stale)))


def _rebuilt(chunks: list[ExportChunk]) -> Document:
    rows = [chunk.model_dump() for chunk in chunks]
    metadata = {k: v for k, v in chunks[0].metadata.items() if k not in LAYOUT_KEYS}
    return Document(id=chunks[0].doc_id, text=rebuild_text(rows), source=chunks[0].source, metadata=metadata)


def _encode(vector: list[float]) -> str:
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def _decode(encoded: str) -> list[float]:
    return np.frombuffer(base64.b64decode(encoded), dtype="<f4").tolist()


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "line"
        return f"{where}: {first['msg']}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
