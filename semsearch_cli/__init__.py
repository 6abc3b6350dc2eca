"""The `semsearch` command: the write door's and the read door's commands under one name."""

import typer

from evaluation.cli import evaluate
from ingest.cli import ingest
from ingest.reindex_cli import reindex_command
from search_api.cli import mcp, search, serve

app = typer.Typer(
    name="semsearch",
    help="Semantic search over your documents with Milvus and sentence-transformers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("ingest")(ingest)
app.command("search")(search)
app.command("serve")(serve)
app.command("mcp")(mcp)
app.command("eval")(evaluate)
app.command("reindex")(reindex_command)
