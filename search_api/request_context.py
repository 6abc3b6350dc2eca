"""Request ids and the one error shape.

Every response carries `X-Request-ID` (the caller's, when it is a sane token, else a new one), every error body is
`{"detail": ..., "request_id": ...}`, and every error is logged once with that id. An unexpected exception is caught
here, outermost, so the client gets a JSON 500 without a stack trace and the log gets the trace exactly once
(Starlette's own error middleware would log it a second time).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

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


def request_id() -> str:
    """The id of the request being served ("-" outside a request)."""
    return _request_id.get()


def error_body(detail: Any) -> dict[str, Any]:
    return {"detail": detail, "request_id": request_id()}


async def reply_error(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Answer an error straight from ASGI middleware, in the same shape the routes use."""
    body = json.dumps(error_body(detail)).encode()
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
