"""Start-up at any size is progress, never an error: the API answers while its collection loads, and says so.

A load that takes seconds needs a collection of ~100k chunks on Milvus Lite (minutes to build), too big for a test.
So the in-process tests hold the load back at the store boundary: the pymilvus client's `load_collection` waits on
an event the test sets (`gated_load`), while every other call, the load state and progress reads included, goes
to the real Milvus Lite. The real-process test starts `semsearch serve` on a released (not loaded) collection.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.indexer import Document
from semsearch.searcher import SearchOptions
from semsearch.settings import Settings
from semsearch.store import LoadProgress
from tests.helpers import semsearch_server


def _released_collection(settings: Settings, embedder: Embedder) -> None:
    """A collection with a few documents, released: the next process to open it has to load it."""
    engine = Engine.open(settings, create=True, embedder=embedder)
    try:
        engine.indexer.index(
            [Document(id="otters", text="Otters sleep holding hands so they do not drift apart.", source="t")]
        )
        engine.store.client.release_collection(engine.store.target)
    finally:
        engine.close()


@contextmanager
def gated_load(engine: Engine) -> Iterator[threading.Event]:
    """Hold the engine's `load_collection` call until the yielded event is set (the controllable slow load)."""
    client = engine.store.client
    real = client.load_collection
    gate = threading.Event()

    def slow_load(*args: Any, **kwargs: Any) -> Any:
        assert kwargs.get("timeout") is None, "the load path must have no deadline shorter than the load"
        gate.wait(60)
        return real(*args, **kwargs)

    client.load_collection = slow_load
    try:
        yield gate
    finally:
        gate.set()
        client.load_collection = real


@contextmanager
def failing_progress_reads(engine: Engine, message: str, until: threading.Event | None = None) -> Iterator[None]:
    """Milvus's load-state reads from the main thread fail with `message` after the first (the check before the
    load), until `until` is set: the load's progress polls meet a Milvus that is gone, or too busy to answer."""
    from pymilvus import MilvusException

    client = engine.store.client
    real_state = client.get_load_state
    answered: list[bool] = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is threading.main_thread() and answered and not (until and until.is_set()):
            raise MilvusException(message=message)
        answered.append(True)
        return real_state(*args, **kwargs)

    client.get_load_state = failing
    try:
        yield
    finally:
        client.get_load_state = real_state


def test_ready_says_loading_with_retry_after_until_the_collection_is_loaded(
    settings: Settings, embedder: Embedder
) -> None:
    _released_collection(settings, embedder)
    engine = Engine.open(settings, create=False, embedder=embedder, load=False)
    assert not engine.store.loaded
    with gated_load(engine) as gate, TestClient(create_app(engine=engine)) as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "loading" and body["collection"] == settings.collection
        assert "loading collection" in body["detail"] and body["chunks"] == 1
        assert int(ready.headers["Retry-After"]) >= 1
        search = client.post("/search", json={"query": "how do otters sleep?"})
        assert search.status_code == 503, search.text
        assert "loading collection" in search.json()["detail"] and "Retry-After" in search.headers
        gate.set()
        deadline = time.monotonic() + 30
        while (ready := client.get("/ready")).status_code != 200:
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.1)
        assert ready.json()["status"] == "ready"
        hits = client.post("/search", json={"query": "how do otters sleep?", "mode": "dense"}).json()["results"]
        assert hits[0]["doc_id"] == "otters"


