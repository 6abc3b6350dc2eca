"""One engine, one query batcher: measuring an engine never copies it, and closing it stops its thread (a batching
model's) and refuses later searches. The default model (ONNX int8) embeds queries on the caller's thread and starts
no thread at all (`semsearch.batcher`)."""

from __future__ import annotations

import dataclasses
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


def test_the_default_model_embeds_queries_on_the_callers_thread_and_close_refuses_later_searches(
    engine: Engine,
) -> None:
    assert engine.embedder.queries_run_alone
    assert not threads_started_by(lambda: engine.searcher.search("a first query"))
    assert engine.query_batcher.batches == 1

    engine.close()

    with pytest.raises(BackendUnavailable):
        engine.searcher.search("a query after close")
    engine.close()  # closing again is harmless


def test_a_batching_models_engine_stops_its_batcher_thread_on_close(settings: Settings, embedder: Embedder) -> None:
    batched = dataclasses.replace(embedder, model=_Batched(embedder.model))  # one that gains from batches (torch)
    batching = Engine.open(settings, create=True, embedder=batched)
    [thread] = threads_started_by(lambda: batching.searcher.search("a first query"))
    assert thread.is_alive()

    batching.close()

    assert not thread.is_alive()
    with pytest.raises(BackendUnavailable):
        batching.searcher.search("a query after close")


class _Batched:
    """The test model as one that batches: the same encode, without `one_text_per_run`."""

    def __init__(self, model: object) -> None:
        self._model = model

    def __getattr__(self, name: str) -> object:
        if name == "one_text_per_run":
            raise AttributeError(name)
        return getattr(self._model, name)


def test_after_a_swap_the_old_engine_is_closed_with_its_batcher_and_the_new_one_counts_in_the_apps_metrics(
    settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The alias follower's swap, with Milvus Lite standing in for a server whose alias moved."""
    with TestClient(create_app(settings, embedder=embedder)) as client:
        app = client.app
        assert client.post("/search", json={"query": "before the swap"}).status_code == 200
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

        with pytest.raises(BackendUnavailable):
            old.query_batcher  # noqa: B018  (the property is the thing under test)
        metrics = client.get("/metrics").text
    assert 'semsearch_embed_seconds_count{kind="query"} 2.0' in metrics
