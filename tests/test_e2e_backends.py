"""The same end-to-end contract on both backends: Milvus Lite (embedded) and a real Milvus server (2.3.5).

Files are ingested through the real pipeline, searched through the real API (ASGI) with the real model.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.loaders import TableOptions
from ingest.pipeline import IngestReport, ingest_files
from ingest.sinks import EngineSink
from search_api.app import create_app
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.settings import Settings
from semsearch.store.capabilities import physical_name
from tests.helpers import borrow_engine
from tests.milvus_server import MilvusServer

DOCS = {
    "whales.md": "# Whales\n\nHumpback whales sing long, complex songs that travel for kilometres under the sea.",
    "bread.txt": "Sourdough bread rises because wild yeast and lactic bacteria ferment the flour and water.",
    "rust.md": "# Rust\n\nThe borrow checker rejects programs where a value is mutated while it is still borrowed.",
}


@pytest.fixture(params=["lite", pytest.param("server", marks=pytest.mark.server)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for a fresh collection on Milvus Lite or on the session's Milvus server."""
    if request.param == "lite":
        return Settings(milvus_uri=str(tmp_path / "milvus.db"), collection="e2e", _env_file=None)
    server: MilvusServer = request.getfixturevalue("milvus_server")
    return Settings(milvus_uri=server.uri, collection=f"e2e_{uuid.uuid4().hex[:12]}", _env_file=None)


@pytest.fixture
def e2e(backend: Settings, embedder: Embedder, tmp_path: Path) -> Iterator[tuple[Engine, TestClient, Path]]:
    """An engine on the backend, the API over that same engine, and a folder of documents to ingest."""
    engine = Engine.open(backend, create=True, embedder=embedder)
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text)
    try:
        with TestClient(borrow_engine(create_app(engine=engine), engine)) as client:
            yield engine, client, folder
    finally:
        _drop(engine)
        engine.close()


def _drop(engine: Engine) -> None:
    store = engine.store
    if store.capabilities.aliases:
        store.client.drop_alias(store.collection)
    store.client.drop_collection(store.target)
    store.client.drop_collection(f"{store.collection}__keys")


def _ingest(engine: Engine, folder: Path) -> IngestReport:
    report = ingest_files(sorted(folder.iterdir()), EngineSink(engine), TableOptions())
    assert not report.failures, report.failures
    return report


def _ids(engine: Engine) -> set[str]:
    return {row["id"] for row in engine.store.scan("", ["id"])}


def test_ingest_stores_every_chunk_and_search_finds_by_meaning(e2e: tuple[Engine, TestClient, Path]) -> None:
    engine, client, folder = e2e
    report = _ingest(engine, folder)
    assert report.stats.documents == 3 and report.stats.embedded == report.stats.chunks == 3
    assert engine.store.count() == 3
    body = client.post("/search", json={"query": "ocean mammal music", "top_k": 3, "mode": "dense"}).json()
    assert body["results"][0]["doc_id"].endswith("whales.md")
    assert body["results"][0]["score"] > body["results"][1]["score"]


def test_reingest_of_unchanged_files_embeds_and_writes_nothing(e2e: tuple[Engine, TestClient, Path]) -> None:
    engine, _, folder = e2e
    _ingest(engine, folder)
    before = _ids(engine)
    again = _ingest(engine, folder)
    assert again.stats.embedded == 0 and again.stats.unchanged == 3 and again.stats.deleted == 0
    assert _ids(engine) == before and engine.store.count() == 3


def test_a_changed_document_gets_its_chunks_replaced(e2e: tuple[Engine, TestClient, Path]) -> None:
    engine, client, folder = e2e
    _ingest(engine, folder)
    long_text = " ".join(f"Fermentation step {i} makes the dough sour and airy." for i in range(120))
    (folder / "bread.txt").write_text(long_text)
    report = _ingest(engine, folder)
    bread = [
        row for row in engine.store.scan("", ["doc_id", "chunk_index", "text"]) if row["doc_id"].endswith("bread.txt")
    ]
    assert len(bread) > 1 and report.stats.embedded == len(bread)
    assert sorted(row["chunk_index"] for row in bread) == list(range(len(bread)))
    assert not any("wild yeast" in row["text"] for row in bread)
    (folder / "bread.txt").write_text(DOCS["bread.txt"])
    shrunk = _ingest(engine, folder)
    assert shrunk.stats.deleted == len(bread) - 1 and engine.store.count() == 3
    hit = client.post("/search", json={"query": "wild yeast", "top_k": 1, "mode": "dense"}).json()["results"][0]
    assert hit["doc_id"].endswith("bread.txt") and "wild yeast" in hit["text"]


