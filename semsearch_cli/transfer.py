"""`semsearch export FILE` and `semsearch import FILE`: thin commands over `KnowledgeBase.export` / `import_from`.

A bad import file (not an export, another schema version, a corrupt line) exits 1, as an ingest with a file it
could not read does: the message names the line, what came before it is in, and running the import again
completes it (`semsearch.transfer`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from semsearch.knowledge_base import KnowledgeBase
from semsearch.transfer import NotAnExport, TransferReport
from semsearch_cli.exits import EXIT_PARTIAL, EXIT_USAGE, cli_errors, fail
from semsearch_cli.options import (
    CollectionOption,
    JsonOption,
    MilvusUriOption,
    ModelOption,
    TenantOption,
    given,
    load_settings,
    named,
)

FileArgument = Annotated[Path, typer.Argument(help="The JSON Lines export file.")]


def export_command(
    file: FileArgument,
    vectors: Annotated[
        bool, typer.Option("--vectors/--no-vectors", help="Include the vectors (an import with them embeds nothing).")
    ] = True,
    as_json: JsonOption = False,
    milvus_uri: MilvusUriOption = None,
    collection: CollectionOption = None,
    tenant: TenantOption = None,
) -> None:
    """Write the whole collection as JSON Lines: a header with the model record, then one line per chunk."""
    settings = load_settings(milvus_uri=milvus_uri, collection=collection, tenant=tenant)
    with cli_errors(), named(collection), KnowledgeBase.open(settings, create=False) as kb:
        report = kb.export(file, vectors=vectors)
    _print(report, "exported", as_json)


def import_command(
    file: FileArgument,
    as_json: JsonOption = False,
    milvus_uri: MilvusUriOption = None,
    collection: CollectionOption = None,
    tenant: TenantOption = None,
    model: ModelOption = None,
) -> None:
    """Load an export into the configured collection: the stored vectors when the model matches, else the
    documents rebuilt from their chunks and embedded with the configured model."""
    if not file.is_file():
        fail(f"no such file: {file}", EXIT_USAGE)
    settings = load_settings(milvus_uri=milvus_uri, collection=collection, model=model, tenant=tenant)
    with cli_errors(), KnowledgeBase.open(settings, create=True, keep=given(model=model)) as kb:
        try:
            report = kb.import_from(file)
        except NotAnExport as exc:
            fail(str(exc), EXIT_PARTIAL)
    _print(report, "imported", as_json)


def _print(report: TransferReport, verb: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
        return
    how = "rebuilt and embedded" if report.rebuilt else ("with vectors" if report.vectors else "without vectors")
    typer.echo(
        f"{verb} {report.documents} documents, {report.chunks} chunks ({how}; {report.stats.embedded} embedded) "
        f"{'to' if verb == 'exported' else 'from'} {report.path} ({report.bytes / 2**20:.1f} MiB)"
    )
