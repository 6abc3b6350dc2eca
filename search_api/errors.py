"""The one place engine errors become HTTP answers: JSON `{"detail": message}`, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pymilvus import MilvusException

from semsearch.errors import (
    BackendUnavailable,
    CollectionMissing,
    CollectionModelMismatch,
    DocumentRejected,
    InvalidFilter,
    UnsupportedMode,
)

log = logging.getLogger("search_api")

STATUS_BY_ERROR: dict[type[Exception], int] = {
    InvalidFilter: 400,
    UnsupportedMode: 400,
    DocumentRejected: 400,
    CollectionMissing: 503,
    CollectionModelMismatch: 503,
    BackendUnavailable: 503,
}


def install_error_handlers(app: FastAPI) -> None:
    for error_type, status in STATUS_BY_ERROR.items():
        app.add_exception_handler(error_type, _handler(status))
    app.add_exception_handler(MilvusException, _milvus_error)
    app.add_exception_handler(Exception, _unexpected)


def _handler(status: int):
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        log.warning("%s %s -> %d: %s", request.method, request.url.path, status, exc)
        content = {"detail": str(exc)}
        if isinstance(exc, InvalidFilter):
            content["field"] = exc.field
        return JSONResponse(status_code=status, content=content)

    return handle


async def _milvus_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s: Milvus error: %s", request.method, request.url.path, exc)
    return JSONResponse(status_code=503, content={"detail": f"Milvus error: {getattr(exc, 'message', exc)}"})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s: unexpected error", request.method, request.url.path)
    return JSONResponse(status_code=500, content={"detail": "internal error; the server log has the details"})
