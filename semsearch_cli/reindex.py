"""`semsearch reindex`: a thin command over `semsearch.reindex` (switch a collection to another model, no outage)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from semsearch.reindex import ReindexReport, reindex
from semsearch_cli.exits import EXIT_OK, cli_errors
from semsearch_cli.options import CollectionOption, JsonOption, MilvusUriOption, load_settings
from semsearch_cli.output import stdout_console


def reindex_command(
    model: Annotated[str, typer.Option("--model", help="The new sentence-transformers model name or local path.")],
    drop_old: Annotated[
        bool, typer.Option("--drop-old", help="Drop the collection's earlier physical collections afterwards.")
    ] = False,
    grace: Annotated[
        float,
        typer.Option(min=0, help="With --drop-old after a switch: seconds to wait first, so running APIs move over."),
    ] = 30.0,
    as_json: JsonOption = False,
    milvus_uri: MilvusUriOption = None,
    collection: CollectionOption = None,
) -> None:
    """Re-embed every document with another model into a new collection, then move the collection's alias to it:
    searches keep answering throughout and switch at once (Milvus server). The old collection stays until
    --drop-old."""
    settings = load_settings(milvus_uri=milvus_uri, collection=collection)
    console = Console(stderr=True)

    def progress(report: ReindexReport) -> None:
        if not as_json:
            console.print(f"reindex: {report.stats.documents} documents, {report.stats.embedded} chunks embedded")

    with cli_errors():
        report = reindex(settings, model, drop_old=drop_old, grace_seconds=grace, on_batch=progress)
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
    else:
        table = Table(title="reindex summary")
        summary = report.to_dict()
        for key in summary:
            table.add_column(key)
        table.add_row(*(", ".join(v) if isinstance(v, list) else str(v) for v in summary.values()))
        stdout_console().print(table)
    raise typer.Exit(EXIT_OK)
