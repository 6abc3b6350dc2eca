"""`python -m search_api` — the same as `semsearch serve`."""

import typer

from search_api.cli import serve

typer.run(serve)
