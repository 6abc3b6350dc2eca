"""The FastAPI application: a lifespan that loads the model and opens Milvus once, and thin routes."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from pydantic import SecretStr

import semsearch
from search_api.deps import collection_path
from search_api.errors import install_error_handlers
from search_api.follow import AliasFollower
from search_api.guards import OPEN_PATHS, ApiKeyGuard, BodySizeLimit, JsonBodiesOnly, is_read, reaches
from search_api.metrics import install_metrics
from search_api.models import ErrorResponse
from search_api.request_context import RequestContext
from search_api.routes import (
    api_docs,
    collections,
    documents,
    embeddings,
    files,
    health,
    openai_files,
    openai_vector_store_files,
    openai_vector_stores,
    page,
    search,
    tenants,
)
from search_api.startup import CollectionLoader
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.errors import KeysFileUnreadable
from semsearch.file_store import FileStore
from semsearch.logs import configure_logging
from semsearch.scoped_keys import KeyRing
from semsearch.service import Service
from semsearch.settings import Settings
from semsearch.uploads import JobQueue
from semsearch.vector_stores import VectorStores

#: The routes that work on one knowledge base: served for the default collection as they are, and for any
#: collection under `/collections/{collection}`.
COLLECTION_ROUTERS = (search.router, documents.router, files.router, tenants.router, embeddings.router)
COLLECTION_PREFIX = "/collections/{collection}"
UNKNOWN_COLLECTION: dict[int | str, dict] = {
    400: {"model": ErrorResponse, "description": "A name Milvus refuses, or valid JSON the engine refuses"},
    404: {"model": ErrorResponse, "description": "No such collection (or document)"},
}

DESCRIPTION = """
Semantic search over your documents, backed by Milvus and a sentence-transformers model.

* `POST /search`: dense, keyword (BM25) or hybrid search; `score` is relevance in 0..1, higher is better.
* `POST /context`: the best passages packed into a token budget, with citations, for RAG.
* `POST /documents` ingests documents through the same pipeline as `semsearch ingest`.
* `POST /files` uploads files (multipart: PDF, Office, Markdown, HTML, tables, ...), read by the same readers as
  `semsearch ingest`; it answers 202 with a job (`GET /jobs/{id}`). `GET /files` lists files, `DELETE /files/{id}`
  removes one.
* `POST /v1/embeddings`: OpenAI-compatible embeddings with the collection's model (the `openai` client works).
* `/v1/files` and `/v1/vector_stores`: OpenAI's vector stores API (files, vector stores, their files and file
  batches, search), each vector store a collection; the `openai` client's file search works with `base_url` here.
