"""`semsearch collections list|create|show|drop`: thin commands over `semsearch.Service`, or over a running API's
`/collections` routes (`--api`, e.g. while `semsearch serve` holds a Milvus Lite `.db`). `--json` prints what the
API answers, field for field."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from semsearch.errors import CollectionNotFound
from semsearch.service import Service
from semsearch.settings import DenseIndexName
from semsearch_cli.exits import EXIT_BACKEND, EXIT_USAGE, cli_errors, fail
from semsearch_cli.options import ApiOption, JsonOption, MilvusUriOption, api_key, load_settings

app = typer.Typer(
    name="collections",
    help="List, create, show and drop collections (each records its model and settings).",
    no_args_is_help=True,
)
NameArgument = Annotated[str, typer.Argument(help="The collection's name.")]


@app.command("list")
def list_collections(as_json: JsonOption = False, api: ApiOption = None, milvus_uri: MilvusUriOption = None) -> None:
    """Every collection, with its model, chunk size and state."""
    settings = load_settings(milvus_uri=milvus_uri)
    with cli_errors():
        if api:
            body = _call(api, "GET", "/collections", api_key(settings, reading=True))
        else:
            with Service(settings) as service:
                body = {"default": settings.collection, "collections": service.collections()}
    if as_json:
        typer.echo(json.dumps(body))
        return
    table = Table(title=f"{len(body['collections'])} collections")
    for column in ("name", "model", "dim", "chunk tokens", "state"):
        table.add_column(column)
    for item in body["collections"]:
        default = " (default)" if item["name"] == body["default"] else ""
        chunk = str(item["settings"].get("chunk_tokens", ""))
        table.add_row(item["name"] + default, item["model"], str(item["dim"]), chunk, item["state"])
    Console().print(table)


@app.command("create")
def create(
    name: NameArgument,
    model: Annotated[str | None, typer.Option(help="Model name or path (default SEMSEARCH_MODEL).")] = None,
    chunk_tokens: Annotated[int | None, typer.Option(help="Max tokens per chunk (SEMSEARCH_CHUNK_TOKENS).")] = None,
    chunk_overlap: Annotated[int | None, typer.Option(help="Overlap in tokens (SEMSEARCH_CHUNK_OVERLAP).")] = None,
    keyword_window_tokens: Annotated[
        int | None, typer.Option(help="BM25 window in tokens (SEMSEARCH_KEYWORD_WINDOW_TOKENS).")
    ] = None,
    index: Annotated[DenseIndexName | None, typer.Option(help="Dense index (SEMSEARCH_INDEX).")] = None,
    query_prompt: Annotated[str | None, typer.Option(help="Query prompt (SEMSEARCH_QUERY_PROMPT).")] = None,
    document_prompt: Annotated[str | None, typer.Option(help="Document prompt (SEMSEARCH_DOCUMENT_PROMPT).")] = None,
    multi_tenant: Annotated[
        bool | None, typer.Option("--multi-tenant/--single-tenant", help="Tenants kept apart (SEMSEARCH_MULTI_TENANT).")
    ] = None,
    as_json: JsonOption = False,
    api: ApiOption = None,
    milvus_uri: MilvusUriOption = None,
) -> None:
    """Create a collection that records its model and settings (the same again is a no-op; others: exit 2)."""
    chosen = {
        key: value
        for key, value in {
            "model": model,
            "chunk_tokens": chunk_tokens,
            "chunk_overlap": chunk_overlap,
            "keyword_window_tokens": keyword_window_tokens,
            "index": index,
            "query_prompt": query_prompt,
            "document_prompt": document_prompt,
            "multi_tenant": multi_tenant,
        }.items()
        if value is not None
    }
    settings = load_settings(milvus_uri=milvus_uri)
    with cli_errors():
        if api:
            body = _call(api, "POST", "/collections", api_key(settings), json={"name": name, **chosen})
        else:
            with Service(settings) as service:
                service.create(name, **chosen)
                body = service.describe(name)
    _print(body, as_json)


@app.command("show")
def show(
    name: NameArgument, as_json: JsonOption = False, api: ApiOption = None, milvus_uri: MilvusUriOption = None
) -> None:
    """One collection: model, settings, counts, capabilities and load state."""
    settings = load_settings(milvus_uri=milvus_uri)
    with cli_errors():
        if api:
            body = _call(api, "GET", f"/collections/{name}", api_key(settings, reading=True))
        else:
            with Service(settings) as service:
                body = service.describe(name)
    _print(body, as_json)


@app.command("drop")
def drop(
    name: NameArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Drop without asking (it deletes every document in it).")] = False,
    as_json: JsonOption = False,
    api: ApiOption = None,
    milvus_uri: MilvusUriOption = None,
) -> None:
    """Drop a collection and all its documents."""
    if not yes and not typer.confirm(f"drop collection {name!r} and every document in it?"):
        fail("not dropped (pass --yes to drop without asking)", EXIT_USAGE)
    settings = load_settings(milvus_uri=milvus_uri)
    with cli_errors():
        if api:
            body = _call(api, "DELETE", f"/collections/{name}", api_key(settings), json={"confirm": name})
        else:
            with Service(settings) as service:
                body = {"collection": name, "dropped": service.drop(name)}
    if as_json:
        typer.echo(json.dumps(body))
    else:
        typer.echo(f"dropped {name}: {', '.join(body['dropped'])}")


def _print(body: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(body))
        return
    for key, value in body.items():
        typer.echo(f"{key}: {json.dumps(value) if isinstance(value, dict | list) else value}")


def _call(api: str, method: str, path: str, key: str | None, json: dict[str, Any] | None = None) -> dict[str, Any]:
    """One call to a running API; its refusals exit as the engine's would (404: 4, other 4xx: 2, else 3)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        answer = httpx.request(method, f"{api.rstrip('/')}{path}", json=json, headers=headers, timeout=300)
    except httpx.HTTPError as exc:
        fail(f"cannot reach the API at {api}: {exc}", EXIT_BACKEND)
    if answer.status_code == 404:
        raise CollectionNotFound(_detail(answer))
    if answer.status_code >= 400:
        code = EXIT_USAGE if answer.status_code < 500 else EXIT_BACKEND
        fail(f"the API answered {answer.status_code}: {_detail(answer)}", code)
    return answer.json()


def _detail(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("detail", answer.text))
    except ValueError:
        return answer.text[:500]
