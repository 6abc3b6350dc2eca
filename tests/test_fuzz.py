"""Fuzz the HTTP API from its own OpenAPI schema: real uvicorn server, real model, real Milvus Lite.

Every operation gets a bounded number of generated requests; each response must not be a server error and must match
the documented status codes, content types and schemas.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from search_api.app import create_app
from semsearch.settings import Settings
from tests.helpers import semsearch_server

schema = schemathesis.openapi.from_dict(create_app(Settings(_env_file=None)).openapi())


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("fuzz")
    env = {"SEMSEARCH_MILVUS_URI": str(folder / "fuzz.db"), "SEMSEARCH_COLLECTION": "fuzz"}
    with semsearch_server("serve", "--log-level", "error", cwd=folder, env=env) as base:
        docs = [
            {"id": f"doc-{i}", "text": f"Document {i} about topic {i % 3}.", "metadata": {"n": i}} for i in range(5)
        ]
        httpx.post(f"{base}/documents", json={"documents": docs}, timeout=60).raise_for_status()
        yield base


@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_answers_every_generated_request_without_server_errors_and_as_documented(
    case: schemathesis.Case, fuzz_server: str
) -> None:
    case.call_and_validate(base_url=fuzz_server, timeout=60)
