"""The ingest run: files → documents → sink, with a report of what happened to every file.

Three stages overlap, each in its own thread, joined by bounded queues (`ingest.stages`): reading + chunking +
comparing with Milvus (`prepare`), the model (`embed`), and Milvus writes (`write`, in the caller's thread, which also
keeps the report and calls `on_file`). A full queue blocks the stage before it (back-pressure), so at most
QUEUE_DEPTH batches wait between stages and memory stays flat however large the corpus is.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.file_warnings import collect_warnings
from ingest.formats import is_table
from ingest.loaders import TableOptions, file_id_of, load_file, table_batches, table_ids
from ingest.readers import LoadError
from ingest.sinks import FileSink, Sink
from ingest.sources import FileSelection
from ingest.stages import QUEUE_DEPTH, drain, put, stage
from ingest.tags import tag
from semsearch.errors import DocumentRejected
from semsearch.indexer import Document, IndexStats, validate_document

#: Documents per prepared batch: enough chunks for the model to sort by length and pad little, small enough to
#: report progress often and hold little in memory.
DOC_BATCH = 128
#: Rows per unit of a streamed table, each prepared as one batch: the batch's one read of what Milvus holds scans
#: the whole collection (`ChunkCollection.existing_chunks`), so at a million rows 128-row batches made 7,800 such
#: scans and re-ingest of an unchanged table grew with the square of its size. Short rows, so a unit stays small.
TABLE_UNIT = 1024


@dataclass
class IngestReport:
    """What happened to every file. `failures` (path, reason) are files not ingested (the exit code says so);
    `warnings` (path, message) are files ingested with a problem the user should fix (a broken front-matter block,
    read as text), so the run still succeeds."""

    files: int = 0
    stats: IndexStats = field(default_factory=IndexStats)
    failures: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    #: Documents pruned because their files are gone from an ingested directory or glob (`ingest.sync`).
    removed_documents: int = 0
    #: Progress through tables, for a rows/s and ETA display: rows of the tables met so far (known once a table is
    #: checked, before its rows are written) and rows written. Not part of `to_dict`.
    table_rows: int = 0
    table_rows_done: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            **self.stats.counts(),
            "removed_documents": self.removed_documents,
            "failed": len(self.failures),
            "failures": [{"path": path, "reason": reason} for path, reason in self.failures],
            "warnings": [{"path": path, "message": message} for path, message in self.warnings],
        }


@dataclass
class _Work:
    """A unit for the stages: documents to index (`parts`, by file; a big table comes in several units), their
    prepared batches, files refused on the way, and the files finished with this unit (reported after writing;
    a table with the ids of all its rows, for pruning its removed rows, else None), warnings about files read for
    this unit, and `table_rows`: rows of a table whose first unit this is (for progress)."""

    parts: list[tuple[Path, list[Document]]] = field(default_factory=list)
    batches: list[Any] = field(default_factory=list)
    refused: dict[Path, str] = field(default_factory=dict)
    done: list[tuple[Path, set[str] | None, str | None]] = field(default_factory=list)
    warnings: list[tuple[Path, str]] = field(default_factory=list)
    table_rows: int = 0

    def size(self) -> int:
        return sum(len(docs) for _, docs in self.parts)


def ingest_selection(
    selection: FileSelection,
    sink: Sink | FileSink,
    table: TableOptions,
    on_file: Callable[[Path, IngestReport], None] | None = None,
    on_rows: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Ingest the selected files; files named explicitly but of a type no reader takes are reported first."""
    report = ingest_files(selection.files, sink, table, on_file=on_file, on_rows=on_rows)
    report.files += len(selection.rejected)
    report.failures[:0] = [(str(path), reason) for path, reason in selection.rejected]
    return report


