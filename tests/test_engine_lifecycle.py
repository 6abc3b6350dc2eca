"""One engine, one query batcher: measuring an engine never copies it, and closing it stops its thread."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from search_api.app import create_app
from search_api.follow import AliasFollower
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.errors import BackendUnavailable
from semsearch.indexer import Document
from semsearch.metrics import EngineMetrics
from semsearch.settings import Settings
from semsearch.store.collections import Collections, Description


def threads_started_by(action: Callable[[], object]) -> set[threading.Thread]:
    before = set(threading.enumerate())
    action()
    return {t for t in threading.enumerate() if t not in before and t.name == "query-batcher"}


def test_instrumenting_an_engine_measures_that_engine_and_starts_no_second_batcher(engine: Engine) -> None:
    engine.indexer.index([Document(id="d", text="dice and coins", source="t")])
    batcher = engine.query_batcher
    metrics = EngineMetrics()

    assert metrics.instrument(engine) is engine
    assert metrics.instrument(engine) is engine  # attaching twice changes nothing
    started = threads_started_by(lambda: engine.searcher.search("games of chance"))

    assert engine.query_batcher is batcher and not started
    summary = metrics.summary()
    assert summary["embedded_texts"] == 1 and summary["milvus_calls"] >= 1


def test_an_engine_reports_to_the_observer_attached_now_and_to_none_once_detached(engine: Engine) -> None:
    first, second = EngineMetrics(), EngineMetrics()
    first.instrument(engine)
    engine.searcher.search("first query")
    second.instrument(engine)
    engine.searcher.search("second query")
    engine.observer = None
    engine.searcher.search("third query")

    assert first.summary()["embedded_texts"] == 1
    assert second.summary()["embedded_texts"] == 1


def test_an_engine_built_from_another_engines_embedder_times_each_call_once(engine: Engine, settings: Settings) -> None:
    twin = Engine(settings, engine.embedder, engine.store)  # what the follower does when the model is unchanged
    metrics = EngineMetrics()
    metrics.instrument(engine)
    metrics.instrument(twin)

    twin.embedder.embed_documents(["one", "two"])

    assert metrics.summary()["embedded_texts"] == 2


def test_close_stops_the_query_batcher_thread_and_later_searches_are_refused(engine: Engine) -> None:
    [thread] = threads_started_by(lambda: engine.searcher.search("a first query"))
    assert thread.is_alive()

    engine.close()

    assert not thread.is_alive()
    with pytest.raises(BackendUnavailable):
        engine.searcher.search("a query after close")
    engine.close()  # closing again is harmless


def test_after_a_swap_the_old_engine_is_closed_with_its_batcher_and_the_new_one_counts_in_the_apps_metrics(
    settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The alias follower's swap, with Milvus Lite standing in for a server whose alias moved."""
    with TestClient(create_app(settings, embedder=embedder)) as client:
        app = client.app
        [old_thread] = threads_started_by(lambda: client.post("/search", json={"query": "before the swap"}))
        old: Engine = app.state.engine
        new = Engine.open(settings, create=False, embedder=embedder)
        monkeypatch.setattr(old.store, "resolve", lambda: "moved")
        monkeypatch.setattr(Engine, "open", classmethod(lambda cls, *args, **kwargs: new))
        unrecorded = Description(record=None, fields=frozenset())  # a collection without a model record: same model
        monkeypatch.setattr(Collections, "describe", lambda *args, **kwargs: unrecorded)
        follower = AliasFollower(app, interval=60)

        assert follower.check_once()
        assert app.state.engine is new
        assert client.post("/search", json={"query": "after the swap"}).status_code == 200
        follower.stop()  # closes the engines it retired

        assert not old_thread.is_alive()
        with pytest.raises(BackendUnavailable):
            old.query_batcher  # noqa: B018  (the property is the thing under test)
        metrics = client.get("/metrics").text
    assert 'semsearch_embed_seconds_count{kind="query"} 2.0' in metrics
