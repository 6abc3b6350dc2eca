from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from search_api.models import HealthResponse, LoadingResponse, ReadyResponse
from search_api.request_context import error_body
from search_api.startup import CollectionLoader
from semsearch.errors import SemsearchError

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse)
def health() -> HealthResponse:
    """The process is alive (says nothing about Milvus or the model: see /ready)."""
    return HealthResponse(status="ok")


@router.get(
    "/ready",
    response_model=ReadyResponse,
    responses={503: {"model": LoadingResponse, "description": "Not ready (or still loading), with the reason"}},
)
def ready(request: Request) -> ReadyResponse | JSONResponse:
    """Milvus reachable, collection present, loaded and model loaded; 503 with the reason otherwise (while a
    big collection loads: `"status": "loading"`, Milvus's progress, and `Retry-After`)."""
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        return JSONResponse(status_code=503, content=error_body("the model and Milvus are not loaded yet"))
    loader = getattr(request.app.state, "loader", None)
    if loader is not None and loader.engine is engine and not loader.loaded:
        return _not_loaded(loader)
    try:
        if not engine.store.exists():
            return JSONResponse(
                status_code=503, content=error_body(f"collection {engine.store.collection!r} is missing")
            )
        chunks = engine.store.serving_count()  # as searches read: ready when they are
    except SemsearchError as exc:
        return JSONResponse(status_code=503, content=error_body(str(exc)))
    return ReadyResponse(
        status="ready",
        collection=engine.store.collection,
        chunks=chunks,
        model=engine.embedder.model_id,
        dim=engine.embedder.dim,
        capabilities=engine.store.capabilities.as_dict(),
        fusion=engine.default_fusion.to_dict(),
    )


def _not_loaded(loader: CollectionLoader) -> JSONResponse:
    """503 while the collection loads (how far, and when to ask again), or with the error its last load hit."""
    if loader.error is not None:
        return JSONResponse(status_code=503, content=error_body(f"loading the collection failed: {loader.error}"))
    progress = loader.progress
    body = error_body(str(progress)) | {
        "status": "loading",
        "collection": loader.engine.store.collection,
        "progress": progress.percent,
        "chunks": progress.rows,
        "elapsed_s": round(progress.elapsed_s, 1),
    }
    return JSONResponse(status_code=503, content=body, headers={"Retry-After": str(loader.retry_after)})
