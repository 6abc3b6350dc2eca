"""The FastAPI application: a lifespan that loads the model and opens Milvus once, and thin routes."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from pydantic import SecretStr

import semsearch
from search_api.errors import install_error_handlers
from search_api.follow import AliasFollower
from search_api.guards import OPEN_PATHS, READ_PATHS, ApiKeyGuard, BodySizeLimit, JsonBodiesOnly
from search_api.metrics import install_metrics
from search_api.request_context import RequestContext
from search_api.routes import api_docs, documents, embeddings, health, page, search
from search_api.startup import CollectionLoader
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.logs import configure_logging
from semsearch.settings import Settings

DESCRIPTION = """
Semantic search over your documents, backed by Milvus and a sentence-transformers model.

* `POST /search`: dense, keyword (BM25) or hybrid search; `score` is relevance in 0..1, higher is better.
* `POST /context`: the best passages packed into a token budget, with citations, for RAG.
* `POST /documents` ingests documents through the same pipeline as `semsearch ingest`.
* `POST /v1/embeddings`: OpenAI-compatible embeddings with the collection's model (the `openai` client works).
* `GET /metrics`: Prometheus metrics (requests and latency per route, embed and Milvus time, ingest counts).
* `GET /ready` tells whether Milvus, the collection and the model are there (503 `"status": "loading"`, with
  `Retry-After` and Milvus's load progress, while a big collection loads; `/health` answers from the start).

Errors are JSON: `{"detail": "...", "request_id": "..."}` (422 responses carry FastAPI's list of validation problems
in `detail`); the id is also in the `X-Request-ID` header and in the server log. Bodies must be JSON (415 otherwise);
bodies over `SEMSEARCH_MAX_REQUEST_BYTES` answer 413. When `SEMSEARCH_API_KEY` (admin) or `SEMSEARCH_READ_API_KEY`
is set, every path but `/health` and the search page at `/` (which asks for a key) needs `Authorization: Bearer <key>`
(401 otherwise); the read key opens searching (search, context, embeddings, ready, these docs) and answers 403
elsewhere; each operation's `security` says which key it takes.
"""


def create_app(
    settings: Settings | None = None, *, embedder: Embedder | None = None, engine: Engine | None = None
) -> FastAPI:
    """Build the app. Pass an opened `engine` (the CLI does, to report startup errors plainly) or an `embedder`
    to share an already loaded model (tests); otherwise both are opened when the app starts."""
    settings = settings or (engine.settings if engine else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level_for(server=True), settings.log_format)
        opened = engine or Engine.open(settings, create=True, embedder=embedder, load=False)
        app.state.engine = opened
        loader = app.state.loader = CollectionLoader(opened)  # a big collection loads while /health answers
        if not opened.store.loaded:
            loader.start()
        follower = AliasFollower(app, settings.alias_check_seconds)  # follows `semsearch reindex`
        follower.start()
        try:
            yield
        finally:
            loader.stop()
            follower.stop()
            current, app.state.engine = app.state.engine, None
            current.close()  # the follower closed the engines it replaced

    app = FastAPI(
        title="milvus semantic search",
        version=semsearch.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc are served offline by routes.api_docs, not from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = None
    app.state.loader = None
    app.state.write_lock = threading.Lock()
    install_error_handlers(app)
    for module in (search, documents, embeddings, health, page, api_docs):
        app.include_router(module.router)
    # Added innermost first: the request id wraps everything, then the key check, then the body guards.
    app.add_middleware(JsonBodiesOnly)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    admin_key, read_key = _secret(settings.api_key), _secret(settings.read_api_key)
    if admin_key or read_key:
        app.add_middleware(ApiKeyGuard, api_key=admin_key, read_key=read_key)
        _document_keys(app, admin=bool(admin_key), read=bool(read_key))
    if settings.cors_origins:  # outside the key check: a browser's preflight carries no key
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["authorization", "content-type", "x-request-id"],
            expose_headers=["x-request-id"],
        )
    install_metrics(app)  # its middleware also counts refused requests
    app.add_middleware(RequestContext)  # outermost: every response, refused or not, carries its request id
    return app


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


def _document_keys(app: FastAPI, *, admin: bool, read: bool) -> None:
    """Show in /docs which key each operation takes: `bearer` is the admin key (SEMSEARCH_API_KEY), `readKey` the
    read key; an operation listing both takes either, and `[]` means no key (/health, the page)."""
    build = app.openapi
    schemes = {
        "bearer": {"type": "http", "scheme": "bearer"},  # SEMSEARCH_API_KEY: every operation
        "readKey": {"type": "http", "scheme": "bearer", "description": "SEMSEARCH_READ_API_KEY: searching only"},
    }
    wanted = {name for name, on in (("bearer", admin), ("readKey", read)) if on}

    def openapi() -> dict:
        schema = build()
        schema.setdefault("components", {})["securitySchemes"] = {k: v for k, v in schemes.items() if k in wanted}
        for path, operations in schema["paths"].items():
            takes = [] if path in OPEN_PATHS else ["bearer", *(["readKey"] if path in READ_PATHS else [])]
            for operation in operations.values():
                operation["security"] = [{name: []} for name in takes if name in wanted]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
