"""`semsearch search` and `semsearch serve`: thin commands over the searcher and the FastAPI app."""

from __future__ import annotations

import json
from dataclasses import asdict
from enum import StrEnum
from typing import Annotated, Any

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from search_api.models import SearchRequest
from semsearch.console import (
    EXIT_BACKEND,
    EXIT_USAGE,
    ApiOption,
    CollectionOption,
    MilvusUriOption,
    ModelOption,
    cli_errors,
    fail,
    load_settings,
)
from semsearch.engine import Engine
from semsearch.ranking import Mode


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
    fusion: Annotated[str, typer.Option(help="Hybrid fusion: rrf or weighted.")] = "rrf",
    rrf_k: Annotated[int, typer.Option(min=1, help="RRF constant k.")] = 60,
    weights: Annotated[str, typer.Option(help="Weighted fusion: dense,keyword weights.")] = "0.5,0.5",
    as_json: Annotated[bool, typer.Option("--json", help="Print the response as JSON.")] = False,
    api: ApiOption = None,
    milvus_uri: MilvusUriOption = None,
    collection: CollectionOption = None,
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
            fusion={"type": fusion, "k": rrf_k, "weights": _weights(weights)},
            min_score=min_score,
            group_by_document=group,
            rerank=rerank,
        )
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()), EXIT_USAGE)
    settings = load_settings(milvus_uri=milvus_uri, collection=collection, model=model)
    with cli_errors():
        if api:
            key = settings.api_key.get_secret_value() if settings.api_key else None
            body = _search_api(api, request.model_dump(mode="json"), key)
        else:
            engine = Engine.open(settings, create=False)
            try:
                result = engine.searcher.search(query, request.to_options())
                body = {"query": query, "mode": result.mode.value, "results": [asdict(hit) for hit in result.hits]}
            finally:
                engine.close()
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
    Console().print(table)


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    milvus_uri: MilvusUriOption = None,
    collection: CollectionOption = None,
    model: ModelOption = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the HTTP API (FastAPI under uvicorn); OpenAPI docs at /docs."""
    import uvicorn

    from search_api.app import create_app

    settings = load_settings(milvus_uri=milvus_uri, collection=collection, model=model)
    with cli_errors():
        engine = Engine.open(settings, create=True)
    uvicorn.run(create_app(engine=engine), host=host, port=port, log_level=log_level)


class McpTransport(StrEnum):
    STDIO = "stdio"
    HTTP = "http"


def mcp(
    transport: Annotated[
        McpTransport, typer.Option(help="stdio (an agent starts this command) or http (streamable HTTP).")
    ] = McpTransport.STDIO,
    host: Annotated[str, typer.Option(help="Interface to bind (http).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (http); the endpoint is /mcp.")] = 8001,
    milvus_uri: MilvusUriOption = None,
    collection: CollectionOption = None,
    model: ModelOption = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level (http).")] = "warning",
) -> None:
    """Serve the MCP tools `search` and `get_context` (same engine and settings as the API)."""
    settings = load_settings(milvus_uri=milvus_uri, collection=collection, model=model)
    with cli_errors():
        engine = Engine.open(settings, create=False)
    from search_api import mcp_server  # the mcp package takes a while to import; only this command needs it

    key = settings.api_key.get_secret_value() if settings.api_key else None
    try:
        mcp_server.run(engine, transport.value, host=host, port=port, api_key=key, log_level=log_level)
    finally:
        engine.close()


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
        fail(f"the API answered {response.status_code}: {response.text[:500]}", code)
    return response.json()
