"""The MCP server: `search` and `get_context` tools for agents, over stdio or streamable HTTP (`semsearch mcp`).

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
from search_api.guards import ApiKeyGuard
from search_api.models import ContextRequest, ContextResponse, SearchRequest, SearchResponse
from semsearch import queries
from semsearch.engine import Engine
from semsearch.errors import SemsearchError
from semsearch.knowledge_base import KnowledgeBase
from semsearch.ranking import Mode

#: Where the streamable HTTP transport answers: http://HOST:PORT/mcp
HTTP_PATH = "/mcp"

INSTRUCTIONS = (
    "Semantic search over a document collection. Use `get_context` to fetch cited passages to answer a question "
    "(each passage is numbered [n] with its source), and `search` to list the best matching chunks with scores."
)


def _doc(model: type[BaseModel], name: str) -> Any:
    """The field's description from the HTTP request model: one wording for the API and the tools."""
    return Field(description=model.model_fields[name].description)


def build_server(engine: Engine) -> MCPServer:
    server = MCPServer("semsearch", instructions=INSTRUCTIONS, version=semsearch.__version__, log_level="WARNING")
    kb = KnowledgeBase(engine)
    read_only = ToolAnnotations(readOnlyHint=True, openWorldHint=False)

    @server.tool(annotations=read_only)
    def search(
        query: Annotated[str, _doc(SearchRequest, "query")],
        top_k: Annotated[int, _doc(SearchRequest, "top_k")] = 10,
        mode: Annotated[Mode | None, _doc(SearchRequest, "mode")] = None,
        filter: Annotated[dict[str, Any] | None, _doc(SearchRequest, "filter")] = None,
        group_by_document: Annotated[bool, _doc(SearchRequest, "group_by_document")] = False,
        min_score: Annotated[float | None, _doc(SearchRequest, "min_score")] = None,
        rerank: Annotated[bool, _doc(SearchRequest, "rerank")] = False,
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
            )
            return SearchResponse.model_validate(kb.search(request.query, **request.search_args()).to_dict())

        return _answer(answer)

    @server.tool(annotations=read_only)
    def get_context(
        query: Annotated[str, _doc(ContextRequest, "query")],
        token_budget: Annotated[int, _doc(ContextRequest, "token_budget")] = 1500,
        mode: Annotated[Mode | None, _doc(ContextRequest, "mode")] = None,
        filter: Annotated[dict[str, Any] | None, _doc(ContextRequest, "filter")] = None,
        rerank: Annotated[bool, _doc(ContextRequest, "rerank")] = False,
    ) -> ContextResponse:
        """RAG context for a question: the most relevant passages merged and packed into `token_budget` tokens,
        as a ready-to-paste `context` string ([n] passage, then its source) plus the passages with citations."""

        def answer() -> ContextResponse:
            request = ContextRequest(query=query, token_budget=token_budget, mode=mode, filter=filter, rerank=rerank)
            return ContextResponse.model_validate(kb.context(request.query, **request.context_args()).to_dict())

        return _answer(answer)

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
    server = build_server(engine)
    if transport == "stdio":
        server.run("stdio")
        return
    import uvicorn

    app: Any = server.streamable_http_app(streamable_http_path=HTTP_PATH, host=host)
    if api_key or read_key:  # the tools only read: either key opens them
        app = ApiKeyGuard(app, api_key=api_key, read_key=read_key, read_paths=frozenset({HTTP_PATH}))
    uvicorn.run(app, host=host, port=port, log_level=log_level, log_config=None)  # our one logging setup
