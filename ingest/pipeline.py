"""The ingest run: files → documents → sink, with a report of what happened to every file."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.loaders import LoadError, TableOptions, load_file
from ingest.sinks import Sink
from ingest.sources import TABLE_SUFFIXES, source_id
from semsearch.errors import DocumentRejected
from semsearch.indexer import Document, IndexStats, validate_document

#: Documents sent to the sink per call: enough to fill the model's batches, small enough to report progress.
DOC_BATCH = 64


@dataclass
class IngestReport:
    files: int = 0
    stats: IndexStats = field(default_factory=IndexStats)
    failures: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        s = self.stats
        return {
            "files": self.files,
            "documents": s.documents,
            "chunks": s.chunks,
            "embedded": s.embedded,
            "unchanged": s.unchanged,
            "deleted": s.deleted,
            "failed": len(self.failures),
            "failures": [{"path": path, "reason": reason} for path, reason in self.failures],
        }


def ingest_files(
    files: list[Path],
    sink: Sink,
    table: TableOptions,
    on_file: Callable[[Path, IngestReport], None] | None = None,
) -> IngestReport:
    """Load every file and index its documents; a file that cannot be read or stored is reported and skipped."""
    report = IngestReport(files=len(files))
    pending: list[tuple[Path, list[Document]]] = []
    for path in files:
        try:
            docs = load_file(path, table)
            for doc in docs:
                validate_document(doc)
        except (LoadError, DocumentRejected, OSError) as exc:
            report.failures.append((str(path), str(exc)))
        else:
            pending.append((path, docs))
            if path.suffix.lower() in TABLE_SUFFIXES or sum(len(d) for _, d in pending) >= DOC_BATCH:
                _flush(pending, sink, report)
        if on_file:
            on_file(path, report)
    _flush(pending, sink, report)
    return report


def _flush(pending: list[tuple[Path, list[Document]]], sink: Sink, report: IngestReport) -> None:
    """Index the pending files' documents in batches; if the indexer refuses a batch, retry file by file so only
    the offending file is reported. Tables also lose the rows that are gone from the file."""
    docs = [doc for _, file_docs in pending for doc in file_docs]
    try:
        for start in range(0, len(docs), DOC_BATCH):
            report.stats.add(sink.index(docs[start : start + DOC_BATCH]))
    except DocumentRejected:
        if len(pending) == 1:
            path = pending[0][0]
            report.failures.append((str(path), f"refused by the indexer: {sys.exc_info()[1]}"))
            pending.clear()
            return
        for item in list(pending):
            _flush([item], sink, report)
    for path, file_docs in pending:
        if path.suffix.lower() in TABLE_SUFFIXES:
            report.stats.deleted += sink.prune_source(source_id(path), {d.id for d in file_docs})
    pending.clear()
