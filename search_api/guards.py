"""ASGI guards in front of every route: a request size limit (413), JSON bodies only (415) and the optional API keys
(401 without a key, 403 with the read key on a path that needs the admin key).

Written as plain ASGI middleware so they also cover `/docs` and `/openapi.json`, and so an oversized body is refused
while it streams in, before anything parses it.
"""

from __future__ import annotations

import hmac
from email.message import Message as MimeHeader

from search_api.request_context import ASGIApp, Message, Receive, Scope, Send, reply_error
from search_api.routes.api_docs import ASSETS, ASSETS_PATH

#: Reachable without the API key: liveness probes must not need a secret, and a browser opening the search page
#: (search_api/routes/page.py: the page and its assets, no data) cannot send one.
OPEN_PATHS = frozenset(
    {"/health", "/", "/static/search.js", "/static/search.css", *(f"{ASSETS_PATH}/{name}" for name in ASSETS)}
)

#: What `SEMSEARCH_READ_API_KEY` opens: asking questions (search, context, embeddings: what the search page and a
#: RAG app call), readiness, and the API's own documentation. Everything else (writes, deletes, /metrics, listing
#: documents) needs `SEMSEARCH_API_KEY`, the admin key, which also opens every read path.
READ_PATHS = frozenset(
    {
        "/search",
        "/context",
        "/v1/embeddings",
        "/v1/models",
        "/ready",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/openapi.json",
    }
)


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
    """Every path but the open ones needs `Authorization: Bearer <key>` (compared in constant time): the admin key
    anywhere, or the read key on `read_paths`. The read key on another path is a 403 that names the key needed. With
    only a read key set, the API is read-only: no key opens a write (ingest then writes to Milvus directly)."""

    def __init__(
        self,
        app: ASGIApp,
        api_key: str | None,
        read_key: str | None = None,
        read_paths: frozenset[str] = READ_PATHS,
    ) -> None:
        self.app = app
        self.admin = _bearer(api_key)
        self.read = _bearer(read_key)
        self.read_paths = read_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)  # OPTIONS: a CORS preflight never carries credentials
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        is_admin, is_reader = _matches(given, self.admin), _matches(given, self.read)
        if is_admin or (is_reader and scope["path"] in self.read_paths):
            await self.app(scope, receive, send)
        elif is_reader or (self.admin is None and scope["path"] not in self.read_paths):
            detail = "this path needs the admin key (SEMSEARCH_API_KEY); the read key only searches"
            if self.admin is None:
                detail = "this API is read-only: SEMSEARCH_API_KEY is not set, so nothing may write through it"
            await reply_error(send, 403, detail)
        else:
            wanted = "SEMSEARCH_READ_API_KEY or SEMSEARCH_API_KEY" if self.read else "SEMSEARCH_API_KEY"
            detail = f"missing or wrong API key: send Authorization: Bearer <{wanted}>"
            await reply_error(send, 401, detail, [(b"www-authenticate", b"Bearer")])


def _bearer(key: str | None) -> bytes | None:
    return f"Bearer {key}".encode() if key else None


def _matches(given: bytes, expected: bytes | None) -> bool:
    return expected is not None and hmac.compare_digest(given, expected)


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
