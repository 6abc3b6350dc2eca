"""The HTTP API, spoken to over HTTP semantics with the real model and real Milvus Lite."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.helpers import SAMPLE_QUERIES


@pytest.mark.parametrize("case", SAMPLE_QUERIES, ids=[c["expected_doc_id"].split("/")[-1] for c in SAMPLE_QUERIES])
def test_sample_query_finds_the_expected_document_first(sample_client: TestClient, case: dict) -> None:
    """Dense search finds the document although it shares (almost) no words with the query."""
    response = sample_client.post("/search", json={"query": case["query"], "top_k": 5, "mode": "dense"})
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["doc_id"] == case["expected_doc_id"]


def test_the_demos_hybrid_zip_query_finds_the_zipfile_module_first(sample_client: TestClient) -> None:
    """scripts/demo.sh's example: tarfile.html also reads and writes archives (and names .zip files), and ranked
    first with 160-token chunks; the zipfile module is what was asked for."""
    body = {"query": "read and write zip archives", "top_k": 3, "mode": "hybrid", "group_by_document": True}
    response = sample_client.post("/search", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["doc_id"] == "sample_data/modules.csv:zipfile"


def test_search_response_has_scores_sources_and_metadata_best_first(sample_client: TestClient) -> None:
    body = sample_client.post("/search", json={"query": "parse command line options", "top_k": 7}).json()
    assert body["query"] == "parse command line options"
    assert body["took_ms"] > 0
    results = body["results"]
    assert len(results) == 7
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= s <= 1.0 for s in scores)
    first = results[0]
    assert set(first) >= {"id", "doc_id", "chunk_index", "score", "text", "source", "metadata", "char_start"}
    assert first["id"] == f"{first['doc_id']}#{first['chunk_index']}"
    assert first["source"].startswith("sample_data/")
    assert "argparse" in first["doc_id"] or "getopt" in first["doc_id"] or "optparse" in first["doc_id"]
    assert first["metadata"]["format"] in {"md", "txt", "html", "pdf", "csv", "jsonl"}


def test_search_filter_on_metadata_returns_only_matching_chunks(sample_client: TestClient) -> None:
    body = sample_client.post("/search", json={"query": "text encoding", "top_k": 20, "filter": {"format": "pdf"}})
    assert body.status_code == 200, body.text
    results = body.json()["results"]
    assert results
    assert {r["metadata"]["format"] for r in results} == {"pdf"}


def test_search_filter_with_in_operator_on_doc_id(sample_client: TestClient) -> None:
    wanted = ["sample_data/library/decimal.md", "sample_data/library/random.md"]
    response = sample_client.post(
        "/search", json={"query": "numbers", "top_k": 50, "filter": {"doc_id": {"$in": wanted}}}
    )
    assert response.status_code == 200, response.text
    assert {r["doc_id"] for r in response.json()["results"]} == set(wanted)


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"query": ""}, "query"),
        ({"query": "   \n\t "}, "query"),
        ({"query": "x", "top_k": 0}, "top_k"),
        ({"query": "x", "top_k": 101}, "top_k"),
        ({"query": "x", "top_k": "ten"}, "top_k"),
        ({"top_k": 3}, "query"),
    ],
)
def test_invalid_search_request_is_422_naming_the_field(sample_client: TestClient, payload: dict, problem: str) -> None:
    response = sample_client.post("/search", json=payload)
    assert response.status_code == 422
    assert problem in {str(part) for err in response.json()["detail"] for part in err["loc"]}


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"chunk_index": "zero"}, "chunk_index"),
        ({"doc_id": {"$in": "not-a-list"}}, "doc_id"),
        ({"format": {"$regex": "x"}}, "format"),
        ({"format": None}, "format"),
        ({"format": {"nested": {"deeper": 1}}}, "format"),
    ],
)
def test_bad_filter_is_400_naming_the_field(sample_client: TestClient, filters: dict, field: str) -> None:
    response = sample_client.post("/search", json={"query": "x", "filter": filters})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["field"] == field
    assert field in body["detail"]


def test_quoted_filter_value_cannot_change_the_expression(sample_client: TestClient) -> None:
    evil = 'x" or doc_id != "'
    response = sample_client.post("/search", json={"query": "python", "top_k": 10, "filter": {"doc_id": evil}})
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_health_and_ready_report_model_collection_and_capabilities(sample_client: TestClient) -> None:
    assert sample_client.get("/health").json() == {"status": "ok"}
    ready = sample_client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert body["dim"] == 384
    assert body["chunks"] >= 385  # at least one chunk per sample document
    assert body["capabilities"]["backend"] == "milvus-lite"


def test_openapi_documents_that_score_is_cosine_similarity(sample_client: TestClient) -> None:
    assert sample_client.get("/docs").status_code == 200
    schema = sample_client.get("/openapi.json").json()
    score = schema["components"]["schemas"]["SearchHit"]["properties"]["score"]
    assert "cosine similarity" in score["description"].lower()
    assert "higher is better" in score["description"].lower()


def test_documents_endpoint_ingests_updates_and_deletes(client: TestClient) -> None:
    long_text = " ".join(f"Sentence {i} is about penguins living on the ice of Antarctica." for i in range(120))
    docs = [
        {"id": "penguins", "text": long_text, "metadata": {"topic": "birds"}},
        {"id": "volcano", "text": "Lava erupts from the crater of the mountain.", "metadata": {"topic": "geology"}},
    ]
    first = client.post("/documents", json={"documents": docs})
    assert first.status_code == 200, first.text
    stats = first.json()
    assert stats["documents"] == 2 and stats["chunks"] > 3 and stats["embedded"] == stats["chunks"]

    again = client.post("/documents", json={"documents": docs}).json()
    assert again["embedded"] == 0 and again["unchanged"] == stats["chunks"] and again["deleted"] == 0

    hit = client.post("/search", json={"query": "flightless birds in the cold south", "top_k": 1}).json()["results"][0]
    assert hit["doc_id"] == "penguins" and hit["metadata"] == {"topic": "birds"} and hit["source"] == "api"

    docs[0]["text"] = long_text[:300]
    shorter = client.post("/documents", json={"documents": docs}).json()
    assert shorter["chunks"] == 2 and shorter["deleted"] == stats["chunks"] - 2

    filtered = client.post("/search", json={"query": "birds", "filter": {"topic": "geology"}}).json()["results"]
    assert [r["doc_id"] for r in filtered] == ["volcano"]

    assert client.delete("/documents/penguins").json() == {"doc_id": "penguins", "deleted": 1}
    assert client.delete("/documents/penguins").status_code == 404
    remaining = client.post("/search", json={"query": "penguins", "top_k": 10}).json()["results"]
    assert {r["doc_id"] for r in remaining} == {"volcano"}


@pytest.mark.parametrize(
    ("documents", "status"),
    [
        ([{"id": "a", "text": "one"}, {"id": "a", "text": "two"}], 400),
        ([{"id": "a", "text": "   "}], 422),
        ([{"id": "", "text": "text"}], 422),
        ([{"id": "a\nb", "text": "text"}], 422),
        ([{"id": "a", "text": "text", "metadata": {"bad key!": 1}}], 422),
        ([{"id": "a", "text": "text", "metadata": {"n": {"deep": [2**64]}}}], 400),
        ([], 422),
    ],
    ids=["duplicate-ids", "blank-text", "empty-id", "line-break-in-id", "bad-metadata-key", "int-over-64-bit", "none"],
)
def test_bad_documents_are_refused_and_nothing_is_written(client: TestClient, documents: list, status: int) -> None:
    """422: the body breaks the schema (FastAPI's list of problems); 400: valid JSON the engine refuses."""
    response = client.post("/documents", json={"documents": documents})
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list if status == 422 else str)
    assert client.get("/ready").json()["chunks"] == 0


@pytest.mark.parametrize("value", [True, "0.5", None])
def test_numbers_must_be_json_numbers(sample_client: TestClient, value: object) -> None:
    for body in ({"query": "x", "top_k": value}, {"query": "x", "min_score": value if value is not None else "x"}):
        assert sample_client.post("/search", json=body).status_code == 422, body


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_searching_an_empty_collection_returns_no_hits(client: TestClient, mode: str) -> None:
    response = client.post("/search", json={"query": "anything at all", "mode": mode})
    assert response.status_code == 200, response.text
    assert response.json()["results"] == []
