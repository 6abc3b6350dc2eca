"""`semsearch serve` (the HTTP API under uvicorn) and `semsearch mcp` (the MCP tools): one engine each."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from semsearch.engine import Engine
from semsearch.extras import require
from semsearch.scoped_keys import KeyRing
from semsearch_cli.exits import cli_errors
from semsearch_cli.options import (
    CollectionOption,
    LogLevelOption,
    MilvusUriOption,
    ModelOption,
    api_key,
    load_settings,
)
from semsearch_cli.progress import spinner
from semsearch_cli.running import advertised


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    milvus_uri: MilvusUriOption = None,
    collection: CollectionOption = None,
    model: ModelOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Serve the HTTP API (FastAPI under uvicorn); OpenAPI docs at /docs."""
    import uvicorn

    from search_api.app import create_app

    settings = load_settings(
        milvus_uri=milvus_uri, collection=collection, model=model, log_level=log_level, server=True
    )
    with cli_errors():
        KeyRing(settings.keys_path)  # a keys file that cannot be read ends the command here, naming it
        # Milvus down, a locked .db or a model mismatch end the command here, plainly; the collection itself
        # loads after uvicorn listens (`search_api.startup`): /health answers at once, /ready once it is loaded.
        with spinner("starting") as progress:
            engine = Engine.open(settings, create=True, load=False, on_progress=progress, recorded=True)
        with advertised(settings, host, port):  # `semsearch search` on the same .db goes through this server
            # uvicorn's loggers go through our one setup (log_config=None); our access line replaces uvicorn's.
            uvicorn.run(create_app(engine=engine), host=host, port=port, log_config=None, access_log=False)


class McpTransport(StrEnum):
    STDIO = "stdio"
    HTTP = "http"


def mcp(
    transport: Annotated[
        McpTransport, typer.Option(help="stdio (an agent starts this command) or http (streamable HTTP).")
    ] = McpTransport.STDIO,
    host: Annotated[str, typer.Option(help="Interface to bind (http).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (http); the endpoint is /mcp.")] = 8001,
    milvus_uri: MilvusUriOption = None,
    collection: CollectionOption = None,
    model: ModelOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Serve the MCP tools `search` and `get_context` (same engine and settings as the API)."""
    settings = load_settings(
        milvus_uri=milvus_uri, collection=collection, model=model, log_level=log_level, server=True
    )
    with cli_errors():
        require("mcp", "semsearch mcp")  # the [mcp] extra: said before the engine takes its seconds to open
        with spinner("starting") as progress:
            engine = Engine.open(settings, create=False, on_progress=progress)
        from search_api import mcp_server  # the mcp package takes a while to import; only this command needs it

        try:
            mcp_server.run(
                engine,
                transport.value,
                host=host,
                port=port,
                api_key=api_key(settings),
                log_level=settings.log_level_for(server=True),
                read_key=settings.read_api_key.get_secret_value() if settings.read_api_key else None,
            )
        finally:
            engine.close()
