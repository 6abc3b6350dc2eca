"""Typed dependencies, declared once: routes take the engine's parts as parameters.

Every route that works on a knowledge base takes `EngineDep` (or `KnowledgeBaseDep`), and that one dependency
resolves which: the collection named in the path (`/collections/{collection}/search`), else the API's default
collection (`/search`). The routers are mounted twice (`search_api.app`), so each route serves both.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool

from search_api.access import AccessDenied, Action, authorize, principal_of
from search_api.guards import is_read
from semsearch.engine import Engine
from semsearch.errors import BackendUnavailable
from semsearch.file_store import FileStore
from semsearch.knowledge_base import KnowledgeBase
from semsearch.metrics import EngineMetrics
from semsearch.service import Service
from semsearch.store.catalog import NAME_RULE
from semsearch.vector_stores import VectorStores

#: Seconds a request waits for its collection to open before it is answered 503 "loading" with Retry-After: a
#: collection of thousands of chunks opens within it, so only a big load is ever seen as loading.
OPEN_WAIT = 2.0


async def get_service(request: Request) -> Service:
    return request.app.state.service


async def get_engine(request: Request) -> AsyncIterator[Engine]:
    """The request's engine. A read of another collection than the default holds a lease on it until the response
    is sent, so that the service may release it from Milvus's memory as soon as it is done with it; a write may
    start a job that outlives the response (an upload), so it takes the engine without one (`Service`).

    The dependencies of this module are `async`: FastAPI runs a plain `def` dependency on a worker thread, and on two
    cores each such hop cost more than the route's own Python (benchmarks/serving.py --profile). What may wait (a
    collection being opened) still runs on a worker thread; the default collection's engine is at hand."""
    name = request.path_params.get("collection")
    default = request.app.state.settings.collection
    reading = is_read(request.method, request.url.path) or request.method in ("GET", "HEAD")
    allow(request, name or default, Action.READ if reading else Action.WRITE)
    # Embed and Milvus time go to this app's /metrics. Attaching is an assignment, not a copy, and doing it here
    # covers every engine the app serves: the one opened at start-up, a borrowed one, and one the follower swapped in.
    instrument = request.app.state.metrics.instrument
    if name is None or name == default:
        yield instrument(default_engine(request))
    elif reading:
        lease = request.app.state.service.lease(name, wait=OPEN_WAIT)
        engine = await run_in_threadpool(lease.__enter__)
        try:
            yield instrument(engine)
        finally:
            lease.__exit__(None, None, None)  # counts the lease down; a retirement it starts runs on its own thread
    else:
        yield instrument(await run_in_threadpool(request.app.state.service.engine, name, wait=OPEN_WAIT))


def default_engine(request: Request) -> Engine:
    """The engine of the default collection: opened at start-up, loaded in the background, followed through a
    `semsearch reindex` (`search_api.follow`)."""
    engine: Engine | None = getattr(request.app.state, "engine", None)
    if engine is None:
        raise BackendUnavailable("the search engine is not loaded yet")
    loader = getattr(request.app.state, "loader", None)
    if loader is not None and loader.engine is engine:
        loader.check()  # 503 with Retry-After while the collection loads, not a request that hangs
    return engine


def allow(request: Request, collection: str, action: Action) -> None:
    """Ask the access seam (`search_api.access.authorize`) for this request; its refusal is the answer."""
    try:
        authorize(principal_of(request), collection, action)
    except AccessDenied as exc:
        raise HTTPException(exc.status, exc.detail) from exc


async def collection_path(
    collection: Annotated[
        str,
        Path(
            min_length=1,
            max_length=255,
            description="The collection; the same route without `/collections/{collection}` serves the default one. "
            f"A name Milvus refuses answers 400: {NAME_RULE}.",
        ),
    ],
) -> str:
    """Declares (and documents) the `{collection}` of the prefixed routes; `get_engine` reads it from the path."""
    return collection


async def get_knowledge_base(engine: Annotated[Engine, Depends(get_engine)]) -> KnowledgeBase:
    """The request's view of the engine as the library's verbs: routes answer exactly what Python callers get."""
    return KnowledgeBase(engine, owned=False)


def knowledge_base_later(request: Request) -> Callable[[], KnowledgeBase]:
    """How to find this request's collection again after the request (an upload job runs later): the default
    collection's engine as it is then (a reindex may have swapped it), another one through the service (it may have
    been closed and is opened again). Access was checked for the request."""
    app, name = request.app, request.path_params.get("collection")

    def knowledge_base() -> KnowledgeBase:
        if name is None or name == app.state.settings.collection:
            engine = app.state.engine
            if engine is None:
                raise BackendUnavailable("the search engine is not loaded")
        else:
            engine = app.state.service.engine(name, wait=None)
        return KnowledgeBase(app.state.metrics.instrument(engine), owned=False)

    return knowledge_base


async def get_metrics(request: Request) -> EngineMetrics:
    return request.app.state.metrics


async def get_write_lock(request: Request) -> threading.Lock:
    """One writer at a time: concurrent updates of one document must not interleave their chunk writes."""
    return request.app.state.write_lock


async def get_vector_stores(request: Request) -> VectorStores:
    """The OpenAI vector stores (`/v1/vector_stores`), each a collection of the app's `Service`. A request naming one
    asks the access seam for it, as a collection route does."""
    vs_id = request.path_params.get("vector_store_id")
    if vs_id is not None:
        allow(request, vs_id, Action.READ if is_read(request.method, request.url.path) else Action.WRITE)
    return request.app.state.vector_stores


async def get_file_store(request: Request) -> FileStore:
    return request.app.state.file_store


EngineDep = Annotated[Engine, Depends(get_engine)]
KnowledgeBaseDep = Annotated[KnowledgeBase, Depends(get_knowledge_base)]
WriteLockDep = Annotated[threading.Lock, Depends(get_write_lock)]
MetricsDep = Annotated[EngineMetrics, Depends(get_metrics)]
ServiceDep = Annotated[Service, Depends(get_service)]
VectorStoresDep = Annotated[VectorStores, Depends(get_vector_stores)]
FileStoreDep = Annotated[FileStore, Depends(get_file_store)]
