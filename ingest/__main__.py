"""`python -m ingest PATH...` — the same command as `semsearch ingest`."""

import typer

from ingest.cli import ingest

typer.run(ingest)
