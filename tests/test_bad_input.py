"""The bad-input matrix: one row per way a client can get a request wrong, each checked for its status code, a message
that names the problem, the error shape (`detail` + `request_id`, echoed in `X-Request-ID`), and that a refused
write left nothing behind. Real app, real model, real Milvus Lite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from semsearch.embedder import Embedder
from semsearch.indexer import Indexer
from semsearch.settings import Settings

MAX_BODY = 1_000_000
UNICODE_ID = "ünï©ødé 😀 \u202eevil"
QUOTED_ID = 'say "hi" \\ bye'
SEED = [
    {"id": "alpha", "text": "Penguins live in the southern hemisphere.", "metadata": {"tag": "birds"}},
    {"id": UNICODE_ID, "text": "Volcanoes erupt molten rock called lava.", "metadata": {"tag": "geology"}},
    {"id": QUOTED_ID, "text": "Glaciers carve valleys over thousands of years.", "metadata": {"tag": "geology"}},
]
END_MARKER = "zyzzogeton"


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    status: int
    names: tuple[str, ...] = ()  # words the message must contain
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hits: frozenset[str] | None = None  # for a 200 search: the only doc ids allowed in the answer


def search(status: int, names: tuple[str, ...] = (), hits: frozenset[str] | None = None, **body: Any) -> Row:
    return Row("POST", "/search", status, names, json={"query": "rocks and birds", **body}, hits=hits)


def documents(status: int, names: tuple[str, ...], *docs: dict[str, Any]) -> Row:
    return Row("POST", "/documents", status, names, json={"documents": list(docs)})


NOTHING = frozenset[str]()
MATRIX: dict[str, Row] = {
    "empty query": search(422, ("query", "at least 1 character"), query=""),
    "whitespace-only query": search(422, ("query", "non-whitespace"), query=" \t\n "),
    "100 kB query": search(422, ("query", "at most 4096 characters"), query="word " * 20_000),
    "top_k 0": search(422, ("top_k", "greater than or equal to 1"), top_k=0),
    "top_k -1": search(422, ("top_k", "greater than or equal to 1"), top_k=-1),
    "top_k 10^6": search(422, ("top_k", "less than or equal to 100"), top_k=10**6),
    "top_k 'ten'": search(422, ("top_k", "JSON number"), top_k="ten"),
    "top_k 2.5": search(422, ("top_k", "integer"), top_k=2.5),
    "unknown mode": search(422, ("mode", "'dense', 'keyword' or 'hybrid'"), mode="fuzzy"),
    "unknown filter field": search(400, ("filter field 'colour'", "unknown field", "tag"), filter={"colour": "red"}),
    "unknown filter operator": search(400, ("filter field 'tag'", "$like"), filter={"tag": {"$like": "b%"}}),
    "filter value of the wrong type": search(400, ("chunk_index",), filter={"chunk_index": "0 or 1==1"}),
    "filter value with a line break": search(400, ("doc_id", "line break"), filter={"doc_id": "a\nb"}),
    "filter not an object": search(422, ("filter", "valid dictionary"), filter=["tag", "birds"]),
    "filter value with quotes": search(200, hits=NOTHING, filter={"doc_id": 'alpha" or doc_id != "'}),
    "filter value with a backslash": search(200, hits=NOTHING, filter={"doc_id": "alpha\\"}),
    "filter value 'or 1==1'": search(200, hits=NOTHING, filter={"tag": "birds' or 1==1 or tag == '"}),
    "filter $in with 'or 1==1'": search(200, hits=frozenset({"alpha"}), filter={"doc_id": {"$in": ["alpha", "1==1"]}}),
    "filter value in unicode": search(200, hits=frozenset({UNICODE_ID}), filter={"doc_id": UNICODE_ID}),
    "filter value with quotes and backslashes": search(200, hits=frozenset({QUOTED_ID}), filter={"doc_id": QUOTED_ID}),
    "non-JSON body": Row("POST", "/search", 422, ("JSON decode error",), content=b'{"query": nope'),
    "JSON that is not an object": Row("POST", "/search", 422, ("valid dictionary",), json=["query"]),
    "wrong content type": Row(
        "POST",
        "/search",
        415,
        ("Content-Type", "application/json", "text/plain"),
        content=b"query=penguins",
        headers={"content-type": "text/plain"},
    ),
    "form body": Row(
        "POST",
        "/search",
        415,
        ("application/x-www-form-urlencoded",),
        content=b"query=penguins",
        headers={"content-type": "application/x-www-form-urlencoded"},
    ),
    "oversized body": search(413, ("larger than the limit", str(MAX_BODY)), padding="x" * (MAX_BODY + 1)),
    "no body": Row("POST", "/search", 422, ("body", "Field required")),
    "context budget 0": Row(
        "POST",
        "/context",
        422,
        ("token_budget", "greater than or equal to 16"),
        json={"query": "lava", "token_budget": 0},
    ),
    "wrong method": Row("GET", "/search", 405, ("Method Not Allowed",)),
    "unknown path": Row("GET", "/nowhere", 404, ("Not Found",)),
    "delete a missing document": Row("DELETE", "/documents/ghost", 404, ("no document with id 'ghost'",)),
    "duplicate ids in one batch": documents(
        400, ("'twin'", "more than once"), {"id": "twin", "text": "one"}, {"id": "twin", "text": "two"}
    ),
    "empty text": documents(422, ("text", "should match pattern"), {"id": "blank", "text": ""}),
    "whitespace-only text": documents(422, ("text",), {"id": "blank", "text": " \n\t "}),
    "text not a string": documents(422, ("text", "valid string"), {"id": "num", "text": 42}),
    "metadata not an object": documents(
        422, ("metadata", "valid dictionary"), {"id": "m", "text": "t", "metadata": [1]}
    ),
    "metadata key with spaces": documents(422, ("metadata",), {"id": "m", "text": "t", "metadata": {"a key": 1}}),
    "metadata integer over 64 bits": documents(
        400, ("metadata 'big'", "64-bit"), {"id": "m", "text": "t", "metadata": {"big": 2**70}}
    ),
    "metadata over 64 KiB": documents(
        400, ("metadata", "over 65536"), {"id": "m", "text": "t", "metadata": {"blob": "x" * 70_000}}
    ),
    "metadata nested too deep": documents(
        400,
        ("metadata 'deep'", "deeper than 16"),
        {"id": "m", "text": "t", "metadata": {"deep": json.loads("[" * 20 + "]" * 20)}},
    ),
    "no documents": documents(422, ("documents", "at least 1 item")),
    "misspelled search field": search(422, ("body.topk", "Extra inputs are not permitted"), topk=3),
    "misspelled fusion field": search(422, ("fusion.weight", "Extra inputs"), fusion={"type": "rrf", "weight": 1}),
    "misspelled context field": Row(
        "POST", "/context", 422, ("body.budget", "Extra inputs"), json={"query": "lava", "budget": 100}
    ),
    "unknown document field": documents(
        422, ("documents.0.title", "Extra inputs"), {"id": "x", "text": "t", "title": "T"}
    ),
    "unknown documents-request field": Row(
        "POST",
        "/documents",
        422,
        ("body.upsert", "Extra inputs"),
        json={"documents": [{"id": "x", "text": "t"}], "upsert": True},
    ),
    "embeddings field OpenAI does not define": Row(
        "POST",
        "/v1/embeddings",
        422,
        ("body.truncate", "Extra inputs"),
        json={"input": "lava", "model": "all-MiniLM-L6-v2", "truncate": True},
    ),
}
NAN_METADATA = b'{"documents": [{"id": "nan", "text": "t", "metadata": {"ratio": NaN}}]}'
MATRIX["metadata NaN"] = Row("POST", "/documents", 400, ("metadata 'ratio'", "nan"), content=NAN_METADATA)


@pytest.fixture(scope="module")
def matrix_client(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("matrix") / "milvus.db"
    settings = Settings(milvus_uri=str(db), collection="matrix", max_request_bytes=MAX_BODY, _env_file=None)
    with TestClient(create_app(settings, embedder=embedder)) as client:
        client.post("/documents", json={"documents": SEED}).raise_for_status()
        yield client


def message(body: dict[str, Any]) -> str:
    detail = body["detail"]
    if isinstance(detail, list):  # 422: FastAPI's problems, each with where (loc) and what (msg)
        return " | ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in detail)
    return detail


@pytest.mark.parametrize("row", MATRIX.values(), ids=MATRIX.keys())
def test_bad_input_gets_a_clear_answer_and_changes_nothing(matrix_client: TestClient, row: Row) -> None:
    before = matrix_client.get("/ready").json()["chunks"]
    response = matrix_client.request(row.method, row.path, json=row.json, content=row.content, headers=row.headers)
    assert response.status_code == row.status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    if row.status >= 400:
        assert body["request_id"] == response.headers["x-request-id"]
        text = message(body)
        for name in row.names:
            assert name in text, f"{name!r} not in {text!r}"
        assert "Traceback" not in response.text
        assert matrix_client.get("/ready").json()["chunks"] == before
    if row.hits is not None:
        assert {hit["doc_id"] for hit in body["results"]} == row.hits


def test_a_huge_text_is_chunked_whole_not_truncated(matrix_client: TestClient) -> None:
    words = [f"sentence {i} of a very long report about rivers." for i in range(2_000)]
    text = " ".join(words) + f" The last word is {END_MARKER}."
    response = matrix_client.post("/documents", json={"documents": [{"id": "huge", "text": text}]})
    assert response.status_code == 200, response.text
    assert response.json()["chunks"] > 30
    hits = matrix_client.post(
        "/search", json={"query": END_MARKER, "mode": "keyword", "filter": {"doc_id": "huge"}, "top_k": 1}
    ).json()["results"]
    assert hits, "the end of the text was not stored"
    assert END_MARKER in hits[0]["text"]
    assert hits[0]["char_end"] == len(text)


def test_a_caller_request_id_is_kept_and_a_bad_one_replaced(matrix_client: TestClient) -> None:
    kept = matrix_client.post("/search", json={"query": ""}, headers={"x-request-id": "trace-42.a"})
    assert kept.headers["x-request-id"] == "trace-42.a" == kept.json()["request_id"]
    replaced = matrix_client.get("/health", headers={"x-request-id": "bad id\twith spaces"})
    assert replaced.headers["x-request-id"] not in ("", "bad id\twith spaces")
    ok = matrix_client.get("/health")
    assert len(ok.headers["x-request-id"]) == 16


def test_an_unexpected_error_is_a_json_500_logged_once_with_its_request_id(
    tmp_path: Path, embedder: Embedder, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug inside a route (injected: no real input reaches one) never shows a trace to the client."""

    def bug(self: Indexer, docs: list) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(Indexer, "index", bug)
    settings = Settings(milvus_uri=str(tmp_path / "m.db"), collection="crash", _env_file=None)
    app = create_app(settings, embedder=embedder)
    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level("ERROR", logger="search_api"):
        response = client.post("/documents", json={"documents": [{"id": "a", "text": "text"}]})
    assert response.status_code == 500
    rid = response.headers["x-request-id"]
    assert response.json() == {
        "detail": f"internal error; the server log has the details under request id {rid}",
        "request_id": rid,
    }
    logged = [r for r in caplog.records if rid in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info
