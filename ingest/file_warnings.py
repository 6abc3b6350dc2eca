"""Per-file warnings: problems that do not stop a file from being ingested (a broken front-matter block, read as
text instead) but that the person running the ingest must see in the report, not only in a log they may not read.

A reader notices such a problem deep inside its own code; rather than thread a list through every reader's
signature, it calls `warn`, and the pipeline collects what was warned while it loaded one file
(`collect_warnings`). The collector is a context variable, so concurrent ingests in other threads never see each
other's warnings. Outside a collector (a reader called directly) a warning is only logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

log = logging.getLogger(__name__)

_collected: ContextVar[list[str] | None] = ContextVar("ingest_file_warnings", default=None)


def warn(path: Path, message: str) -> None:
    """Record a warning about the file being loaded: logged, and listed in the report when a collector is active."""
    log.warning("%s: %s", path, message)
    collected = _collected.get()
    if collected is not None:
        collected.append(message)


@contextmanager
def collect_warnings() -> Iterator[list[str]]:
    """The messages `warn` records inside the block, in order (the list fills as the block runs)."""
    found: list[str] = []
    token = _collected.set(found)
    try:
        yield found
    finally:
        _collected.reset(token)
