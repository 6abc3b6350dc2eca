"""The MCP server, driven by the MCP client of the same `mcp` package: `semsearch mcp` over stdio and streamable
HTTP as real subprocesses, and in process for the details (same answers as the HTTP API, errors as tool errors)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from search_api.mcp_server import build_server
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.indexer import Document
from semsearch.service import Service
from semsearch.settings import Settings
from tests.helpers import semsearch_bin, semsearch_server

DOCS = [
    Document(id="dice", text="Roll dice and flip coins to simulate games of chance.", source="games.md"),
    Document(id="money", text="Decimal arithmetic keeps cents exact when adding up prices.", source="money.md"),
    Document(id="sched", text="The scheduler runs a job later, at a moment you choose.", source="sched.md"),
]
QUERY = "calculate money amounts without losing cents to rounding errors"
KEY = "mcp-key"


@pytest.fixture
def collection(settings: Settings, embedder: Embedder) -> dict[str, str]:
    """DOCS in a Milvus Lite file that this process has closed again, so a subprocess can open it."""
    engine = Engine.open(settings, create=True, embedder=embedder)
    try:
        engine.indexer.index(DOCS)
    finally:
        engine.close()
    return {"SEMSEARCH_MILVUS_URI": settings.milvus_uri, "SEMSEARCH_COLLECTION": settings.collection}


async def use_tools(client: Client) -> dict[str, Any]:
    tools = await client.list_tools()
    found = await client.call_tool("search", {"query": QUERY, "top_k": 2, "mode": "dense"})
    context = await client.call_tool("get_context", {"query": QUERY, "token_budget": 64})
    return {"tools": {tool.name for tool in tools.tools}, "search": found, "context": context}


def check_answers(answers: dict[str, Any]) -> None:
    assert answers["tools"] == {"search", "get_context", "list_collections"}
    found = answers["search"]
    assert not found.is_error
    assert found.structured_content["results"][0]["doc_id"] == "money"
    assert found.structured_content["mode"] == "dense"
    context = answers["context"]
    assert not context.is_error
    assert context.structured_content["context"].startswith("[1] Decimal arithmetic keeps cents exact")
    assert "(source: money.md)" in context.structured_content["context"]
    assert context.structured_content["tokens"] <= 64


def test_semsearch_mcp_over_stdio(collection: dict[str, str], tmp_path: Path) -> None:
    params = StdioServerParameters(command=semsearch_bin(), args=["mcp"], env=collection, cwd=str(tmp_path))

    async def session() -> dict[str, Any]:
        async with Client(params, read_timeout_seconds=120) as client:
            return await use_tools(client)

    check_answers(asyncio.run(session()))


@pytest.fixture
def mcp_http(collection: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`semsearch mcp` over streamable HTTP; up once /mcp answers at all (a bare GET is not an MCP request)."""
    env = {**collection, "SEMSEARCH_API_KEY": KEY}
    with semsearch_server(
        "mcp", "--transport", "http", cwd=tmp_path, env=env, path="/mcp", ready=lambda response: True
    ) as base:
        yield f"{base}/mcp"


def test_semsearch_mcp_over_streamable_http_with_the_api_key(mcp_http: str) -> None:
    refused = httpx.post(mcp_http, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert refused.status_code == 401 and "API key" in refused.json()["detail"]

    async def session() -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {KEY}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=120) as http,
            Client(streamable_http_client(mcp_http, http_client=http)) as client,
        ):
            return await use_tools(client)

    check_answers(asyncio.run(session()))


def in_process(engine: Engine, tool: str, arguments: dict[str, Any], service: Service | None = None) -> Any:
    async def call() -> Any:
        async with Client(build_server(engine, service)) as client:
            return await client.call_tool(tool, arguments)

    return asyncio.run(call())


def test_the_search_tool_answers_what_post_search_answers(sample_engine: Engine, sample_client: TestClient) -> None:
    request = {
        "query": "roll dice and flip coins in a simulation",
        "top_k": 5,
        "mode": "dense",
        "group_by_document": True,
    }
    result = in_process(sample_engine, "search", request)
    api = sample_client.post("/search", json=request).json()
    assert [hit["id"] for hit in result.structured_content["results"]] == [hit["id"] for hit in api["results"]]
    assert result.structured_content["results"][0]["doc_id"] == "sample_data/library/random.md"


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("search", {"query": "x", "filter": {"colour": "red"}}, "colour"),
        ("search", {"query": "x", "top_k": 0}, "top_k"),
        ("search", {"query": "   "}, "query must contain non-whitespace text"),
        ("get_context", {"query": "x", "token_budget": 1}, "token_budget"),
        ("search", {"query": "x", "mode": "fuzzy"}, "mode"),
    ],
)
def test_bad_tool_arguments_are_tool_errors_with_the_apis_message(
    sample_engine: Engine, tool: str, arguments: dict, message: str
) -> None:
    result = in_process(sample_engine, tool, arguments)
    assert result.is_error
    assert message in result.content[0].text


def test_the_tools_search_the_collection_they_name_and_list_them(settings: Settings, embedder: Embedder) -> None:
    engine = Engine.open(settings, create=True, embedder=embedder)
    service = Service.beside(engine)
    try:
        service.create("money").add([DOCS[1]])
        other = in_process(engine, "search", {"query": QUERY, "collection": "money"}, service)
        assert [hit["doc_id"] for hit in other.structured_content["results"]] == ["money"]
        assert in_process(engine, "search", {"query": QUERY}, service).structured_content["results"] == []
        listed = in_process(engine, "list_collections", {}, service).structured_content
        assert listed["default"] == settings.collection
        assert {c["name"] for c in listed["collections"]} == {settings.collection, "money"}
        unknown = in_process(engine, "get_context", {"query": QUERY, "collection": "nope"}, service)
        assert unknown.is_error and "'nope'" in unknown.content[0].text
        assert sum(service.models.loads.values()) == 0  # the default collection's model, shared
    finally:
        service.close()
        engine.close()
