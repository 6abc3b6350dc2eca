"""The MCP server: `search`, `get_context` and `list_collections` tools for agents, over stdio or streamable HTTP
(`semsearch mcp`). `search` and `get_context` take a `collection` (default: the one the server was started with).

The tools validate the same request models as `POST /search` and `POST /context` and call the same knowledge-base
verbs, so an agent gets exactly what the HTTP API answers (`semsearch.answers`), with the same limits and messages.
The `mcp` package is the [mcp] extra: `semsearch mcp` checks for it (`semsearch.extras.require`) before importing this.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

import semsearch
from search_api.collection_models import CollectionList
from search_api.guards import ApiKeyGuard
from search_api.models import ContextRequest, ContextResponse, SearchRequest, SearchResponse
from semsearch import queries
from semsearch.engine import Engine
from semsearch.errors import SemsearchError
from semsearch.knowledge_base import KnowledgeBase
from semsearch.ranking import Mode
from semsearch.service import Service

#: Where the streamable HTTP transport answers: http://HOST:PORT/mcp
HTTP_PATH = "/mcp"

INSTRUCTIONS = (
    "Semantic search over document collections. Use `get_context` to fetch cited passages to answer a question "
    "(each passage is numbered [n] with its source), and `search` to list the best matching chunks with scores. "
    "Both search the default collection unless given a `collection`; `list_collections` names them all."
)
COLLECTION = Field(description="The collection to search (see `list_collections`); default: the server's own.")


def _doc(model: type[BaseModel], name: str) -> Any:
    """The field's description from the HTTP request model: one wording for the API and the tools."""
    return Field(description=model.model_fields[name].description)


def build_server(engine: Engine, service: Service | None = None) -> MCPServer:
    """The tools over `engine` (the default collection) and the other collections of its Milvus through `service`
    (one made for them if None: it opens a collection when a tool first names it, sharing the engine's model)."""
    server = MCPServer("semsearch", instructions=INSTRUCTIONS, version=semsearch.__version__, log_level="WARNING")
    default = engine.settings.collection
    service = service or Service.beside(engine)
    read_only = ToolAnnotations(readOnlyHint=True, openWorldHint=False)

    def knowledge_base(collection: str | None, tenant: str | None) -> KnowledgeBase:
        """The collection's knowledge base, in `tenant` where a multi-tenant collection needs one; a server started
        with SEMSEARCH_TENANT stays inside that tenant (naming another is refused)."""
        kb = _collection(collection)
        if engine.settings.tenant:
            kb = kb.for_tenant(engine.settings.tenant)
        return kb.for_tenant(tenant) if tenant else kb

    def _collection(collection: str | None) -> KnowledgeBase:
        if collection is None or collection == default:
            return KnowledgeBase(engine, owned=False)
        return service.open(collection)

    @server.tool(annotations=read_only)
    def search(
        query: Annotated[str, _doc(SearchRequest, "query")],
        top_k: Annotated[int, _doc(SearchRequest, "top_k")] = 10,
        mode: Annotated[Mode | None, _doc(SearchRequest, "mode")] = None,
        filter: Annotated[dict[str, Any] | None, _doc(SearchRequest, "filter")] = None,
        group_by_document: Annotated[bool, _doc(SearchRequest, "group_by_document")] = False,
        min_score: Annotated[float | None, _doc(SearchRequest, "min_score")] = None,
        rerank: Annotated[bool, _doc(SearchRequest, "rerank")] = False,
        collection: Annotated[str | None, COLLECTION] = None,
        tenant: Annotated[str | None, _doc(SearchRequest, "tenant")] = None,
    ) -> SearchResponse:
        """The best matching chunks, best first, each with `score` (0..1, higher is better), text, source and
        metadata: what `POST /search` answers."""

        def answer() -> SearchResponse:
            request = SearchRequest(
                query=query,
                top_k=top_k,
                mode=mode,
                filter=filter,
                group_by_document=group_by_document,
                min_score=min_score,
                rerank=rerank,
                tenant=tenant,
            )
            kb = knowledge_base(collection, request.tenant)
            return SearchResponse.model_validate(kb.search(request.query, **request.search_args()).to_dict())

        return _answer(answer)

    @server.tool(annotations=read_only)
    def get_context(
        query: Annotated[str, _doc(ContextRequest, "query")],
        token_budget: Annotated[int, _doc(ContextRequest, "token_budget")] = 1500,
        mode: Annotated[Mode | None, _doc(ContextRequest, "mode")] = None,
        filter: Annotated[dict[str, Any] | None, _doc(ContextRequest, "filter")] = None,
        rerank: Annotated[bool, _doc(ContextRequest, "rerank")] = False,
        collection: Annotated[str | None, COLLECTION] = None,
        tenant: Annotated[str | None, _doc(ContextRequest, "tenant")] = None,
    ) -> ContextResponse:
        """RAG context for a question: the most relevant passages merged and packed into `token_budget` tokens,
        as a ready-to-paste `context` string ([n] passage, then its source) plus the passages with citations."""

        def answer() -> ContextResponse:
            request = ContextRequest(
                query=query, token_budget=token_budget, mode=mode, filter=filter, rerank=rerank, tenant=tenant
            )
            kb = knowledge_base(collection, request.tenant)
            return ContextResponse.model_validate(kb.context(request.query, **request.context_args()).to_dict())

        return _answer(answer)

    @server.tool(annotations=read_only)
    def list_collections() -> CollectionList:
        """The collections this server can search: name, model, settings and whether it is open; `default` is the
        one `search` and `get_context` use when given no `collection`. What `GET /collections` answers."""
        return _answer(lambda: CollectionList(default=default, collections=service.collections()))

    return server


def _answer(call: Any) -> Any:
    """Run a tool; bad arguments and engine errors become tool errors with the API's message."""
    try:
        return call()
    except ValidationError as exc:
        raise ToolError(queries.problems(exc)) from exc
    except SemsearchError as exc:
        raise ToolError(str(exc)) from exc


def run(
    engine: Engine,
    transport: str,
    host: str,
    port: int,
    api_key: str | None,
    log_level: str,
    read_key: str | None = None,
) -> None:
    """Serve until stopped. Over HTTP the API key rule is the API's: `Authorization: Bearer <key>` when set."""
    service = Service.beside(engine)
    try:
        _serve(build_server(engine, service), transport, host, port, api_key, log_level, read_key)
    finally:
        service.close()


def _serve(
    server: MCPServer, transport: str, host: str, port: int, api_key: str | None, log_level: str, read_key: str | None
) -> None:
    if transport == "stdio":
        server.run("stdio")
        return
    import uvicorn

    app: Any = server.streamable_http_app(streamable_http_path=HTTP_PATH, host=host)
    if api_key or read_key:  # the tools only read: either key opens them
        app = ApiKeyGuard(app, api_key=api_key, read_key=read_key, read_paths=frozenset({HTTP_PATH}))
    uvicorn.run(app, host=host, port=port, log_level=log_level, log_config=None)  # our one logging setup
