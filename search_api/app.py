"""The FastAPI application: a lifespan that loads the model and opens Milvus once, and thin routes."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import semsearch
from search_api.errors import install_error_handlers
from search_api.follow import AliasFollower
from search_api.guards import OPEN_PATHS, ApiKeyGuard, BodySizeLimit, JsonBodiesOnly
from search_api.metrics import install_metrics
from search_api.request_context import RequestContext
from search_api.routes import documents, embeddings, health, page, search
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
* `GET /ready` tells whether Milvus, the collection and the model are there.

Errors are JSON: `{"detail": "...", "request_id": "..."}` (422 responses carry FastAPI's list of validation problems
in `detail`); the id is also in the `X-Request-ID` header and in the server log. Bodies must be JSON (415 otherwise);
bodies over `SEMSEARCH_MAX_REQUEST_BYTES` answer 413. When `SEMSEARCH_API_KEY` is set, every path but `/health` and
the search page at `/` (which asks for the key) needs `Authorization: Bearer <key>` (401 otherwise).
"""


def create_app(
    settings: Settings | None = None, *, embedder: Embedder | None = None, engine: Engine | None = None
) -> FastAPI:
    """Build the app. Pass an opened `engine` (the CLI does, to report startup errors plainly) or an `embedder`
    to share an already loaded model (tests); otherwise both are opened when the app starts."""
    settings = settings or (engine.settings if engine else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level, settings.log_format)
        opened = engine or Engine.open(settings, create=True, embedder=embedder)
        app.state.engine = opened
        follower = AliasFollower(app, settings.alias_check_seconds)  # follows `semsearch reindex`
        follower.start()
        try:
            yield
        finally:
            follower.stop()
            current, app.state.engine = app.state.engine, None
            current.close()  # the follower closed the engines it replaced

    app = FastAPI(
        title="milvus semantic search", version=semsearch.__version__, description=DESCRIPTION, lifespan=lifespan
    )
    app.state.settings = settings
    app.state.engine = None
    app.state.write_lock = threading.Lock()
    install_error_handlers(app)
    for module in (search, documents, embeddings, health, page):
        app.include_router(module.router)
    # Added innermost first: the request id wraps everything, then the key check, then the body guards.
    app.add_middleware(JsonBodiesOnly)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    if settings.api_key:
        app.add_middleware(ApiKeyGuard, api_key=settings.api_key.get_secret_value())
        _document_bearer_auth(app)
    install_metrics(app)  # its middleware also counts refused requests
    app.add_middleware(RequestContext)  # outermost: every response, refused or not, carries its request id
    return app


def _document_bearer_auth(app: FastAPI) -> None:
    """Show the key requirement in /docs: a bearer scheme on every operation but /health."""
    build = app.openapi

    def openapi() -> dict:
        schema = build()
        schema.setdefault("components", {})["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        for path, operations in schema["paths"].items():
            for operation in operations.values():
                operation["security"] = [] if path in OPEN_PATHS else [{"bearer": []}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
