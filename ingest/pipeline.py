"""The ingest run: files → documents → sink, with a report of what happened to every file.

Three stages overlap, each in its own thread, joined by bounded queues: reading + chunking + comparing with Milvus
(`prepare`), the model (`embed`), and Milvus writes (`write`, in the caller's thread, which also keeps the report
and calls `on_file`). A full queue blocks the stage before it (back-pressure), so at most QUEUE_DEPTH batches wait
between stages and memory stays flat however large the corpus is.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.formats import is_table
from ingest.loaders import TableOptions, load_file
from ingest.readers import LoadError
from ingest.sinks import Sink
from ingest.sources import FileSelection, source_id
from ingest.tags import tag
from semsearch.errors import DocumentRejected
from semsearch.indexer import Document, IndexStats, validate_document

#: Documents per prepared batch: enough chunks for the model to sort by length and pad little, small enough to
#: report progress often and hold little in memory.
DOC_BATCH = 128
#: Batches waiting between two stages.
QUEUE_DEPTH = 2
_DONE = object()


@dataclass
class IngestReport:
    files: int = 0
    stats: IndexStats = field(default_factory=IndexStats)
    failures: list[tuple[str, str]] = field(default_factory=list)
    #: Documents pruned because their files are gone from an ingested directory or glob (`ingest.sync`).
    removed_documents: int = 0

    def to_dict(self) -> dict[str, Any]:
        s = self.stats
        return {
            "files": self.files,
            "documents": s.documents,
            "chunks": s.chunks,
            "embedded": s.embedded,
            "unchanged": s.unchanged,
            "deleted": s.deleted,
            "removed_documents": self.removed_documents,
            "failed": len(self.failures),
            "failures": [{"path": path, "reason": reason} for path, reason in self.failures],
        }


@dataclass
class _Work:
    """A unit for the stages: documents to index (`parts`, by file; a big table comes in several units), their
    prepared batches, files refused on the way, and the files finished with this unit (reported after writing;
    with all their documents, for pruning a table's removed rows)."""

    parts: list[tuple[Path, list[Document]]] = field(default_factory=list)
    batches: list[Any] = field(default_factory=list)
    refused: dict[Path, str] = field(default_factory=dict)
    done: list[tuple[Path, list[Document] | None, str | None]] = field(default_factory=list)

    def size(self) -> int:
        return sum(len(docs) for _, docs in self.parts)


def ingest_selection(
    selection: FileSelection,
    sink: Sink,
    table: TableOptions,
    on_file: Callable[[Path, IngestReport], None] | None = None,
) -> IngestReport:
    """Ingest the selected files; files named explicitly but of a type no reader takes are reported first."""
    report = ingest_files(selection.files, sink, table, on_file=on_file)
    report.files += len(selection.rejected)
    report.failures[:0] = [(str(path), reason) for path, reason in selection.rejected]
    return report


def ingest_files(
    files: list[Path],
    sink: Sink,
    table: TableOptions,
    on_file: Callable[[Path, IngestReport], None] | None = None,
) -> IngestReport:
    """Load every file and index its documents; a file that cannot be read or stored is reported and skipped."""
    report = IngestReport(files=len(files))
    stop = threading.Event()
    prepared: queue.Queue = queue.Queue(QUEUE_DEPTH)
    embedded: queue.Queue = queue.Queue(QUEUE_DEPTH)
    errors: list[BaseException] = []

    def reader() -> None:
        for work in _read(files, sink, table):
            _put(prepared, work, stop)

    def embedder() -> None:
        for work in _drain(prepared, stop):
            sink.embed(work.batches)
            _put(embedded, work, stop)

    threads = [
        threading.Thread(target=_stage, args=(reader, prepared, stop, errors), name="ingest-read", daemon=True),
        threading.Thread(target=_stage, args=(embedder, embedded, stop, errors), name="ingest-embed", daemon=True),
    ]
    for thread in threads:
        thread.start()
    refused: dict[Path, str] = {}
    try:
        for work in _drain(embedded, stop):
            _write(work, sink, refused, report)
            _finish(work, sink, refused, report, on_file, table.base)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return report


def _read(files: list[Path], sink: Sink, table: TableOptions) -> Iterator[_Work]:
    """Load files and prepare their documents in units of about DOC_BATCH documents. A table is cut into units of
    its own and finished with its last one, so its removed rows are pruned only after all its rows are written."""
    work = _Work()
    for path in files:
        try:
            docs = tag(load_file(path, table), table.metadata)
            for doc in docs:
                validate_document(doc)
        except (LoadError, DocumentRejected, OSError) as exc:
            work.done.append((path, None, str(exc)))
            continue
        if not is_table(path):
            work.parts.append((path, docs))
            work.done.append((path, docs, None))
            if work.size() >= DOC_BATCH:
                yield _prepared(work, sink)
                work = _Work()
            continue
        if work.parts or work.done:
            yield _prepared(work, sink)
        refused = False
        for start in range(0, len(docs), DOC_BATCH):
            work = _Work(parts=[] if refused else [(path, docs[start : start + DOC_BATCH])])
            if start + DOC_BATCH >= len(docs):
                work.done.append((path, docs, None))
            work = _prepared(work, sink)
            refused = refused or path in work.refused
            yield work
        work = _Work()
    if work.parts or work.done:
        yield _prepared(work, sink)


def _prepared(work: _Work, sink: Sink) -> _Work:
    """Prepare the unit's documents in batches; if the sink refuses one, retry file by file so only the offending
    file is reported (preparing writes nothing, so nothing needs undoing)."""
    try:
        work.batches = _batches(work.parts, sink)
    except DocumentRejected as exc:
        if len(work.parts) == 1:
            work.refused[work.parts[0][0]] = f"refused by the indexer: {exc}"
            return work
        for part in work.parts:
            try:
                work.batches += _batches([part], sink)
            except DocumentRejected as file_exc:
                work.refused[part[0]] = f"refused by the indexer: {file_exc}"
    return work


def _batches(parts: list[tuple[Path, list[Document]]], sink: Sink) -> list[Any]:
    docs = [doc for _, part_docs in parts for doc in part_docs]
    return [sink.prepare(docs[start : start + DOC_BATCH]) for start in range(0, len(docs), DOC_BATCH)]


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
    base: Path | None,
) -> None:
    """Report the files this unit finishes, in input order; prune a finished table's removed rows."""
    for path, docs, reason in work.done:
        reason = reason or refused.get(path)
        if reason is not None:
            report.failures.append((str(path), reason))
        elif docs is not None and is_table(path):
            report.stats.deleted += sink.prune_source(source_id(path, base), {d.id for d in docs})
        if on_file:
            on_file(path, report)


def _stage(run: Callable[[], None], out: queue.Queue, stop: threading.Event, errors: list[BaseException]) -> None:
    """Run one stage; an error stops the whole run and is re-raised by the caller. Always ends with _DONE."""
    try:
        run()
    except _Stopped:
        pass
    except BaseException as exc:
        errors.append(exc)
        stop.set()
    finally:
        _put(out, _DONE, stop, force=True)


def _put(q: queue.Queue, item: Any, stop: threading.Event, force: bool = False) -> None:
    """Put with back-pressure; give up when the run is stopping (unless `force`: the end marker must arrive)."""
    while True:
        if stop.is_set() and not force:
            raise _Stopped
        try:
            q.put(item, timeout=0.1)
            return
        except queue.Full:
            if stop.is_set() and force:
                _clear(q)


def _drain(q: queue.Queue, stop: threading.Event) -> Iterator[_Work]:
    """Items until the end marker; stops early when another stage failed."""
    while True:
        item = q.get()
        if item is _DONE or stop.is_set():
            return
        yield item


def _clear(q: queue.Queue) -> None:
    try:
        while True:
            q.get_nowait()
    except queue.Empty:
        pass


class _Stopped(Exception):
    """Raised inside a stage when another stage failed; not an error of its own."""
