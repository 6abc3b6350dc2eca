"""`semsearch status | list | show | delete`: what the knowledge base holds, thin commands over its verbs.

`show` and `delete` of an id that is not stored name it and exit 1, as ingest does for a file it could not read:
1 means "some inputs failed" (for `delete a b`, `a` is removed and `b` is named). Everything else maps by family
(`semsearch_cli.exits`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import click
import typer
from rich.markup import escape
from rich.table import Table

from semsearch.errors import DocumentNotFound
from semsearch.knowledge_base import KnowledgeBase
from semsearch_cli.exits import EXIT_PARTIAL, EXIT_USAGE, cli_errors, fail
from semsearch_cli.options import CollectionOption, JsonOption, MilvusUriOption, TenantOption, load_settings, named
from semsearch_cli.output import stdout_console

SourceOption = Annotated[str | None, typer.Option("--source", help="Only documents whose source starts with this.")]
FilterOption = Annotated[
    str | None, typer.Option("--filter", help='A filter as JSON, as /search takes it, e.g. \'{"format": "md"}\'.')
]
out = stdout_console(soft_wrap=True, highlight=False)


def status(
    as_json: JsonOption = False,
    milvus_uri: MilvusUriOption = None,
    collection: CollectionOption = None,
    tenant: TenantOption = None,
) -> None:
    """Collection, model, backend and its capabilities, document and chunk counts, metadata fields, data location."""
    with cli_errors(), _open(milvus_uri, collection, tenant) as kb:
        found = kb.status()
    if as_json:
        typer.echo(json.dumps(found))
        return
    for key, value in found.items():
        shown = ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else value
        out.print(f"[bold]{key}[/bold]: {escape(str(shown))}")


def list_documents(
    source: SourceOption = None,
    filter_json: FilterOption = None,
    as_json: JsonOption = False,
    milvus_uri: MilvusUriOption = None,
    collection: CollectionOption = None,
    tenant: TenantOption = None,
) -> None:
    """Stored documents with source, title and chunk count, sorted by id (`--json`: one object per line)."""
    spec = _filter(filter_json)
    with cli_errors(), _open(milvus_uri, collection, tenant) as kb:
        docs = sorted(kb.documents(source_prefix=source, filter=spec), key=lambda d: d.doc_id)
    if as_json:
        for doc in docs:
            typer.echo(json.dumps(doc.to_dict()))
        return
    table = Table(title=f"{len(docs)} documents")
    for column in ("doc_id", "source", "title", "chunks"):
        table.add_column(column, justify="right" if column == "chunks" else "left", overflow="fold")
    for doc in docs:
        table.add_row(escape(doc.doc_id), escape(doc.source), escape(doc.title), str(doc.chunks))
    out.print(table)


def show(
    doc_id: Annotated[str, typer.Argument(help="The document id, as `semsearch list` shows it.")],
    as_json: JsonOption = False,
    milvus_uri: MilvusUriOption = None,
    collection: CollectionOption = None,
    tenant: TenantOption = None,
) -> None:
    """A document's text rebuilt from its chunks, its metadata and its chunk spans."""
    with cli_errors(), _open(milvus_uri, collection, tenant) as kb:
        try:
            found = kb.document(doc_id)
        except DocumentNotFound as exc:
            fail(str(exc), EXIT_PARTIAL)
    if as_json:
        typer.echo(json.dumps(found.to_dict()))
        return
    out.print(f"[bold]{escape(found.doc_id)}[/bold]  source: {escape(found.source)}")
    out.print(f"metadata: {escape(json.dumps(found.metadata, ensure_ascii=False))}")
    spans = " ".join(f"#{c['chunk_index']}:{c['char_start']}-{c['char_end']}" for c in found.chunks)
    out.print(f"chunks: {spans}\n")
    typer.echo(found.text)


def delete(
    doc_ids: Annotated[list[str] | None, typer.Argument(help="Document ids to delete.")] = None,
    source: SourceOption = None,
    filter_json: FilterOption = None,
    everything: Annotated[bool, typer.Option("--all", help="Allow a selection that matches every document.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOption = False,
    milvus_uri: MilvusUriOption = None,
    collection: CollectionOption = None,
    tenant: TenantOption = None,
) -> None:
    """Delete documents by id, by source prefix or by filter; asks first unless --yes."""
    spec = _filter(filter_json)
    ids = doc_ids or []
    if ids and (source or spec):
        fail("give document ids, or --source/--filter, not both", EXIT_USAGE)
    if not (ids or source or spec or everything):
        fail("name documents to delete: DOC_ID..., --source PREFIX, --filter JSON (or --all)", EXIT_USAGE)
    with cli_errors(), _open(milvus_uri, collection, tenant) as kb:
        if not yes and not _confirmed(kb, ids, source, spec):
            fail("not confirmed; nothing deleted (use --yes to skip the question)", EXIT_USAGE)
        removal = kb.delete_where(doc_ids=ids, source_prefix=source, filter=spec, all=everything)
    if as_json:
        typer.echo(json.dumps(removal.to_dict()))
    else:
        out.print(f"deleted {len(removal.doc_ids)} documents ({removal.chunks} chunks)")
    if removal.missing:
        fail(f"no document with id {', '.join(repr(m) for m in removal.missing)}", EXIT_PARTIAL)


def _confirmed(kb: KnowledgeBase, ids: list[str], source: str | None, spec: dict[str, Any] | None) -> bool:
    what = (
        f"{len(ids)} documents by id"
        if ids
        else f"{sum(1 for _ in kb.documents(source_prefix=source, filter=spec))} documents"
    )
    try:
        return typer.confirm(f"delete {what} from {kb.engine.store.collection!r}?", default=False, err=True)
    except (typer.Abort, click.exceptions.Abort):  # no answer (stdin closed): not confirmed
        return False


def _filter(filter_json: str | None) -> dict[str, Any] | None:
    if filter_json is None:
        return None
    try:
        spec = json.loads(filter_json)
    except json.JSONDecodeError as exc:
        fail(f"--filter is not JSON: {exc}", EXIT_USAGE)
    if not isinstance(spec, dict):
        fail('--filter must be a JSON object, e.g. \'{"format": "md"}\'', EXIT_USAGE)
    return spec


def _open(milvus_uri: str | None, collection: str | None, tenant: str | None) -> KnowledgeBase:
    with named(collection):
        return KnowledgeBase.open(
            load_settings(milvus_uri=milvus_uri, collection=collection, tenant=tenant), create=False
        )
