from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from search_api.models import ErrorResponse, HealthResponse, ReadyResponse
from search_api.request_context import error_body
from semsearch.errors import SemsearchError

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse)
def health() -> HealthResponse:
    """The process is alive (says nothing about Milvus or the model: see /ready)."""
    return HealthResponse(status="ok")


@router.get(
    "/ready",
    response_model=ReadyResponse,
    responses={503: {"model": ErrorResponse, "description": "Not ready, with the reason"}},
)
def ready(request: Request) -> ReadyResponse | JSONResponse:
    """Milvus reachable, collection present and model loaded; 503 with the reason otherwise."""
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        return JSONResponse(status_code=503, content=error_body("the model and Milvus are not loaded yet"))
    try:
        if not engine.store.exists():
            return JSONResponse(
                status_code=503, content=error_body(f"collection {engine.store.collection!r} is missing")
            )
        chunks = engine.store.count()
    except SemsearchError as exc:
        return JSONResponse(status_code=503, content=error_body(str(exc)))
    return ReadyResponse(
        status="ready",
        collection=engine.store.collection,
        chunks=chunks,
        model=engine.embedder.model_id,
        dim=engine.embedder.dim,
        capabilities=engine.store.capabilities.as_dict(),
    )