* `GET /metrics`: Prometheus metrics (requests and latency per route, embed and Milvus time, ingest counts).
* `/collections`: list, create (`POST`), describe and drop (`DELETE`, admin key) collections; every route above
  also answers under `/collections/{collection}/...` for that collection (`/search` is the default collection's).
* `GET /ready` tells whether Milvus, the collection and the model are there (503 `"status": "loading"`, with
  `Retry-After` and Milvus's load progress, while a big collection loads; `/health` answers from the start).

Errors are JSON: `{"detail": "...", "request_id": "..."}` (422 responses carry FastAPI's list of validation problems
in `detail`); the id is also in the `X-Request-ID` header and in the server log. Bodies must be JSON (415 otherwise),
but uploads (`POST .../files`) are multipart/form-data; bodies over `SEMSEARCH_MAX_REQUEST_BYTES` (uploads:
`SEMSEARCH_MAX_UPLOAD_BYTES`) answer 413. When `SEMSEARCH_API_KEY` (admin) or `SEMSEARCH_READ_API_KEY`
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
        opened = engine or Engine.open(settings, create=True, embedder=embedder, load=False, recorded=True)
        app.state.engine = opened
        service.models.adopt(opened.embedder, opened.settings)  # the other collections share its model
        loader = app.state.loader = CollectionLoader(opened)  # a big collection loads while /health answers
        if not opened.store.loaded:
            loader.start()
        follower = AliasFollower(app, settings.alias_check_seconds)  # follows `semsearch reindex`
        follower.start()
        try:
            yield
        finally:
            app.state.jobs.close()  # queued uploads are dropped with their files; a running one ends after its file
            loader.stop()
            follower.stop()
            service.close()
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
    service = app.state.service = Service(settings)
    service.protect(settings.collection, lambda: app.state.engine)
    app.state.engine = None
    app.state.loader = None
    app.state.write_lock = threading.Lock()
    app.state.jobs = JobQueue(
        settings.upload_queue_size,
        app.state.write_lock,
        on_end=lambda job: app.state.metrics.record_ingest(
            job.stats.documents, job.stats.chunks, len(job.failed_files())
        ),  # uploads count in /metrics as POST /documents does
    )
    app.state.file_store = FileStore.of(settings)  # `/v1/files`; its folder is made on the first file
    app.state.vector_stores = VectorStores.of(service, app.state.file_store, app.state.jobs, settings)
    install_error_handlers(app)
    openai_routes = (openai_files, openai_vector_stores, openai_vector_store_files)
    for module in (search, documents, tenants, files, embeddings, health, page, collections, api_docs, *openai_routes):
        app.include_router(module.router)
    app.include_router(files.jobs_router)
    for router in COLLECTION_ROUTERS:
        app.include_router(
            router, prefix=COLLECTION_PREFIX, dependencies=[Depends(collection_path)], responses=UNKNOWN_COLLECTION
        )
    # Added innermost first: the request id wraps everything, then the key check, then the body guards.
    app.add_middleware(JsonBodiesOnly)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes, upload_max_bytes=settings.max_upload_bytes)
    admin_key, read_key = _secret(settings.api_key), _secret(settings.read_api_key)
    # Always guarded: a scoped key created while the API runs (`semsearch keys create`) works at once. A keys file
    # that cannot be read stops the app here, naming it (KeysFileUnreadable).
    keyring = KeyRing(settings.keys_path)
    app.add_middleware(ApiKeyGuard, api_key=admin_key, read_key=read_key, keyring=keyring)
    _document_keys(app, admin=bool(admin_key), read=bool(read_key), keyring=keyring)
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


def _access(path: str, method: str) -> str:
    """What an operation needs of a scoped key: read (the read paths, and reading documents or tenants), write
    (changing them), admin (the rest: no scoped key reaches it)."""
    if not reaches(path):
        return "admin"
    return "read" if is_read(method.upper(), path) or method.lower() == "get" else "write"


def _has_keys(keyring: KeyRing) -> bool:
    try:
        return len(keyring) > 0
    except KeysFileUnreadable:
        return True  # the file is there, only broken: its keys are refused until it is fixed, but they exist


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


def _document_keys(app: FastAPI, *, admin: bool, read: bool, keyring: KeyRing) -> None:
    """Show in /docs which key each operation takes: `bearer` is the admin key (SEMSEARCH_API_KEY), `readKey` the
    read key, `scopedKey` a key from `semsearch keys create`; an operation listing several takes any, and `[]` means
    no key (/health, the page); `scopedKey` is listed while the keys file holds a key. `x-access` says what a scoped
    key needs for an operation: read, write, or admin (no scoped key will do)."""
    build = app.openapi
    schemes = {
        "bearer": {"type": "http", "scheme": "bearer"},  # SEMSEARCH_API_KEY: every operation
        "readKey": {"type": "http", "scheme": "bearer", "description": "SEMSEARCH_READ_API_KEY: searching only"},
        "scopedKey": {
            "type": "http",
            "scheme": "bearer",
            "description": "A scoped key (`semsearch keys create`): its collections only, read or read-write, and in "
            "a multi-tenant collection its tenant only (docs/tenants-and-keys.md)",
        },
    }

    def openapi() -> dict:
        wanted = {name for name, on in (("bearer", admin), ("readKey", read), ("scopedKey", _has_keys(keyring))) if on}
        schema = build()
        schema.setdefault("components", {})["securitySchemes"] = {k: v for k, v in schemes.items() if k in wanted}
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                reads = is_read(method.upper(), path)
                takes = [] if path in OPEN_PATHS else ["bearer", *(["readKey"] if reads else [])]
                access = _access(path, method)
                if access != "admin" and path not in OPEN_PATHS:
                    takes.append("scopedKey")
                operation["security"] = [{name: []} for name in takes if name in wanted]
                if path not in OPEN_PATHS:
                    operation["x-access"] = access
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
