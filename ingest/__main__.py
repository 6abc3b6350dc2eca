"""`python -m ingest PATH...`: the same command as `semsearch ingest`."""

import typer

from semsearch_cli.ingest import ingest

typer.run(ingest)
