"""ASGI guards in front of every route: a request size limit (413), JSON bodies only (415) and the optional API keys
(401 without a key, 403 with the read key on a path that needs the admin key). A scoped key (`semsearch keys create`)
passes the guard only onto the paths whose routes check its scope themselves (`search_api/scopes.py`).

Written as plain ASGI middleware so they also cover `/docs` and `/openapi.json`, and so an oversized body is refused
while it streams in, before anything parses it.
"""

from __future__ import annotations

import hmac
import re
from email.message import Message as MimeHeader

from search_api.access import split_collection
from search_api.request_context import ASGIApp, Message, Receive, Scope, Send, reply_error
from search_api.routes.api_docs import ASSETS, ASSETS_PATH
from semsearch.errors import KeysFileUnreadable
from semsearch.scoped_keys import ADMIN, ANYONE, READER, KeyRing, Principal

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
#: Reading the collections themselves (the list, one collection's status) is reading too; creating and dropping
#: one needs the admin key. Paths under `/collections/{name}/` follow the rule of the route they repeat.
READ_COLLECTION_PATHS = re.compile(r"^/collections(/[^/]+)?$")
#: OpenAI's vector stores: listing them, reading one, and searching one are reading; their files (and every write)
#: need the admin key, as documents do.
READ_VECTOR_STORE_PATHS = re.compile(r"^/v1/vector_stores(/[^/]+)?$")
SEARCH_VECTOR_STORE_PATH = re.compile(r"^/v1/vector_stores/[^/]+/search$")


def is_read(method: str, path: str, read_paths: frozenset[str] = READ_PATHS) -> bool:
    """Whether the read key opens `method path` (a path under `/collections/{name}/` as the route it repeats)."""
    route = split_collection(path)[1]
    if method in ("GET", "HEAD") and (READ_COLLECTION_PATHS.match(route) or READ_VECTOR_STORE_PATHS.match(path)):
        return True
    return route in read_paths or (method == "POST" and SEARCH_VECTOR_STORE_PATH.match(path) is not None)


def is_upload(scope: Scope) -> bool:
    """A path that takes file uploads (`/files`, `/collections/{name}/files`, `/v1/files`): a multipart body, held to
    the upload limit instead of the JSON one. Any method: another one than POST then answers 405, as elsewhere.
    Attaching a file to a vector store (`POST /v1/vector_stores/{id}/files`) is JSON."""
    path = scope["path"].rstrip("/")
    return path.endswith("/files") and not path.startswith("/v1/vector_stores/")


#: Where a scoped key may go (`/collections/{name}/...` as the route it repeats): the read paths, and the routes
#: that check a key's collections, access and tenant (`search_api/scopes.py`): documents and tenants. Everything else
#: (/metrics, creating or dropping collections, uploads) stays the admin key's.
SCOPED_PREFIXES = ("/documents", "/tenants")


def reaches(path: str) -> bool:
    """Whether a scoped key may reach `path` at all (its route then checks the key's scope)."""
    route = split_collection(path)[1]
    return route in READ_PATHS or any(route == p or route.startswith(p + "/") for p in SCOPED_PREFIXES)


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` (uploads: `upload_max_bytes`) with 413, by Content-Length or while a
    chunked body streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int, upload_max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = self.max_bytes, "SEMSEARCH_MAX_REQUEST_BYTES"
        if is_upload(scope):
            limit, setting = self.upload_max_bytes, "SEMSEARCH_MAX_UPLOAD_BYTES"
        message = f"request body larger than the limit of {limit} bytes ({setting})"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
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
                if received > limit:
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
    anywhere, the read key on `read_paths`, or a scoped key from `keyring` on the paths it `reaches`. The read key
    on another path is a 403 that names the key needed. With only a read key set, the API is read-only: no key opens
    a write (ingest then writes to Milvus directly). With no key at all (none set, no scoped key in the file) the
    API is open; the first scoped key created closes it. Each request passed on carries its `Principal` in
    `scope["state"]["principal"]`."""

    def __init__(
        self,
        app: ASGIApp,
        api_key: str | None,
        read_key: str | None = None,
        read_paths: frozenset[str] = READ_PATHS,
        keyring: KeyRing | None = None,
    ) -> None:
        self.app = app
        self.admin = _bearer(api_key)
        self.read = _bearer(read_key)
        self.read_paths = read_paths
        self.keyring = keyring

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)  # OPTIONS: a CORS preflight never carries credentials
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        is_admin, is_reader = _matches(given, self.admin), _matches(given, self.read)
        reading = is_read(scope["method"], scope["path"], self.read_paths)
        if is_admin or (is_reader and reading):  # the env keys work whatever the keys file says
            await self._pass(ADMIN if is_admin else READER, scope, receive, send)
            return
        try:
            scoped = self._scoped(given) if not is_reader else None
            has_scoped = self.keyring is not None and len(self.keyring) > 0
        except KeysFileUnreadable as exc:
            await reply_error(send, 503, str(exc))
            return
        if not (self.admin or self.read or has_scoped):
            await self._pass(ANYONE, scope, receive, send)  # no key set anywhere: an open API, as before keys
        elif scoped is not None and reaches(scope["path"]):
            await self._pass(scoped, scope, receive, send)
        elif scoped is not None:
            detail = f"this path needs the admin key (SEMSEARCH_API_KEY); the {scoped.describe()} does not reach it"
            await reply_error(send, 403, detail)
        elif is_reader or (self.admin is None and not has_scoped and not reading):
            detail = "this path needs the admin key (SEMSEARCH_API_KEY); the read key only searches"
            if self.admin is None:
                detail = "this API is read-only: SEMSEARCH_API_KEY is not set, so nothing may write through it"
            await reply_error(send, 403, detail)
        else:
            wanted = "SEMSEARCH_READ_API_KEY or SEMSEARCH_API_KEY" if self.read else "SEMSEARCH_API_KEY"
            wanted += " or a key from `semsearch keys create`" if has_scoped else ""
            detail = f"missing or wrong API key: send Authorization: Bearer <{wanted}>"
            await reply_error(send, 401, detail, [(b"www-authenticate", b"Bearer")])

    def _scoped(self, given: bytes) -> Principal | None:
        """The scoped key's principal, None if `given` is no scoped key (KeysFileUnreadable if the file is bad)."""
        if self.keyring is None or not given.startswith(b"Bearer "):
            return None
        return self.keyring.find(given.removeprefix(b"Bearer ").decode("latin-1"))

    async def _pass(self, principal: Principal, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def _bearer(key: str | None) -> bytes | None:
    return f"Bearer {key}".encode() if key else None


def _matches(given: bytes, expected: bytes | None) -> bool:
    return expected is not None and hmac.compare_digest(given, expected)


class JsonBodiesOnly:
    """Bodies must be JSON: another declared Content-Type is a 415 that says so, instead of a confusing 422 about
    the body's shape. A body with no Content-Type is read as JSON. Uploads are the exception: their route checks
    for multipart/form-data itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH") and not is_upload(scope):
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
