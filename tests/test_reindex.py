"""`semsearch reindex`: a model swap that searches do not notice, then switch to at once."""

from __future__ import annotations

import json
import threading
import time
import uuid
from itertools import pairwise
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Dense

import semsearch
from search_api.app import create_app
from semsearch.chunking import split_document
from semsearch.default_fusion import save_default_fusion
from semsearch.embedder import Embedder, resolve_model_path
from semsearch.engine import Engine
from semsearch.indexer import Document
from semsearch.ranking import Fusion
from semsearch.reindex import rebuild_text
from semsearch.settings import DEFAULT_MODEL, Settings
from semsearch.store.capabilities import physical_name
from semsearch.store.schema import ModelRecord, build_index_params, build_schema
from tests.helpers import SAMPLE_DATA, run_cli
from tests.milvus_server import MilvusServer


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> str:
    """A second, genuinely different local model: the MiniLM encoder with a 64-d head, saved like a user's own."""
    base = SentenceTransformer(resolve_model_path(DEFAULT_MODEL), device="cpu")  # torch modules, whatever the backend
    path = tmp_path_factory.mktemp("models") / "minilm-64"
    SentenceTransformer(modules=[base[0], base[1], Dense(in_features=embedder.dim, out_features=64)]).save(str(path))
    return str(path)


def test_a_document_rebuilt_from_its_chunks_chunks_the_same_way(embedder: Embedder) -> None:
    text = "\n\n  " + (SAMPLE_DATA / "library" / "decimal.md").read_text()[:6000] + "\n"
    chunks = split_document("d", text, embedder.tokenizer, 64, 16)
    rows = [vars(chunk) for chunk in reversed(chunks)]  # order must not matter
    rebuilt = rebuild_text(rows)
    assert len(chunks) > 5
    assert all(rebuilt[c.char_start : c.char_end] == c.text for c in chunks)  # offsets still cite the source
    assert split_document("d", rebuilt, embedder.tokenizer, 64, 16) == chunks


def test_reindex_on_milvus_lite_is_refused_saying_it_needs_a_server(tmp_path: Path) -> None:
    result = run_cli("reindex", "--model", "any-model", cwd=tmp_path, env={"SEMSEARCH_MILVUS_URI": "m.db"})
    assert result.returncode == 2
    assert "reindex needs collection aliases" in result.stderr and "milvus-lite" in result.stderr
    assert "Traceback" not in result.stderr


def _corpus() -> list[Document]:
    paths = sorted((SAMPLE_DATA / "library").glob("*.md"))[:30]
    return [Document(id=path.name, text=path.read_text(), source=str(path)) for path in paths]


@pytest.mark.server
def test_reindex_swaps_the_model_while_searches_keep_answering(
    milvus_server: MilvusServer, embedder: Embedder, small_model: str, tmp_path: Path
) -> None:
    settings = Settings(
        milvus_uri=milvus_server.uri, collection=f"swap_{uuid.uuid4().hex[:8]}", alias_check_seconds=0.5, _env_file=None
    )
    seed = Engine.open(settings, create=True, embedder=embedder)
    seed.indexer.index(_corpus())
    save_default_fusion(seed.store, Fusion(k=7))  # kept with the collection's name: it carries over
    old = seed.store.target
    old_ids = {row["id"] for row in seed.store.scan("", ["id"])}
    seed.close()
    client = milvus_server.client()
    env = {"SEMSEARCH_MILVUS_URI": settings.milvus_uri, "SEMSEARCH_COLLECTION": settings.collection}

    with TestClient(create_app(settings, embedder=embedder)) as api:
        outcomes: list[tuple[float, int]] = []
        stop = threading.Event()

        def search_loop() -> None:
            while not stop.is_set():
                response = api.post("/search", json={"query": "decimal arithmetic", "top_k": 3, "mode": "dense"})
                outcomes.append((time.monotonic(), response.status_code))

        loop = threading.Thread(target=search_loop)
        loop.start()
        try:
            result = run_cli("reindex", "--model", small_model, "--json", cwd=tmp_path, env=env, timeout=600)
            assert result.returncode == 0, result.stderr
            report = json.loads(result.stdout)
            deadline = time.monotonic() + 60
            while api.get("/ready").json().get("model") != small_model and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)  # a few searches on the new engine too
        finally:
            stop.set()
            loop.join()

        ready = api.get("/ready").json()
        assert ready["model"] == small_model and ready["dim"] == 64
        assert ready["fusion"]["source"] == "saved" and ready["fusion"]["name"] == "rrf k=7"
        assert report["fusion"].startswith("rrf k=7 (saved default, carried over")
        statuses = [status for _, status in outcomes]
        times = [at for at, _ in outcomes]
        gaps = [later - earlier for earlier, later in pairwise(times)]
        print(f"\nreindex: {len(statuses)} searches during the swap, longest gap {max(gaps) * 1000:.0f} ms")
        assert statuses.count(200) == len(statuses) > 10, f"failed searches: {[s for s in statuses if s != 200]}"
        hit = api.post("/search", json={"query": "decimal arithmetic", "top_k": 1, "mode": "dense"}).json()
        assert hit["results"]

        new = physical_name(settings.collection, small_model)
        assert report["switched"] is True and report["old"] == old and report["new"] == new
        assert report["documents"] == 30 and report["embedded"] == len(old_ids)
        assert client.describe_alias(settings.collection)["collection_name"] == new
        new_ids = {row["id"] for row in client.query(new, filter="", output_fields=["id"], limit=16_384)}
        assert new_ids == old_ids  # same tokenizer: the rebuilt documents chunk exactly as before
        assert client.has_collection(old)  # kept for a rollback

        again = run_cli("reindex", "--model", small_model, "--drop-old", "--json", cwd=tmp_path, env=env)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["dropped"] == [old] and not client.has_collection(old)
        assert api.post("/search", json={"query": "decimal", "top_k": 1, "mode": "dense"}).status_code == 200

    client.drop_alias(settings.collection)
    for name in (new, f"{settings.collection}__keys"):
        client.drop_collection(name)
    client.close()


