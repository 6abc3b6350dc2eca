"""Typed dependencies, declared once: routes take the engine's parts as parameters."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request

from semsearch.engine import Engine
from semsearch.errors import BackendUnavailable
from semsearch.knowledge_base import KnowledgeBase
from semsearch.metrics import EngineMetrics


def get_engine(request: Request) -> Engine:
    engine: Engine | None = getattr(request.app.state, "engine", None)
    if engine is None:
        raise BackendUnavailable("the search engine is not loaded yet")
    loader = getattr(request.app.state, "loader", None)
    if loader is not None and loader.engine is engine:
        loader.check()  # 503 with Retry-After while the collection loads, not a request that hangs
    # Embed and Milvus time go to this app's /metrics. Attaching is an assignment, not a copy, and doing it here
    # covers every engine the app serves: the one opened at start-up, a borrowed one, and one the follower swapped in.
    return get_metrics(request).instrument(engine)


def get_knowledge_base(engine: Annotated[Engine, Depends(get_engine)]) -> KnowledgeBase:
    """The request's view of the engine as the library's verbs: routes answer exactly what Python callers get."""
    return KnowledgeBase(engine)


def get_metrics(request: Request) -> EngineMetrics:
    return request.app.state.metrics


def get_write_lock(request: Request) -> threading.Lock:
    """One writer at a time: concurrent updates of one document must not interleave their chunk writes."""
    return request.app.state.write_lock


EngineDep = Annotated[Engine, Depends(get_engine)]
KnowledgeBaseDep = Annotated[KnowledgeBase, Depends(get_knowledge_base)]
WriteLockDep = Annotated[threading.Lock, Depends(get_write_lock)]
MetricsDep = Annotated[EngineMetrics, Depends(get_metrics)]
