"""ASGI guards in front of every route: a request size limit (413), JSON bodies only (415) and the optional API key
(401).

Written as plain ASGI middleware so they also cover `/docs` and `/openapi.json`, and so an oversized body is refused
while it streams in, before anything parses it.
"""

from __future__ import annotations

import hmac
from email.message import Message as MimeHeader

from search_api.request_context import ASGIApp, Message, Receive, Scope, Send, reply_error

#: Reachable without the API key: liveness probes must not need a secret, and a browser opening the search page
#: (search_api/routes/page.py: the page and its assets, no data) cannot send one.
OPEN_PATHS = frozenset({"/health", "/", "/static/search.js", "/static/search.css"})


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` with 413, by Content-Length or while a chunked body streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"request body larger than the limit of {self.max_bytes} bytes (SEMSEARCH_MAX_REQUEST_BYTES)"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await reply_error(send, 413, message)
            return
        received = 0
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > self.max_bytes:
                    # Answer now, before the app has replied (it is still reading), and tell it the client left.
                    refused = True
                    await reply_error(send, 413, message)
                    return {"type": "http.disconnect"}
            return event

        async def guarded_send(event: Message) -> None:
            if not refused:
                await send(event)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not refused:
                raise


class ApiKeyGuard:
    """When a key is set, every path but /health needs `Authorization: Bearer <key>` (compared in constant time)."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.expected = f"Bearer {api_key}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in OPEN_PATHS:
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                detail = "missing or wrong API key: send Authorization: Bearer <SEMSEARCH_API_KEY>"
                await reply_error(send, 401, detail, [(b"www-authenticate", b"Bearer")])
                return
        await self.app(scope, receive, send)


class JsonBodiesOnly:
    """Bodies must be JSON: another declared Content-Type is a 415 that says so, instead of a confusing 422 about
    the body's shape. A body with no Content-Type is read as JSON."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            declared = dict(scope["headers"]).get(b"content-type")
            if declared is None:
                scope["headers"] = [*scope["headers"], (b"content-type", b"application/json")]
            elif not _is_json(declared):
                detail = f"Content-Type must be application/json, got {declared.decode('latin-1')!r}"
                await reply_error(send, 415, detail)
                return
        await self.app(scope, receive, send)


def _is_json(content_type: bytes) -> bool:
    header = MimeHeader()
    header["content-type"] = content_type.decode("latin-1")
    subtype = header.get_content_subtype()
    return header.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))
