"""The FastAPI application: a lifespan that loads the model and opens Milvus once, and thin routes."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from search_api.errors import install_error_handlers
from search_api.routes import documents, health, search
from semsearch.console import quiet_libraries
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.settings import Settings

DESCRIPTION = """
Semantic search over your documents, backed by Milvus and a sentence-transformers model.

* `POST /search` embeds the query and returns the nearest chunks; `score` is the **cosine similarity**
  (higher is better).
* `POST /documents` ingests documents through the same pipeline as `semsearch ingest`.
* `GET /ready` tells whether Milvus, the collection and the model are there.

Errors are JSON: `{"detail": "..."}` (422 responses carry FastAPI's list of validation problems).
"""


def create_app(
    settings: Settings | None = None, *, embedder: Embedder | None = None, engine: Engine | None = None
) -> FastAPI:
    """Build the app. Pass an opened `engine` (the CLI does, to report startup errors plainly) or an `embedder`
    to share an already loaded model (tests); otherwise both are opened when the app starts."""
    settings = settings or (engine.settings if engine else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        quiet_libraries()
        opened = engine or Engine.open(settings, create=True, embedder=embedder)
        app.state.engine = opened
        try:
            yield
        finally:
            app.state.engine = None
            opened.close()

    app = FastAPI(title="milvus semantic search", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = None
    app.state.write_lock = threading.Lock()
    install_error_handlers(app)
    for module in (search, documents, health):
        app.include_router(module.router)
    return app
