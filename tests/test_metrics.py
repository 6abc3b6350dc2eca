"""`GET /metrics`: scraped after real requests and parsed with Prometheus's own parser; the ingest CLI's counters."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from search_api.app import create_app
from semsearch.embedder import Embedder
from semsearch.settings import Settings
from tests.helpers import run_cli

DOCS = [
    {"id": "dice", "text": "Roll dice and flip coins to simulate games of chance."},
    {"id": "money", "text": "Decimal arithmetic keeps cents exact when adding prices."},
    {"id": "sched", "text": "Run a job later at a chosen time with an event scheduler."},
]


def scrape(client: TestClient, **kwargs) -> dict[tuple[str, frozenset], float]:
    """Every sample as {(name, labels): value}."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_requests_per_route_template_with_engine_time_and_ingest(client: TestClient) -> None:
    indexed = client.post("/documents", json={"documents": DOCS}).json()
    for query in ("games of chance", "exact money"):
        assert client.post("/search", json={"query": query, "mode": "hybrid"}).status_code == 200
    assert client.post("/search", json={"query": ""}).status_code == 422
    assert client.delete("/documents/no/such/doc").status_code == 404
    assert client.get("/no-such-path").status_code == 404
    duplicate = {"documents": [{"id": "twice", "text": "a"}, {"id": "twice", "text": "b"}]}
    assert client.post("/documents", json=duplicate).status_code == 400

    samples = scrape(client)
    requests = "semsearch_http_requests_total"
    assert value(samples, requests, method="POST", route="/search", status="200") == 2
    assert value(samples, requests, method="POST", route="/search", status="422") == 1
    assert value(samples, requests, method="POST", route="/documents", status="200") == 1
    assert value(samples, requests, method="POST", route="/documents", status="400") == 1
    assert value(samples, requests, method="DELETE", route="/documents/{doc_id:path}", status="404") == 1
    assert value(samples, requests, method="GET", route="unmatched", status="404") == 1
    assert not any(name == requests and ("route", "/documents/no/such/doc") in labels for name, labels in samples)
    latency = "semsearch_http_request_duration_seconds"
    assert value(samples, f"{latency}_count", method="POST", route="/search") == 3
    assert value(samples, f"{latency}_sum", method="POST", route="/search") > 0

    assert value(samples, "semsearch_embed_seconds_count", kind="query") == 2
    assert value(samples, "semsearch_embed_seconds_sum", kind="query") > 0
    assert value(samples, "semsearch_embedded_texts_total", kind="document") == indexed["embedded"]
    assert value(samples, "semsearch_milvus_seconds_count", operation="dense_search") == 2
    assert value(samples, "semsearch_milvus_seconds_count", operation="keyword_search") == 2
    assert value(samples, "semsearch_milvus_seconds_count", operation="store_chunks") >= 1  # the ingest's writes
    assert value(samples, "semsearch_ingested_documents_total") == 3
    assert value(samples, "semsearch_ingested_chunks_total") == indexed["chunks"]
    assert value(samples, "semsearch_ingest_failures_total") == 2


def test_each_app_counts_only_its_own_requests(settings: Settings, embedder: Embedder) -> None:
    with TestClient(create_app(settings, embedder=embedder)) as first:
        first.get("/health")
        assert value(scrape(first), "semsearch_http_requests_total", method="GET", route="/health", status="200") == 1
    with TestClient(create_app(settings, embedder=embedder)) as second:
        assert value(scrape(second), "semsearch_http_requests_total", method="GET", route="/health", status="200") == 0


def test_metrics_need_the_key_and_refused_requests_count_as_unmatched(settings: Settings, embedder: Embedder) -> None:
    keyed = settings.model_copy(update={"api_key": SecretStr("k")})
    with TestClient(create_app(keyed, embedder=embedder)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.post("/search", json={"query": "x"}).status_code == 401
        samples = scrape(client, headers={"Authorization": "Bearer k"})
    assert value(samples, "semsearch_http_requests_total", method="GET", route="unmatched", status="401") == 1
    assert value(samples, "semsearch_http_requests_total", method="POST", route="unmatched", status="401") == 1
    assert value(samples, "semsearch_http_requests_total", method="GET", route="/metrics", status="200") == 0


def test_ingest_cli_reports_the_same_counters(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for doc in DOCS:
        (folder / f"{doc['id']}.md").write_text(doc["text"])
    (folder / "empty.txt").write_text("")
    env = {"SEMSEARCH_MILVUS_URI": str(tmp_path / "m.db"), "SEMSEARCH_COLLECTION": "metrics"}

    result = run_cli("ingest", "docs", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stderr
    metrics = json.loads(result.stdout)["metrics"]
    assert (metrics["documents"], metrics["chunks"], metrics["failures"]) == (3, 3, 1)
    assert metrics["embedded_texts"] == 3 and metrics["embed_seconds"] > 0
    assert metrics["milvus_calls"] > 0 and metrics["milvus_seconds"] > 0

    table = run_cli("ingest", "docs", cwd=tmp_path, env=env)
    assert "metrics: 3 documents · 3 chunks · 1 failures · embed 0.00 s for 0 texts" in table.stdout, table.stdout
