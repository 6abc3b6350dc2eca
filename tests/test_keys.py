"""Who may call what: the admin key (SEMSEARCH_API_KEY) opens everything, the read key (SEMSEARCH_READ_API_KEY) only
searching; browser origins (SEMSEARCH_CORS_ORIGINS); the Milvus token never shows. One real app per key setup."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from search_api.app import create_app
from semsearch.embedder import Embedder
from semsearch.settings import Settings

ADMIN, READER = "admin-key", "read-key"
READS = [("POST", "/search", {"query": "otters"}), ("POST", "/context", {"query": "otters"}), ("GET", "/ready", None)]
READS += [("POST", "/v1/embeddings", {"input": "otters", "model": "all-MiniLM-L6-v2"}), ("GET", "/v1/models", None)]
WRITES = [("POST", "/documents", {"documents": [{"id": "k", "text": "keys"}]}), ("DELETE", "/documents/k", None)]
WRITES += [("GET", "/metrics", None)]
Setup = tuple[TestClient, str | None, str | None]
SETUPS = {"admin only": (ADMIN, None), "read only": (None, READER), "both": (ADMIN, READER), "none": (None, None)}


@pytest.fixture(scope="module", params=SETUPS.keys())
def setup(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[Setup]:
    admin, reader = SETUPS[request.param]
    settings = Settings(
        milvus_uri=str(tmp_path_factory.mktemp("keys") / "k.db"),
        collection="keys",
        api_key=SecretStr(admin) if admin else None,
        read_api_key=SecretStr(reader) if reader else None,
        _env_file=None,
    )
    with TestClient(create_app(settings, embedder=embedder)) as client:
        yield client, admin, reader


def expected(admin: str | None, reader: str | None, sent: str | None, is_read: bool) -> int:
    """The rule, written out: 401 without a valid key; the read key on a write is 403; a read-only API (read key,
    no admin key) refuses every write with 403."""
    if admin is None and reader is None:
        return 200
    if sent is not None and sent == admin:
        return 200
    if sent is not None and sent == reader:
        return 200 if is_read else 403
    if not is_read and admin is None:
        return 403
    return 401


@pytest.mark.parametrize("sent", [None, "wrong", ADMIN, READER])
@pytest.mark.parametrize(
    ("method", "path", "body", "is_read"), [(*r, True) for r in READS] + [(*w, False) for w in WRITES]
)
def test_each_key_opens_exactly_its_paths(
    setup: Setup, sent: str | None, method: str, path: str, body: Any, is_read: bool
) -> None:
    client, admin, reader = setup
    headers = {"Authorization": f"Bearer {sent}"} if sent else {}
    response = client.request(method, path, json=body, headers=headers)
    status = expected(admin, reader, sent, is_read)
    got = response.status_code if response.status_code in (401, 403) else 200
    assert got == status, (method, path, sent, response.text)
    if status == 403:
        assert "SEMSEARCH_API_KEY" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/health", "/", "/static/search.js"])
def test_the_page_and_health_need_no_key(setup: Setup, path: str) -> None:
    assert setup[0].get(path).status_code == 200


def test_openapi_says_which_key_each_operation_takes(embedder: Embedder, tmp_path: Path) -> None:
    settings = Settings(
        milvus_uri=str(tmp_path / "o.db"), api_key=SecretStr(ADMIN), read_api_key=SecretStr(READER), _env_file=None
    )
    schema = create_app(settings, embedder=embedder).openapi()
    assert set(schema["components"]["securitySchemes"]) == {"bearer", "readKey"}
    assert schema["paths"]["/search"]["post"]["security"] == [{"bearer": []}, {"readKey": []}]
    assert schema["paths"]["/v1/embeddings"]["post"]["security"] == [{"bearer": []}, {"readKey": []}]
    assert schema["paths"]["/documents"]["post"]["security"] == [{"bearer": []}]
    assert schema["paths"]["/health"]["get"]["security"] == []


def test_a_browser_on_an_allowed_origin_may_call_the_api(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(
        milvus_uri=str(tmp_path / "c.db"),
        read_api_key=SecretStr(READER),
        cors_origins="https://app.example.org",  # as the environment gives it
        _env_file=None,
    )
    with TestClient(create_app(settings, embedder=embedder)) as client:
        preflight = {"origin": "https://app.example.org", "access-control-request-method": "POST"}
        allowed = client.options("/search", headers={**preflight, "access-control-request-headers": "authorization"})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.org"
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        other = client.options("/search", headers={**preflight, "origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        refused = client.post("/search", json={"query": "x"}, headers={"origin": "https://app.example.org"})
        assert refused.status_code == 401  # the browser can read why: the CORS headers are on errors too
        assert refused.headers["access-control-allow-origin"] == "https://app.example.org"
        assert "x-request-id" in refused.headers["access-control-expose-headers"].lower()


def test_no_cors_headers_unless_origins_are_configured(sample_client: TestClient) -> None:
    response = sample_client.get("/health", headers={"origin": "https://app.example.org"})
    assert "access-control-allow-origin" not in response.headers


def test_the_milvus_token_never_shows_in_a_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMSEARCH_MILVUS_TOKEN", "root:Milvus-s3cret")
    settings = Settings(_env_file=None)
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings.model_dump())
    assert settings.milvus_token is not None and settings.milvus_token.get_secret_value() == "root:Milvus-s3cret"
