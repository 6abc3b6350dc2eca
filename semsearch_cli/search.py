"""`semsearch search`: a thin command over `KnowledgeBase.search`, or a running API's `POST /search` (`--api`).

With `--json` it prints the answer the API gives (`SearchAnswer.to_dict()`), field for field."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import typer
from pydantic import ValidationError
from rich.table import Table

from search_api.models import SearchRequest
from semsearch import queries
from semsearch.knowledge_base import KnowledgeBase
from semsearch.ranking import Mode
from semsearch_cli.exits import EXIT_BACKEND, EXIT_NOT_FOUND, EXIT_USAGE, cli_errors, fail, stderr
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
    named,
)
from semsearch_cli.output import stdout_console
from semsearch_cli.progress import spinner
from semsearch_cli.running import find_server, wait_until_loaded


def search(
    query: Annotated[str, typer.Argument(help="What to look for, in natural language.")],
    top_k: Annotated[int, typer.Option("-k", "--top-k", min=1, max=100, help="Number of hits.")] = 10,
    filter_: Annotated[
        list[str] | None,
        typer.Option("--filter", help='JSON object (\'{"format": "md"}\') or field=value; repeatable.'),
    ] = None,
    mode: Annotated[Mode | None, typer.Option(help="dense, keyword or hybrid (default: hybrid if supported).")] = None,
    offset: Annotated[int, typer.Option(min=0, help="Hits to skip (paging).")] = 0,
    min_score: Annotated[float | None, typer.Option(min=0, max=1, help="Drop hits scoring below this.")] = None,
    group: Annotated[bool, typer.Option("--group", help="One best chunk per document.")] = False,
    rerank: Annotated[bool, typer.Option("--rerank", help="Rerank with SEMSEARCH_RERANK_MODEL.")] = False,
    fusion: Annotated[
        str | None,
        typer.Option(
            help="Hybrid fusion: calibrated, rrf or weighted (default: the collection's, see `semsearch status`)."
        ),
    ] = None,
    rrf_k: Annotated[int | None, typer.Option(min=1, help="RRF constant k (default 60).")] = None,
    weights: Annotated[str | None, typer.Option(help="Weighted fusion: dense,keyword weights (0.5,0.5).")] = None,
    as_json: JsonOption = False,
    api: ApiOption = None,
    milvus_uri: MilvusUriOption = None,
    collection: CollectionOption = None,
    tenant: TenantOption = None,
    model: ModelOption = None,
) -> None:
    """Search the collection and print the best chunks (score 0..1, higher is better)."""
    try:
        request = SearchRequest(
            query=query,
            top_k=top_k,
            offset=offset,
            filter=parse_filters(filter_ or []),
            mode=mode,
            fusion=_fusion(fusion, rrf_k, weights),
            min_score=min_score,
            group_by_document=group,
            rerank=rerank,
            tenant=tenant,
        )
    except ValidationError as exc:
        fail(queries.problems(exc), EXIT_USAGE)
    settings = load_settings(milvus_uri=milvus_uri, collection=collection, model=model, tenant=tenant)
    request = request.model_copy(update={"tenant": settings.tenant})  # --tenant, else SEMSEARCH_TENANT
    with cli_errors():
        server = None if api else find_server(settings)  # a `semsearch serve` holding the .db: ask it
        if server is not None:
            api = server.url
            collection = None if settings.collection == server.collection else settings.collection
            if server.needs_api_key and settings.api_key is None:
                fail(f"the .db is served by {server.url}, which needs an API key: set SEMSEARCH_API_KEY", EXIT_BACKEND)
            stderr.print(f"searching through the running server at {server.url} (it holds the .db)", highlight=False)
        if api:
            with spinner(f"waiting for the API at {api}") as progress:
                wait_until_loaded(api, api_key(settings, reading=True), progress)
            url = api_url(api, collection)
            body = _search_api(url, request.model_dump(mode="json"), api_key(settings, reading=True))
        else:
            with spinner(lite=settings.is_lite, one_shot=True) as progress, named(collection):
                kb = KnowledgeBase.open(settings, create=False, on_progress=progress, keep=given(model=model))
            with kb:
                body = kb.search(request.query, **request.search_args()).to_dict()
    hits = body["results"]
    if as_json:
        typer.echo(json.dumps(body, ensure_ascii=False))
        return
    table = Table(title=f"top {top_k} for: {query}", show_lines=False)
    for column in ("#", "score", "doc_id", "chunk", "text"):
        table.add_column(column, justify="right" if column in ("#", "score", "chunk") else "left", overflow="fold")
    for rank, hit in enumerate(hits, 1):
        snippet = " ".join(hit["text"].split())[:160]
        table.add_row(str(rank), f"{hit['score']:.3f}", hit["doc_id"], str(hit["chunk_index"]), snippet)
    stdout_console().print(table)


def parse_filters(items: list[str]) -> dict[str, Any] | None:
    """Merge `--filter` options: JSON objects, or `field=value` where value is JSON if it parses, else a string."""
    merged: dict[str, Any] = {}
    for item in items:
        if item.lstrip().startswith("{"):
            try:
                parsed = json.loads(item)
            except json.JSONDecodeError as exc:
                fail(f"--filter is not valid JSON: {exc}", EXIT_USAGE)
            if not isinstance(parsed, dict):
                fail("--filter JSON must be an object", EXIT_USAGE)
            merged.update(parsed)
        elif "=" in item:
            field, raw = item.split("=", 1)
            try:
                merged[field.strip()] = json.loads(raw)
            except json.JSONDecodeError:
                merged[field.strip()] = raw
        else:
            fail(f"--filter {item!r}: use field=value or a JSON object", EXIT_USAGE)
    return merged or None


def _fusion(kind: str | None, rrf_k: int | None, weights: str | None) -> dict[str, Any] | None:
    """The request's fusion from the options given; None if none is (the collection's default then applies)."""
    given = {"type": kind, "k": rrf_k, "weights": _weights(weights) if weights is not None else None}
    return {key: value for key, value in given.items() if value is not None} or None


def _weights(text: str) -> tuple[float, float]:
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 2:
        fail("--weights must be two numbers: dense,keyword (e.g. 0.7,0.3)", EXIT_USAGE)
    return values[0], values[1]


def _search_api(base_url: str, request: dict[str, Any], api_key: str | None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.post(f"{base_url.rstrip('/')}/search", json=request, headers=headers, timeout=60)
    except httpx.HTTPError as exc:
        fail(f"cannot reach the API at {base_url}: {exc}", EXIT_BACKEND)
    if response.status_code != 200:
        code = EXIT_USAGE if 400 <= response.status_code < 500 else EXIT_BACKEND
        code = EXIT_NOT_FOUND if response.status_code == 404 else code  # e.g. no such collection
        fail(f"the API answered {response.status_code}: {response.text[:500]}", code)
    return response.json()