@pytest.fixture(params=["lite", pytest.param("server", marks=pytest.mark.server)])
def any_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a fresh collection on Milvus Lite and on the real Milvus server (dropped afterwards)."""
    if request.param == "lite":
        yield Settings(milvus_uri=str(tmp_path / "milvus.db"), collection="startup", _env_file=None)
        return
    server = request.getfixturevalue("milvus_server")
    settings = Settings(milvus_uri=server.uri, collection=f"startup_{uuid.uuid4().hex[:12]}", _env_file=None)
    yield settings
    from pymilvus import MilvusClient

    client = MilvusClient(server.uri)
    client.drop_alias(settings.collection)  # on a server the collection name is an alias of the physical one
    for name in client.list_collections():
        if name.startswith(settings.collection):
            client.drop_collection(name)
    client.close()


def test_opening_loads_a_released_keys_companion_before_reading_it(any_settings: Settings, embedder: Embedder) -> None:
    """A restarted Milvus server loads its collections again in the background, and until it has, a query of the
    small `<collection>__keys` companion fails with "collection not loaded" (`benchmarks/scale.py` met this on a
    restarted 2.3.5 server: the API exited at start-up). Opening loads the companion first."""
    from semsearch.store.schema import keys_collection

    settings = any_settings
    engine = Engine.open(settings, create=True, embedder=embedder)
    try:
        doc = Document(id="otters", text="Otters sleep holding hands.", source="t", metadata={"team": "zoo"})
        engine.indexer.index([doc])
        engine.store.client.release_collection(engine.store.target)
        engine.store.client.release_collection(keys_collection(settings.collection))
    finally:
        engine.close()
    engine = Engine.open(settings, create=False, embedder=embedder, load=False)
    try:
        assert "team" in engine.store.metadata_keys
        engine.store.load()
        hits = engine.searcher.search("how do otters sleep?", SearchOptions(filters={"team": "zoo"})).hits
        assert [hit.doc_id for hit in hits] == ["otters"]
    finally:
        engine.close()


def test_opening_reports_each_step_and_the_load(settings: Settings, embedder: Embedder) -> None:
    _released_collection(settings, embedder)
    heard: list[LoadProgress] = []
    engine = Engine.open(settings, create=False, embedder=embedder, on_progress=heard.append)
    try:
        assert engine.store.loaded and engine.store.count() == 1
    finally:
        engine.close()
    said = [progress.what for progress in heard]
    assert said[0].startswith("connecting to Milvus at ")
    assert any(what == f"loading collection {settings.collection!r} (1 chunks)" for what in said), said
    assert heard[-1].done and heard[-1].percent == 100


def test_a_milvus_that_stops_answering_during_a_load_is_reported_within_seconds(
    settings: Settings, embedder: Embedder
) -> None:
    from semsearch.errors import BackendUnavailable

    _released_collection(settings, embedder)
    engine = Engine.open(settings, create=False, embedder=embedder, load=False)
    engine.store.milvus.policy = replace(engine.store.milvus.policy, write_timeout=2.0, read_timeout=0.5)
    try:
        with failing_progress_reads(engine, "Fail connecting to server on unix socket"), gated_load(engine):
            with pytest.raises(BackendUnavailable, match="stopped answering"):
                started = time.monotonic()
                engine.store.load()
            assert time.monotonic() - started < 10
    finally:
        engine.close()


def test_a_milvus_too_busy_to_answer_progress_reads_in_time_is_waited_for(
    settings: Settings, embedder: Embedder
) -> None:
    """Progress reads that time out once the load has begun mean a busy Milvus, not a gone one: the load goes on
    past one timeout. (A read before the load that times out is still reported at once: test_store_boundary.py.)"""
    _released_collection(settings, embedder)
    engine = Engine.open(settings, create=False, embedder=embedder, load=False)
    engine.store.milvus.policy = replace(engine.store.milvus.policy, write_timeout=1.0, read_timeout=0.5)
    try:
        with gated_load(engine) as gate, failing_progress_reads(engine, "DEADLINE_EXCEEDED: Deadline Exceeded", gate):
            threading.Timer(3.0, gate.set).start()  # three timeouts of unanswered progress reads, then the load ends
            engine.store.load()
        assert engine.store.loaded and engine.store.count() == 1
    finally:
        engine.close()


def test_serve_answers_health_at_once_and_becomes_ready_on_a_collection_it_must_load(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = Settings(milvus_uri=str(tmp_path / "big.db"), collection="big", _env_file=None)
    _released_collection(settings, embedder)
    env = {"SEMSEARCH_MILVUS_URI": settings.milvus_uri, "SEMSEARCH_COLLECTION": "big"}
    with semsearch_server("serve", "--log-level", "info", cwd=tmp_path, env=env, path="/health") as base:
        deadline = time.monotonic() + 120
        while (ready := httpx.get(f"{base}/ready", timeout=5)).status_code != 200:
            assert ready.status_code == 503 and time.monotonic() < deadline, ready.text
            time.sleep(0.2)
        assert ready.json()["chunks"] == 1
