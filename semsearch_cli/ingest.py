"""`semsearch ingest`: a thin command over the ingest pipeline, into the knowledge base or a running API (`--api`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from ingest import formats
from ingest.api_sink import ApiSink
from ingest.loaders import TableOptions
from ingest.pipeline import IngestReport
from ingest.sinks import EngineSink, FileSink, Sink
from ingest.sources import FileSelection, MissingPath, discover
from ingest.sync import sync_selection
from ingest.tags import InvalidRunMetadata, parse_pairs
from semsearch.engine import Engine
from semsearch.metrics import EngineMetrics
from semsearch_cli.exits import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, cli_errors, fail
from semsearch_cli.options import (
    ApiOption,
    CollectionOption,
    JsonOption,
    MilvusUriOption,
    ModelOption,
    TenantOption,
    api_key,
    api_url,
    given,
    load_settings,
)
from semsearch_cli.output import shows_progress, stdout_console
from semsearch_cli.watching import watch_and_report


def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files, directories (recursive) and globs to ingest.")],
    text_column: Annotated[str | None, typer.Option(help="Table column holding the text (default: guessed).")] = None,
    id_column: Annotated[str | None, typer.Option(help="Table column holding a stable row id.")] = None,
    metadata_columns: Annotated[
        str | None, typer.Option(help="Comma-separated table columns to keep as metadata (default: all others).")
    ] = None,
    as_json: JsonOption = False,
    api: ApiOption = None,
    milvus_uri: MilvusUriOption = None,
    collection: CollectionOption = None,
    tenant: TenantOption = None,
    model: ModelOption = None,
    batch_size: Annotated[int | None, typer.Option(help="Texts per model batch (env SEMSEARCH_BATCH_SIZE).")] = None,
    chunk_tokens: Annotated[int | None, typer.Option(help="Max tokens per chunk (env SEMSEARCH_CHUNK_TOKENS).")] = None,
    chunk_overlap: Annotated[
        int | None, typer.Option(help="Tokens shared by neighbouring chunks (env SEMSEARCH_CHUNK_OVERLAP).")
    ] = None,
    base: Annotated[
        Path | None,
        typer.Option(
            help="Make file ids relative to this directory (SEMSEARCH_BASE); default: the file's git work tree, "
            "else its absolute path."
        ),
    ] = None,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune/--no-prune",
            help="Remove documents an earlier ingest took from under these directories or globs whose files are "
            "gone or no longer selected.",
        ),
    ] = True,
    metadata: Annotated[
        list[str] | None,
        typer.Option(
            "--metadata",
            help="key=value to tag every document of this run (repeatable; the value is JSON when it parses, "
            "else a string), e.g. --metadata tenant=acme --metadata year=2024.",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            help="Leave out files matching this gitignore-style glob, relative to each directory (repeatable), "
            "e.g. --exclude '*.log' --exclude drafts/. .gitignore files under a directory are honoured too; "
            "documents of files left out are pruned.",
        ),
    ] = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Keep running: apply every create, change, rename and delete under the paths (Ctrl-C stops).",
        ),
    ] = False,
) -> None:
    """Read files and tables, chunk and embed them, and upsert them into Milvus. Unchanged input is skipped."""
    settings = load_settings(
        milvus_uri=milvus_uri,
        collection=collection,
        tenant=tenant,
        model=model,
        batch_size=batch_size,
        chunk_tokens=chunk_tokens,
        chunk_overlap=chunk_overlap,
    )
    try:
        tags = parse_pairs(metadata or [])
        selection = discover(paths, exclude=exclude or [])
    except (MissingPath, InvalidRunMetadata) as exc:
        fail(str(exc), EXIT_USAGE)
    table = TableOptions(
        text_column=text_column,
        id_column=id_column,
        metadata_columns=tuple(c.strip() for c in metadata_columns.split(",") if c.strip())
        if metadata_columns is not None
        else None,
        max_file_bytes=settings.max_file_bytes,
        base=base if base is not None else (Path(settings.base) if settings.base else None),
        max_unpacked_bytes=settings.max_unpacked_bytes,
        metadata=tags,
    )
    console = Console(stderr=True)
    metrics = EngineMetrics()
    with cli_errors():
        engine = None
        if api:
            sink: Sink | FileSink = ApiSink(api_url(api, collection), api_key=api_key(settings), tenant=settings.tenant)
        else:
            explicit = given(model=model, chunk_tokens=chunk_tokens, chunk_overlap=chunk_overlap)
            engine = Engine.open(settings, create=True, recorded=True, keep=explicit)
            writer = engine.for_tenant(settings.tenant) if settings.tenant else engine
            sink = EngineSink(metrics.instrument(writer))
        try:
            report = _run(paths, selection, sink, table, console, show_progress=not as_json, prune=prune)
            if watch:
                report = watch_and_report(paths, sink, table, exclude or [], as_json, report, prune)
        finally:
            if engine:
                engine.close()
    metrics.record_ingest(report.stats.documents, report.stats.chunks, len(report.failures))
    if as_json:
        typer.echo(json.dumps({**report.to_dict(), "metrics": metrics.summary()}))
    else:
        _print_summary(report, stdout_console())
        typer.echo(_metrics_line(metrics.summary()))
    raise typer.Exit(EXIT_PARTIAL if report.failures else EXIT_OK)


def ingest_epilog() -> str:
    """The table of formats (ingest/formats.py), one paragraph a line: Rich help joins single line breaks."""
    return "\n\n".join(formats.help_text().splitlines())


def _run(
    args: list[str],
    selection: FileSelection,
    sink: Sink | FileSink,
    table: TableOptions,
    console: Console,
    show_progress: bool,
    prune: bool,
) -> IngestReport:
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not show_progress or not shows_progress(console),
    )
    with progress:
        task = progress.add_task("ingest", total=len(selection.files), status="")
        # Tables get a line of their own, shown once the first is met: a table is one file but many rows.
        rows = progress.add_task("rows  ", total=None, status="", visible=False)

        def on_file(path: Path, report: IngestReport) -> None:
            status = f"{report.stats.documents} docs, {report.stats.embedded} embedded, {len(report.failures)} failed"
            progress.update(task, advance=1, status=status)

        def on_rows(report: IngestReport) -> None:
            progress.update(rows, total=report.table_rows, completed=report.table_rows_done, visible=True)
            speed = progress.tasks[rows].speed
            progress.update(rows, status=f"{speed:,.0f} rows/s" if speed else "")

        return sync_selection(args, selection, sink, table, prune_missing=prune, on_file=on_file, on_rows=on_rows)


_COLUMN_NAMES = {"unchanged": "unchanged (skipped)", "removed_documents": "removed docs"}


def _summary_table(report: IngestReport) -> Table:
    summary = report.to_dict()
    table = Table(title="ingest summary", show_header=True)
    keys = ("files", "documents", "chunks", "embedded", "unchanged", "reused", "deleted", "removed_documents", "failed")
    for key in keys:
        table.add_column(_COLUMN_NAMES.get(key, key), justify="right")
    table.add_row(*(str(summary[k]) for k in keys))
    return table


def _print_summary(report: IngestReport, console: Console) -> None:
    """The table, then one line per failed file and warning: plain text (a path or reason with `[...]` in it is
    not Rich markup) and never wrapped by us, so each stays one line to read or grep."""
    console.print(_summary_table(report))
    lines = [f"failed: {path}: {reason}" for path, reason in report.failures]
    lines += [f"warning: {path}: {message}" for path, message in report.warnings]
    for line in lines:
        console.print(Text(line), soft_wrap=True)


def _metrics_line(summary: dict[str, float]) -> str:
    """The counters `GET /metrics` exports, for this run (model and Milvus time only when this process did the work,
    not with --api)."""
    parts = [
        f"{summary['documents']:.0f} documents",
        f"{summary['chunks']:.0f} chunks",
        f"{summary['failures']:.0f} failures",
    ]
    if summary["milvus_calls"]:
        parts.append(f"embed {summary['embed_seconds']:.2f} s for {summary['embedded_texts']:.0f} texts")
        parts.append(f"Milvus {summary['milvus_seconds']:.2f} s in {summary['milvus_calls']:.0f} calls")
    return "metrics: " + " · ".join(parts)