@pytest.mark.server
def test_reindex_moves_a_legacy_plain_collection_behind_an_alias(
    milvus_server: MilvusServer, embedder: Embedder, small_model: str, tmp_path: Path
) -> None:
    """A collection made on a server before names became aliases is a plain collection called `name`."""
    name = f"legacy_{uuid.uuid4().hex[:8]}"
    client = milvus_server.client()
    record = ModelRecord(embedder.model_id, embedder.dim)
    client.create_collection(
        name,
        schema=build_schema(embedder.dim, record, bm25=False),
        index_params=build_index_params(client, "HNSW", bm25=False),
    )
    settings = Settings(milvus_uri=milvus_server.uri, collection=name, _env_file=None)
    legacy = Engine.open(settings, create=False, embedder=embedder)
    assert legacy.store.target == name
    legacy.indexer.index(_corpus()[:3])
    ids = {row["id"] for row in legacy.store.scan("", ["id"])}
    legacy.close()

    env = {"SEMSEARCH_MILVUS_URI": settings.milvus_uri, "SEMSEARCH_COLLECTION": name}
    result = run_cli("reindex", "--model", small_model, "--drop-old", "--grace", "0", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["old"] == physical_name(name, embedder.model_id) and report["dropped"] == [report["old"]]
    assert client.describe_alias(name)["collection_name"] == report["new"] == physical_name(name, small_model)
    assert {row["id"] for row in client.query(name, filter="", output_fields=["id"], limit=100)} == ids
    client.drop_alias(name)
    for collection in (report["new"], f"{name}__keys"):
        client.drop_collection(collection)
    client.close()


@pytest.mark.server
def test_reindex_keeps_what_the_collection_records_and_its_tenants_apart(
    milvus_server: MilvusServer, embedder: Embedder, small_model: str, tmp_path: Path
) -> None:
    """A collection made with its own settings (`collections create`) and tenants, reindexed by a process whose
    environment says otherwise: the new collection records the same settings, is chunked with them, and keeps
    every tenant's documents in that tenant's scope."""
    name = f"kept_{uuid.uuid4().hex[:8]}"
    docs = _corpus()[:4]
    with semsearch.Service(milvus_server.uri, _env_file=None) as service:
        service.models.adopt(embedder, service.settings)
        made = service.create(name, chunk_tokens=64, chunk_overlap=8, index="FLAT", multi_tenant=True)
        made.for_tenant("north").add(docs[:2])
        made.for_tenant("south").add(docs[2:])
        recorded = service.describe(name)["settings"]
        before = {t: sorted((d.doc_id, d.chunks) for d in made.for_tenant(t).documents()) for t in ("north", "south")}
    assert recorded["chunk_tokens"] == 64 and recorded["multi_tenant"] is True

    env = {"SEMSEARCH_MILVUS_URI": milvus_server.uri, "SEMSEARCH_COLLECTION": name, "SEMSEARCH_CHUNK_TOKENS": "200"}
    result = run_cli("reindex", "--model", small_model, "--drop-old", "--grace", "0", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["switched"] is True and report["documents"] == 4

    client = milvus_server.client()
    assert client.describe_index(report["new"], "embedding")["index_type"] == "FLAT"
    with semsearch.Service(milvus_server.uri, _env_file=None) as service:
        shown = service.describe(name)
        assert shown["model"] == small_model and shown["dim"] == 64
        assert shown["settings"] == recorded  # recorded with the new collection, the environment's 200 ignored
        reindexed = service.open(name)
        assert reindexed.tenants() == ["north", "south"]
        for tenant, mine in [("north", docs[:2]), ("south", docs[2:])]:
            scoped = reindexed.for_tenant(tenant)
            assert sorted((d.doc_id, d.chunks) for d in scoped.documents()) == before[tenant]  # 64-token chunks
            hits = scoped.search(docs[0].text[:200], top_k=10, mode="dense").results
            assert hits and {hit.doc_id for hit in hits} <= {doc.id for doc in mine}
        service.drop(name)
    client.close()
