"""`semsearch ingest --watch`: after the first ingest, one line per applied batch until Ctrl-C, then the summary
of the whole session (the first ingest and every batch), printed by the ingest command as usual."""

from __future__ import annotations

import json
from collections.abc import Sequence

import typer

from ingest.loaders import TableOptions
from ingest.pipeline import IngestReport
from ingest.sinks import FileSink, Sink
from ingest.watch import watch

#: The line on stderr that says the watch is set: a script (or a test) makes its changes after it.
WATCHING = "watching for changes (Ctrl-C stops)"


def watch_and_report(
    paths: Sequence[str],
    sink: Sink | FileSink,
    table: TableOptions,
    exclude: Sequence[str],
    as_json: bool,
    first: IngestReport,
    prune: bool = True,
) -> IngestReport:
    """Watch until interrupted; returns the first report with every batch added (exit 0: Ctrl-C is how it ends)."""
    typer.echo(_line("ingested", first, [], as_json), err=not as_json)

    def on_batch(report: IngestReport, gone: list[str]) -> None:
        typer.echo(_line("applied", report, gone, as_json), err=not as_json)

    def on_ready() -> None:  # said once the watches are set: a change made after this line is seen
        typer.echo(WATCHING, err=True)

    session = watch(paths, sink, table, exclude, on_batch=on_batch, prune_missing=prune, on_ready=on_ready)
    session.total.files += first.files
    session.total.stats.add(first.stats)
    session.total.failures[:0] = first.failures
    session.total.removed_documents += first.removed_documents
    typer.echo(f"stopped after {session.batches} batches of changes", err=True)
    return session.total


def _line(what: str, report: IngestReport, gone: list[str], as_json: bool) -> str:
    summary = report.to_dict()
    if as_json:
        return json.dumps({"event": what, **summary, "gone": gone})
    counts = ", ".join(f"{summary[k]} {k}" for k in ("documents", "embedded", "deleted", "removed_documents"))
    missing = f"; gone (kept, skipped until back): {', '.join(gone)}" if gone else ""
    failed = "".join(f"\n  failed: {path}: {reason}" for path, reason in report.failures)
    return f"{what}: {counts}{missing}{failed}"
