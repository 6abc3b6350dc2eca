"""`python -m search_api`: the same as `semsearch serve`."""

import typer

from semsearch_cli.serve import serve

typer.run(serve)
