"""Request ids and the one error shape.

Every response carries `X-Request-ID` (the caller's, when it is a sane token, else a new one), every error body is
`{"detail": ..., "request_id": ...}` (on `/v1` routes with OpenAI's `error` object beside), and every error is
logged once with that id. An unexpected exception is caught here, outermost, so the client gets a JSON 500 without a
stack trace and the log gets the trace exactly once (Starlette's own error middleware would log it a second time).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any

from search_api.openai_compat.errors import is_openai_path, openai_error
from semsearch.logs import request_id_var

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("search_api")

HEADER = b"x-request-id"
_CALLER_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")
_request_id = request_id_var  # one home: the log formatter reads it too
_openai_request: ContextVar[bool] = ContextVar("openai_request", default=False)


def request_id() -> str:
    """The id of the request being served ("-" outside a request)."""
    return _request_id.get()


def error_body(detail: Any, status: int = 400, param: str | None = None) -> dict[str, Any]:
    """The error shape; on the OpenAI-compatible `/v1` routes also OpenAI's `error` object (`param`: the parameter
    at fault, where one is)."""
    body = {"detail": detail, "request_id": request_id()}
    if _openai_request.get():
        body["error"] = openai_error(status, detail, param)
    return body


async def reply_error(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Answer an error straight from ASGI middleware, in the same shape the routes use."""
    body = json.dumps(error_body(detail, status)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            + (headers or []),
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestContext:
    """Outermost middleware: assigns the request id, echoes it in a header, turns a crash into a logged JSON 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(HEADER, b"")
        rid = given.decode() if _CALLER_ID.match(given) else uuid.uuid4().hex[:16]
        _request_id.set(rid)
        _openai_request.set(is_openai_path(scope.get("path", "")))
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), (HEADER, rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("[%s] %s %s: unexpected error", rid, scope.get("method"), scope.get("path"))
            if not started:
                detail = f"internal error; the server log has the details under request id {rid}"
                await reply_error(send_with_id, 500, detail)