def test_filters_select_by_metadata_and_doc_id(e2e: tuple[Engine, TestClient, Path]) -> None:
    engine, client, folder = e2e
    _ingest(engine, folder)
    md = client.post("/search", json={"query": "anything", "top_k": 10, "mode": "dense", "filter": {"format": "md"}})
    assert md.status_code == 200, md.text
    assert {hit["doc_id"].split("/")[-1] for hit in md.json()["results"]} == {"whales.md", "rust.md"}
    wanted = next(doc for doc in {row["doc_id"] for row in engine.store.scan("", ["doc_id"])} if "rust" in doc)
    one = client.post(
        "/search", json={"query": "anything", "top_k": 10, "mode": "dense", "filter": {"doc_id": {"$in": [wanted]}}}
    ).json()["results"]
    assert [hit["doc_id"] for hit in one] == [wanted]
    unknown = client.post("/search", json={"query": "x", "filter": {"colour": "red"}})
    assert unknown.status_code == 400 and "colour" in unknown.json()["detail"]


def test_delete_removes_every_chunk_of_the_document(e2e: tuple[Engine, TestClient, Path]) -> None:
    engine, client, folder = e2e
    _ingest(engine, folder)
    whales = next(doc for doc in {row["doc_id"] for row in engine.store.scan("", ["doc_id"])} if "whales" in doc)
    assert client.delete(f"/documents/{whales}").status_code == 200
    assert client.delete(f"/documents/{whales}").status_code == 404
    assert engine.store.count() == 2
    hits = client.post("/search", json={"query": "whale songs", "top_k": 5, "mode": "dense"}).json()["results"]
    assert whales not in {hit["doc_id"] for hit in hits}


def test_ready_reports_the_backend_and_what_it_can_do(e2e: tuple[Engine, TestClient, Path]) -> None:
    engine, client, _ = e2e
    body = client.get("/ready").json()
    capabilities = body["capabilities"]
    if engine.settings.is_lite:
        assert capabilities == {
            "backend": "milvus-lite",
            "version": "2.5.1",
            "bm25": True,
            "dense_index": "AUTOINDEX",
            "aliases": False,
        }
        assert engine.store.target == engine.store.collection
    else:
        assert capabilities == {
            "backend": "milvus-server",
            "version": "v2.3.5-lite",
            "bm25": False,
            "dense_index": "HNSW",
            "aliases": True,
        }
        # The configured name is an alias of a physical collection named after the model.
        assert engine.store.target == physical_name(engine.store.collection, engine.embedder.model_id)
        assert engine.store.client.describe_alias(engine.store.collection)["collection_name"] == engine.store.target
    assert body["collection"] == engine.store.collection and body["chunks"] == 0


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_keyword_modes_run_where_bm25_exists_and_answer_400_naming_the_version_where_not(
    e2e: tuple[Engine, TestClient, Path], mode: str
) -> None:
    engine, client, folder = e2e
    _ingest(engine, folder)
    response = client.post("/search", json={"query": "borrow checker", "top_k": 2, "mode": mode})
    if engine.store.capabilities.bm25:
        assert response.status_code == 200, response.text
        assert response.json()["results"][0]["doc_id"].endswith("rust.md")
    else:
        assert response.status_code == 400
        detail = response.json()["detail"]
        assert "Milvus >= 2.5" in detail and "v2.3.5" in detail and "dense" in detail
    default = client.post("/search", json={"query": "borrow checker", "top_k": 1}).json()
    assert default["mode"] == ("hybrid" if engine.store.capabilities.bm25 else "dense")


def test_data_milvus_refuses_is_a_400_naming_the_document_not_a_503(e2e: tuple[Engine, TestClient, Path]) -> None:
    _, client, _ = e2e
    doc = {"id": "huge", "text": "a number too big for Milvus", "metadata": {"n": 2**70}}
    response = client.post("/documents", json={"documents": [doc]})
    assert response.status_code == 400, response.text
    assert "'huge'" in response.json()["detail"] and "64-bit" in response.json()["detail"]
