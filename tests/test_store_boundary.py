"""The store's boundary: every Milvus call follows Settings' timeouts, and only engine errors come out of it."""

from __future__ import annotations

import dataclasses
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest

from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.errors import BackendUnavailable, MilvusFailed, SemsearchError, Unavailable
from semsearch.settings import Settings
from semsearch.store import MilvusStore
from semsearch.store.milvus_calls import CallPolicy
from tests.helpers import stored_row
from tests.milvus_server import MilvusServer

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    from pymilvus import MilvusClient, MilvusException

#: One store verb per kind of call: serving reads, write-path reads, writes, deletes, and the load.
VERBS: dict[str, Callable[[MilvusStore], Any]] = {
    "count": lambda store: store.count(),
    "dense_search": lambda store: store.dense_search(np.ones(384, dtype=np.float32) / np.sqrt(384), 3),
    "existing_chunks": lambda store: store.existing_chunks(["d"]),
    "scan": lambda store: list(store.scan("", ["doc_id"])),
    "upsert_chunks": lambda store: store.upsert_chunks([stored_row("k", "d", [0.05] * 384)]),
    "delete_ids": lambda store: store.delete_ids(["k"]),
    "load": lambda store: store.load(),
}


def _causes(exc: BaseException) -> list[BaseException]:
    chain = []
    while exc.__cause__ is not None and exc.__cause__ is not exc:
        exc = exc.__cause__
        chain.append(exc)
    return chain


def test_the_store_takes_its_timeouts_and_retry_budget_from_settings_only() -> None:
    fields = {f.name for f in dataclasses.fields(MilvusStore)}
    assert not fields & {"write_timeout", "read_timeout", "retry_seconds"}  # no second home for these defaults
    server = Settings(milvus_uri="http://milvus:19530", milvus_timeout=3, milvus_read_timeout=0.5, _env_file=None)
    assert CallPolicy.from_settings(server) == CallPolicy(3, 0.5, 60.0, "SEMSEARCH_MILVUS_READ_TIMEOUT")
    lite = Settings(milvus_uri="kb.db", milvus_timeout=3, write_retry_seconds=7, _env_file=None)
    assert CallPolicy.from_settings(lite) == CallPolicy(3, 3, 7, "SEMSEARCH_MILVUS_TIMEOUT")  # embedded: CPU bound


@pytest.mark.parametrize("verb", list(VERBS))
def test_a_milvus_error_inside_the_store_surfaces_as_an_engine_error(
    engine: Engine, settings: Settings, verb: str
) -> None:
    engine.store.upsert_chunks([stored_row("k", "d", [0.05] * engine.embedder.dim)])
    behind_its_back = MilvusClient(settings.milvus_uri)  # the same embedded Milvus Lite, as another client
    behind_its_back.drop_collection(engine.store.target)
    with pytest.raises(SemsearchError) as caught:
        VERBS[verb](engine.store)
    assert isinstance(caught.value, MilvusFailed), repr(caught.value)
    assert isinstance(caught.value, Unavailable)  # the family every door maps
    assert "collection not found" in str(caught.value) or "can't find collection" in str(caught.value)
    assert any(isinstance(cause, MilvusException) for cause in _causes(caught.value))  # kept for the log only


@pytest.mark.parametrize("verb", ["count", "dense_search", "scan", "upsert_chunks", "load"])
def test_a_call_past_its_grpc_deadline_becomes_backend_unavailable_naming_the_setting(
    engine: Engine, settings: Settings, verb: str
) -> None:
    """A deadline already past when the call starts: gRPC fails it with DEADLINE_EXCEEDED every time (a
    microsecond is not enough on Milvus Lite's local socket: about half of such queries finish in time)."""
    engine.store.upsert_chunks([stored_row("seed", "seed", [0.05] * engine.embedder.dim)])
    saved = engine.store.milvus.policy
    engine.store.milvus.policy = dataclasses.replace(saved, write_timeout=-1.0, read_timeout=-1.0, retry_seconds=0)
    try:
        with pytest.raises(BackendUnavailable) as caught:
            VERBS[verb](engine.store)
    finally:
        engine.store.milvus.policy = saved
    message = str(caught.value)
    assert "did not finish" in message and "SEMSEARCH_MILVUS_TIMEOUT" in message, message
    assert not isinstance(caught.value, (MilvusException, grpc.RpcError))
    # The store still works with its own timeouts (whether a write that timed out was applied is Milvus's to say).
    assert engine.store.count() >= 1


@pytest.mark.server
def test_a_load_on_a_server_is_not_cut_off_by_the_write_timeout(
    milvus_server: MilvusServer, embedder: Embedder
) -> None:
    """A load takes as long as the collection is big (issue 14): it runs without a deadline, watched by short polls,
    so even a write timeout far below any real load leaves it to finish (a dead Milvus is tests/test_startup.py's)."""
    name = f"deadline_{uuid.uuid4().hex[:8]}"
    settings = Settings(milvus_uri=milvus_server.uri, collection=name, write_retry_seconds=0, _env_file=None)
    engine = Engine.open(settings, create=True, embedder=embedder)
    try:
        raw = MilvusClient(uri=milvus_server.uri)
        raw.release_collection(engine.store.target)  # loaded at open: release it, so that load() has work to do
        raw.close()
        engine.store.milvus.policy = dataclasses.replace(engine.store.milvus.policy, write_timeout=1e-6)
        engine.store.load()
        assert engine.store.collections.is_loaded(engine.store.target)
    finally:
        engine.store.milvus.policy = CallPolicy.from_settings(settings)
        engine.store.collections.drop(engine.store.target)
        engine.store.collections.drop(f"{settings.collection}__keys")
        engine.close()


def test_a_lite_server_that_cannot_start_is_unavailable_and_points_at_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedded server's own output goes to its log, not our stderr, so the error says where to read it."""
    monkeypatch.setenv("BIN_PATH", str(tmp_path / "no-milvus-binary"))  # milvus-lite's override of its binary
    with pytest.raises(BackendUnavailable, match=r"Milvus Lite's output: .*/\.kb\.db\.log"):
        MilvusStore.connect(Settings(milvus_uri=str(tmp_path / "kb.db"), _env_file=None))
