"""`semsearch search` and `semsearch serve`: thin commands over the searcher and the FastAPI app."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

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


def search(
    query: Annotated[str, typer.Argument(help="What to look for, in natural language.")],
    top_k: Annotated[int, typer.Option("-k", "--top-k", min=1, max=100, help="Number of hits.")] = 10,
    filter_: Annotated[
        list[str] | None,
        typer.Option("--filter", help='JSON object (\'{"format": "md"}\') or field=value; repeatable.'),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the response as JSON.")] = False,
    api: ApiOption = None,
    milvus_uri: MilvusUriOption = None,
    collection: CollectionOption = None,
    model: ModelOption = None,
) -> None:
    """Search the collection and print the best chunks (score = cosine similarity, higher is better)."""
    if not query.strip():
        fail("the query is empty", EXIT_USAGE)
    filters = parse_filters(filter_ or [])
    with cli_errors():
        if api:
            hits = _search_api(api, query, top_k, filters)
        else:
            settings = load_settings(milvus_uri=milvus_uri, collection=collection, model=model)
            engine = Engine.open(settings, create=False)
            try:
                hits = [asdict(hit) for hit in engine.searcher.search(query, top_k, filters)]
            finally:
                engine.close()
    if as_json:
        typer.echo(json.dumps({"query": query, "results": hits}, ensure_ascii=False))
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


def _search_api(base_url: str, query: str, top_k: int, filters: dict[str, Any] | None) -> list[dict[str, Any]]:
    try:
        response = httpx.post(
            f"{base_url.rstrip('/')}/search", json={"query": query, "top_k": top_k, "filter": filters}, timeout=60
        )
    except httpx.HTTPError as exc:
        fail(f"cannot reach the API at {base_url}: {exc}", EXIT_BACKEND)
    if response.status_code != 200:
        code = EXIT_USAGE if 400 <= response.status_code < 500 else EXIT_BACKEND
        fail(f"the API answered {response.status_code}: {response.text[:500]}", code)
    return response.json()["results"]
