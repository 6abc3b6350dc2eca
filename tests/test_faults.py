"""Faults against a real Milvus server of each test's own: the server dies, restarts, or ingest is killed."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.loaders import TableOptions, load_file
from ingest.sources import discover
from search_api.app import create_app
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.errors import BackendUnavailable
from semsearch.indexer import Document
from semsearch.settings import Settings
from tests.helpers import SAMPLE_DATA, semsearch_bin, stored_row
from tests.milvus_server import MilvusServer, new_server

pytestmark = pytest.mark.server

#: What the brief promises a client of a dead Milvus: an answer, not a hang.
PROMPT = 2.0


def _settings(server: MilvusServer, **overrides: object) -> Settings:
    return Settings(milvus_uri=server.uri, collection="faults", _env_file=None, **overrides)


def _timed(call) -> tuple[object, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def _until(check, timeout: float = 90.0):
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f"not reached within {timeout} s")


def test_a_dead_server_gives_prompt_503s_and_the_api_recovers_when_it_returns(
    own_milvus_server: MilvusServer, embedder: Embedder
) -> None:
    with TestClient(create_app(_settings(own_milvus_server), embedder=embedder)) as client:
        docs = [{"id": f"d{i}", "text": f"Note {i} about whales singing in the ocean."} for i in range(5)]
        assert client.post("/documents", json={"documents": docs}).status_code == 200
        before = client.post("/search", json={"query": "whale song", "top_k": 5}).json()["results"]
        assert len(before) == 5

        own_milvus_server.kill()
        ready, ready_took = _timed(lambda: client.get("/ready"))
        search, search_took = _timed(lambda: client.post("/search", json={"query": "whale song"}))
        for response, took in ((ready, ready_took), (search, search_took)):
            assert response.status_code == 503, response.text
            assert "Milvus is not reachable" in response.json()["detail"]
            assert took < PROMPT, f"answered after {took:.2f} s"

        own_milvus_server.start()  # same ports, same data
        recovered = _until(lambda: client.post("/search", json={"query": "whale song", "top_k": 5}).status_code == 200)
        assert recovered
        after = client.post("/search", json={"query": "whale song", "top_k": 5}).json()["results"]
        assert [hit["id"] for hit in after] == [hit["id"] for hit in before]
        ready = client.get("/ready")  # at once: ready whenever searches are answered, as it reads as they do
        assert ready.status_code == 200, ready.text
        assert ready.json()["chunks"] == 5


def _docs(n: int) -> list[Document]:
    return [Document(id=f"doc-{i}", text=f"Document {i} is about topic {i % 7}.", source="faults") for i in range(n)]


def test_ingest_retries_through_a_server_restart_and_finishes(
    own_milvus_server: MilvusServer, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    engine = Engine.open(_settings(own_milvus_server, milvus_timeout=2.0), create=True, embedder=embedder)
    try:
        own_milvus_server.kill()
        outcome: dict[str, object] = {}

        def ingest() -> None:
            try:
                outcome["stats"] = engine.indexer.index(_docs(40))
            except Exception as exc:  # the assertion below shows it
                outcome["error"] = exc

        with caplog.at_level(logging.WARNING, logger="semsearch.store"):
            worker = threading.Thread(target=ingest)
            worker.start()
            time.sleep(3)  # the ingest is now failing and backing off
            own_milvus_server.start()
            worker.join(timeout=120)
        assert not worker.is_alive()
        assert "error" not in outcome, outcome.get("error")
        assert outcome["stats"].embedded == 40
        assert any("retrying in" in record.getMessage() for record in caplog.records)
        assert engine.store.count() == 40
    finally:
        engine.close()


def test_a_write_that_keeps_failing_is_reported_naming_the_batch(
    own_milvus_server: MilvusServer, embedder: Embedder
) -> None:
    engine = Engine.open(_settings(own_milvus_server), create=True, embedder=embedder)
    policy = engine.store.milvus.policy
    engine.store.milvus.policy = dataclasses.replace(policy, write_timeout=1.0, retry_seconds=3.0)  # give up soon
    try:
        rows = [stored_row(f"k{i}", f"lost-{i}", [0.1] * embedder.dim) for i in range(5)]
        own_milvus_server.kill()
        with pytest.raises(BackendUnavailable) as caught:
            engine.store.upsert_chunks(rows)
        message = str(caught.value)
        assert "upsert of 5 chunks of documents 'lost-0', 'lost-1', 'lost-2' and 2 more" in message
        assert "attempts" in message and "not stored" in message
        with pytest.raises(BackendUnavailable, match=r"read of stored chunks .* not stored"):
            engine.indexer.index(_docs(1))  # the read before the write fails the same way, not silently
    finally:
        engine.close()


def test_ingest_killed_half_way_and_run_again_loses_and_duplicates_nothing(
    own_milvus_server: MilvusServer, embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for copy in range(5):  # 350 documents: several of the pipeline's 128-document write batches
        for path in sorted((SAMPLE_DATA / "library").glob("*.md")):
            (corpus / f"{copy}-{path.name}").write_text(f"{path.read_text()}\n\nCopy {copy}.\n")
    settings = _settings(own_milvus_server)
    env = {**os.environ, "SEMSEARCH_MILVUS_URI": settings.milvus_uri, "SEMSEARCH_COLLECTION": settings.collection}
    command = [semsearch_bin(), "ingest", "corpus", "--json", "--batch-size", "16"]

    first = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    engine = _until(lambda: _try_open(settings, embedder), timeout=120)
    try:
        written = _until(lambda: _landed(first, engine), timeout=180)
        first.send_signal(signal.SIGKILL)
        first.wait()

        monkeypatch.chdir(tmp_path)
        expected = {chunk.key for path in discover(["corpus"]).files for chunk in _chunks(engine, path)}
        assert 0 < written < len(expected), "the kill did not land half way"

        second = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr
        summary = json.loads(second.stdout)
        assert summary["chunks"] == len(expected)
        assert summary["unchanged"] >= written > 0  # what landed before the kill is not embedded again
        ids = [row["id"] for row in engine.store.scan("", ["id"])]
        assert len(ids) == len(set(ids)) == engine.store.count() == len(expected)
        assert set(ids) == expected
    finally:
        engine.close()


def _try_open(settings: Settings, embedder: Embedder) -> Engine | None:
    """The collection exists once the ingest process has created it."""
    try:
        return Engine.open(settings, create=False, embedder=embedder)
    except Exception:
        return None


def _landed(process: subprocess.Popen, engine: Engine) -> int:
    """Chunks stored so far by a still-running ingest (0 while none)."""
    if process.poll() is not None:
        pytest.fail(f"the ingest ended (exit {process.returncode}) before it could be killed half way")
    return engine.store.count()


def _chunks(engine: Engine, path: Path) -> list:
    return [chunk for doc in load_file(path, TableOptions()) for chunk in engine.indexer.chunk(doc)]


def test_a_port_taken_before_the_first_start_moves_the_server_to_free_ports(
    tmp_path: Path, milvus_binaries: Path
) -> None:
    """Once, another process took one of the session server's ports between their pick and Milvus binding them,
    and every server test of that worker errored: a first start retries on fresh ports."""
    server = new_server(tmp_path / "moved", milvus_binaries)
    taken = server.ports["query_coord_port"]
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", taken))
        squatter.listen()
        try:
            server.start()
            assert server.ports["query_coord_port"] != taken
            client = server.client()
            assert client.list_collections() == []
            client.close()
        finally:
            server.stop()
