"""The one place errors become HTTP answers: JSON `{"detail": ..., "request_id": ...}`, logged once, never a trace.

`detail` is a message string, except for 422 (FastAPI's list of schema problems, without echoing the input back).
Unexpected exceptions are answered by `request_context.RequestContext`.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from search_api.openai_compat.errors import problems_message, refuses_with_400
from search_api.request_context import error_body, request_id
from semsearch.errors import (
    CollectionLoading,
    Conflict,
    Forbidden,
    InvalidFilter,
    NotFound,
    Refused,
    SemsearchError,
    Unavailable,
)
from semsearch.uploads import FilesRefused

log = logging.getLogger("search_api")

#: Families, not classes (semsearch.errors): a new engine error joins a family and gets its status here at once.
#: `Forbidden` is a `Refused` with a status of its own (the handler of the nearest class in its MRO answers).
STATUS_BY_FAMILY: dict[type[SemsearchError], int] = {
    Refused: 400,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Unavailable: 503,
}


def install_error_handlers(app: FastAPI) -> None:
    for family, status in STATUS_BY_FAMILY.items():
        app.add_exception_handler(family, _handler(status))
    app.add_exception_handler(FilesRefused, _files_refused)  # a Refused with its own status and the files named
    app.add_exception_handler(SemsearchError, _handler(503))  # an error outside the families: the engine's fault
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)


def _answer(
    request: Request,
    status: int,
    detail: object,
    level: int = logging.INFO,
    param: str | None = None,
    **extra: object,
) -> JSONResponse:
    log.log(level, "[%s] %s %s -> %d: %s", request_id(), request.method, request.url.path, status, detail)
    return JSONResponse(status_code=status, content={**error_body(detail, status, param), **extra})


def _handler(status: int):
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        extra = {"field": exc.field} if isinstance(exc, InvalidFilter) else {}
        level = logging.WARNING if status >= 500 else logging.INFO
        if isinstance(exc, CollectionLoading):  # expected while a big collection loads: no warning per request
            response = _answer(request, status, str(exc), logging.INFO)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        param = exc.field if isinstance(exc, InvalidFilter) else None
        return _answer(request, status, str(exc), level, param, **extra)

    return handle


async def _files_refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FilesRefused)
    return _answer(request, exc.status, str(exc), files=[f.to_dict() for f in exc.files])


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [{k: v for k, v in error.items() if k not in ("input", "url")} for error in exc.errors()]
    if refuses_with_400(request.url.path):  # OpenAI's status for a parameter it refuses, with the message
        message, param = problems_message(jsonable_encoder(problems))
        return _answer(request, 400, message, param=param)
    return _answer(request, 422, jsonable_encoder(problems))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    response = _answer(request, exc.status_code, exc.detail)
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        response.headers["Allow"] = ", ".join(_allowed_methods(request))
    return response


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on this path: Starlette's 405 names only the first route's (`GET /documents`
    and `POST /documents` are two routes)."""
    allowed: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": "GET"}) if hasattr(route, "matches") else (None, None)
        if match is not None and match != Match.NONE:
            allowed |= set(getattr(route, "methods", None) or ())
    return sorted(allowed)
