"""The `semsearch` command: every command of the product under one name, as thin callers of the engine.

Commands live here and only here (the engine imports neither typer nor rich); `semsearch_cli.exits` maps the engine's
error families to exit codes.
"""

from typing import Annotated

import typer

import semsearch
from semsearch_cli import collections
from semsearch_cli.documents import delete, list_documents, show, status
from semsearch_cli.evaluate import evaluate
from semsearch_cli.ingest import ingest, ingest_epilog
from semsearch_cli.keys import keys_app
from semsearch_cli.options import verbosity
from semsearch_cli.reindex import reindex_command
from semsearch_cli.search import search
from semsearch_cli.serve import mcp, serve
from semsearch_cli.transfer import export_command, import_command

app = typer.Typer(
    name="semsearch",
    help="Semantic search over your documents with Milvus and sentence-transformers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"semsearch {semsearch.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="Log more: -v info, -vv debug (default: warnings).")
    ] = 0,
    quiet: Annotated[int, typer.Option("--quiet", "-q", count=True, help="Log less: -q errors only.")] = 0,
) -> None:
    """Semantic search over your documents with Milvus and sentence-transformers."""
    verbosity["steps"] = quiet - verbose


app.command("ingest", epilog=ingest_epilog())(ingest)
app.command("search")(search)
app.command("serve")(serve)
app.command("mcp")(mcp)
app.command("eval")(evaluate)
app.command("reindex")(reindex_command)
app.command("status")(status)
app.command("list")(list_documents)
app.command("show")(show)
app.command("delete")(delete)
app.command("export")(export_command)
app.command("import")(import_command)
app.add_typer(collections.app, name="collections")
app.add_typer(keys_app, name="keys")
