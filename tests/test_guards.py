"""The API key and the request size limit, in front of every route."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from search_api.app import create_app
from semsearch.embedder import Embedder
from semsearch.settings import Settings

KEY = "s3cret-key"


@pytest.fixture
def guarded(settings: Settings, embedder: Embedder) -> Iterator[TestClient]:
    settings = settings.model_copy(update={"api_key": SecretStr(KEY), "max_request_bytes": 4_000})
    with TestClient(create_app(settings, embedder=embedder)) as client:
        yield client


def test_every_path_but_health_needs_the_api_key(guarded: TestClient) -> None:
    assert guarded.get("/health").status_code == 200
    for method, path in (("GET", "/ready"), ("POST", "/search"), ("GET", "/docs"), ("GET", "/openapi.json")):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
            response = guarded.request(method, path, headers=headers, json={"query": "x"})
            assert response.status_code == 401, (method, path, headers)
            assert "API key" in response.json()["detail"]
            assert response.headers["www-authenticate"] == "Bearer"
    ok = guarded.post("/search", json={"query": "x"}, headers={"Authorization": f"Bearer {KEY}"})
    assert ok.status_code == 200


def test_openapi_documents_the_bearer_scheme(guarded: TestClient) -> None:
    schema = guarded.get("/openapi.json", headers={"Authorization": f"Bearer {KEY}"}).json()
    assert schema["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert schema["paths"]["/search"]["post"]["security"] == [{"bearer": []}]
    assert schema["paths"]["/health"]["get"]["security"] == []


def test_an_oversized_body_is_413_and_nothing_is_written(guarded: TestClient) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    big = {"documents": [{"id": "big", "text": "word " * 2_000}]}
    response = guarded.post("/documents", json=big, headers=auth)
    assert response.status_code == 413, response.text
    assert "SEMSEARCH_MAX_REQUEST_BYTES" in response.json()["detail"]

    streamed = asyncio.run(_post_chunked(guarded.app, "/documents", json.dumps(big).encode(), auth))
    assert streamed[0] == 413 and b"SEMSEARCH_MAX_REQUEST_BYTES" in streamed[1], streamed
    assert guarded.get("/ready", headers=auth).json()["chunks"] == 0
    small = guarded.post("/documents", json={"documents": [{"id": "s", "text": "small"}]}, headers=auth)
    assert small.status_code == 200


async def _post_chunked(app, path: str, payload: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """Send a body in 1 kB ASGI messages with no Content-Length, as a chunked upload arrives."""
    pieces = [payload[i : i + 1_000] for i in range(0, len(payload), 1_000)]
    messages = [{"type": "http.request", "body": p, "more_body": i < len(pieces) - 1} for i, p in enumerate(pieces)]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
        "headers": [(b"content-type", b"application/json")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