def ingest_files(
    files: list[Path],
    sink: Sink | FileSink,
    table: TableOptions,
    on_file: Callable[[Path, IngestReport], None] | None = None,
    on_rows: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Load every file and index its documents; a file that cannot be read or stored is reported and skipped.
    `on_file` hears of each finished file, `on_rows` of each unit of table rows written. A `FileSink` (a running
    API) is handed the files themselves: it reads them with these same readers."""
    if isinstance(sink, FileSink):
        return sink.send_files(files, table, on_file)
    report = IngestReport(files=len(files))
    stop = threading.Event()
    prepared: queue.Queue = queue.Queue(QUEUE_DEPTH)
    embedded: queue.Queue = queue.Queue(QUEUE_DEPTH)
    errors: list[BaseException] = []

    def reader() -> None:
        for work in _read(files, sink, table):
            put(prepared, work, stop)

    def embedder() -> None:
        for work in drain(prepared, stop):
            sink.embed(work.batches)
            put(embedded, work, stop)

    threads = [
        threading.Thread(target=stage, args=(reader, prepared, stop, errors), name="ingest-read", daemon=True),
        threading.Thread(target=stage, args=(embedder, embedded, stop, errors), name="ingest-embed", daemon=True),
    ]
    for thread in threads:
        thread.start()
    refused: dict[Path, str] = {}
    try:
        for work in drain(embedded, stop):
            _write(work, sink, refused, report)
            if work.table_rows or (work.parts and is_table(work.parts[0][0])):
                report.table_rows += work.table_rows
                report.table_rows_done += work.size()
                if on_rows:
                    on_rows(report)
            _finish(work, sink, refused, report, on_file, table)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return report


def _read(files: list[Path], sink: Sink, table: TableOptions) -> Iterator[_Work]:
    """Load files and prepare their documents in units of about DOC_BATCH documents. A table streams in units of
    its own (`_table_units`); prose files share units."""
    work = _Work()
    for path in files:
        if is_table(path):
            if work.parts or work.done or work.warnings:
                yield _prepared(work, sink)
                work = _Work()
            yield from _table_units(path, sink, table)
            continue
        with collect_warnings() as found:  # e.g. a broken front-matter block: reported, the file still goes in
            try:
                docs = tag(load_file(path, table), table.metadata)
                for doc in docs:
                    validate_document(doc)
            except (LoadError, DocumentRejected, OSError) as exc:
                docs = None
                work.done.append((path, None, str(exc)))
        work.warnings += [(path, message) for message in found]
        if docs is None:
            continue
        work.parts.append((path, docs))
        work.done.append((path, None, None))
        if work.size() >= DOC_BATCH:
            yield _prepared(work, sink)
            work = _Work()
    if work.parts or work.done or work.warnings:
        yield _prepared(work, sink)


def _table_units(path: Path, sink: Sink, table: TableOptions) -> Iterator[_Work]:
    """A table in units of TABLE_UNIT rows, never held whole. A first pass checks every row and keeps only the ids
    (so a bad row refuses the file before anything is written, as for a file read whole); the second pass reads
    the rows again in batches. The last unit finishes the file, so its removed rows are pruned only after all its
    rows are written. A file that changes between the passes fails with the reason, and prunes nothing."""
    try:
        ids = table_ids(path, table)
    except (LoadError, DocumentRejected, OSError) as exc:
        yield _Work(done=[(path, None, str(exc))])
        return
    refused = False
    first = True
    batches = table_batches(path, table, TABLE_UNIT)
    try:
        docs = next(batches, None)
        while docs is not None:
            following = next(batches, None)
            parts = [] if refused else [(path, tag(docs, table.metadata))]
            work = _Work(parts=parts, table_rows=len(ids) if first else 0)
            first = False
            if following is None:
                work.done.append((path, ids, None))
            work = _prepared(work, sink, TABLE_UNIT)
            refused = refused or path in work.refused
            yield work
            docs = following
    except (LoadError, DocumentRejected, OSError) as exc:
        yield _Work(done=[(path, None, f"changed while it was read: {exc}")])


def _prepared(work: _Work, sink: Sink, size: int = 0) -> _Work:
    """Prepare the unit's documents in batches (of `size`, else DOC_BATCH); if the sink refuses one, retry file by
    file so only the offending file is reported (preparing writes nothing, so nothing needs undoing)."""
    size = size or DOC_BATCH
    try:
        work.batches = _batches(work.parts, sink, size)
    except DocumentRejected as exc:
        if len(work.parts) == 1:
            work.refused[work.parts[0][0]] = f"refused by the indexer: {exc}"
            return work
        for part in work.parts:
            try:
                work.batches += _batches([part], sink, size)
            except DocumentRejected as file_exc:
                work.refused[part[0]] = f"refused by the indexer: {file_exc}"
    return work


def _batches(parts: list[tuple[Path, list[Document]]], sink: Sink, size: int = 0) -> list[Any]:
    docs = [doc for _, part_docs in parts for doc in part_docs]
    size = size or DOC_BATCH
    return [sink.prepare(docs[start : start + size]) for start in range(0, len(docs), size)]


def _write(work: _Work, sink: Sink, refused: dict[Path, str], report: IngestReport) -> None:
    """Write the unit's batches; if the sink refuses at write time (an API does), redo the unit file by file."""
    refused.update(work.refused)
    parts = [(path, docs) for path, docs in work.parts if path not in refused]
    if not parts:
        return
    try:
        for batch in work.batches:
            report.stats.add(sink.write(batch))
    except DocumentRejected as exc:
        if len(parts) == 1:
            refused[parts[0][0]] = f"refused by the indexer: {exc}"
            return
        for path, docs in parts:
            try:
                batches = _batches([(path, docs)], sink)
                sink.embed(batches)
                for batch in batches:
                    report.stats.add(sink.write(batch))
            except DocumentRejected as file_exc:
                refused[path] = f"refused by the indexer: {file_exc}"


def _finish(
    work: _Work,
    sink: Sink,
    refused: dict[Path, str],
    report: IngestReport,
    on_file: Callable[[Path, IngestReport], None] | None,
    table: TableOptions,
) -> None:
    """Report the files this unit finishes, in input order; prune a finished table's removed rows."""
    report.warnings += [(str(path), message) for path, message in work.warnings]
    for path, keep, reason in work.done:
        reason = reason or refused.get(path)
        if reason is not None:
            report.failures.append((str(path), reason))
        elif keep is not None:
            report.stats.deleted += sink.prune_source(file_id_of(path, table), keep)
        if on_file:
            on_file(path, report)
