"""Keeping a collection true to a folder: after an ingest of a directory or a glob, the documents an earlier ingest
took from under it whose files are gone (or no longer selected) are removed.

Each directory or glob argument answers for a `Scope` of stored sources: a directory for every source under its id,
a glob for the sources under its fixed leading directory that the glob matches. A file named on its own answers
only for itself (it exists, or discovery refused the run). Only sources that look like files this ingest could have
written (a supported suffix; relative ones for a work-tree root) are candidates, so documents sent through the API
with a source such as "api" are never pruned by a folder ingest.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ingest.formats import format_of
from ingest.loaders import TableOptions
from ingest.pipeline import IngestReport, ingest_selection
from ingest.sinks import FileSink, Sink
from ingest.sources import FileSelection, source_id

#: Documents per delete request while pruning: bounded requests for the API, batched reads for the store.
PRUNE_BATCH = 1000


@dataclass(frozen=True)
class Scope:
    """Stored sources one argument answers for: under `prefix` ('' for a work-tree root), matching `pattern` (a glob
    relative to the prefix, or None for everything under it)."""

    prefix: str
    pattern: re.Pattern[str] | None = None

    def covers(self, source: str) -> bool:
        if not source.startswith(self.prefix) or format_of(Path(source)) is None:
            return False
        if not self.prefix and source.startswith("/"):
            return False  # an absolute id is a file outside the work tree, not under its root
        if self.pattern is None:
            return True
        relative = PurePosixPath(source[len(self.prefix) :])
        return any(self.pattern.fullmatch(p.as_posix()) for p in (relative, *relative.parents) if p.parts)


def split_glob(arg: str) -> tuple[Path, str]:
    """A glob's fixed leading directory (`.` when it starts with a wildcard) and the pattern below it."""
    parts = Path(arg).parts
    fixed = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    return (Path(*parts[:fixed]) if fixed else Path(".")), "/".join(parts[fixed:])


def scopes(args: Iterable[str], base: Path | None) -> list[Scope]:
    """The scope of each directory and glob argument (files named on their own have none)."""
    found: list[Scope] = []
    for arg in args:
        if glob.has_magic(arg):
            directory, pattern = split_glob(arg)
            if directory.is_dir():
                found.append(Scope(_prefix(directory, base), glob_regex(pattern)))
        elif Path(arg).is_dir():
            found.append(Scope(_prefix(Path(arg), base)))
    return found


def glob_regex(pattern: str) -> re.Pattern[str]:
    """`glob.glob(recursive=True)` semantics over '/'-separated ids: `*` and `?` stay inside one name, `**` spans
    directories, `[...]` is a character class."""
    out: list[str] = []
    names = pattern.split("/")
    for index, name in enumerate(names):
        last = index == len(names) - 1
        if name == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
            continue
        out.append(re.sub(r"\\\*", "[^/]*", re.sub(r"\\\?", "[^/]", _classes(name))))
        if not last:
            out.append("/")
    return re.compile("".join(out))


def _classes(name: str) -> str:
    """Escape a name for a regex, keeping `[...]` classes (with `[!...]` as negation) and the wildcards findable."""
    parts = re.split(r"(\[[^\]]+\])", name)
    return "".join(
        ("[^" + part[2:-1] + "]" if part.startswith("[!") else part) if part.startswith("[") else re.escape(part)
        for part in parts
    )


def _prefix(directory: Path, base: Path | None) -> str:
    directory_id = source_id(directory, base)
    return f"{directory_id.rstrip('/')}/" if directory_id else ""


def stale_documents(sink: Sink | FileSink, found: list[Scope], kept: set[str]) -> list[str]:
    """Ids of stored documents in these scopes whose source is not among the files kept (read, no writes)."""
    stale: set[str] = set()
    for scope in found:
        for doc_id, source in sink.documents_under(scope.prefix):
            if source not in kept and scope.covers(source):
                stale.add(doc_id)
    return sorted(stale)


def prune(sink: Sink | FileSink, found: list[Scope], kept: set[str]) -> tuple[int, int]:
    """Remove the stale documents in batches; returns (documents removed, chunks deleted)."""
    stale = stale_documents(sink, found, kept)
    chunks = 0
    for start in range(0, len(stale), PRUNE_BATCH):
        chunks += sink.remove(stale[start : start + PRUNE_BATCH])
    return len(stale), chunks


def sync_selection(
    args: list[str],
    selection: FileSelection,
    sink: Sink | FileSink,
    table: TableOptions,
    *,
    prune_missing: bool = True,
    on_file: Callable[[Path, IngestReport], None] | None = None,
    on_rows: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Ingest the selection, then (unless `prune_missing` is False) prune what its directories and globs no longer
    hold. Pruning runs after every file is written, so a renamed file's new id re-uses the old one's vectors (by
    content hash) before the old id is removed; a run that fails prunes nothing."""
    found = scopes(args, table.base) if prune_missing else []
    report = ingest_selection(selection, sink, table, on_file=on_file, on_rows=on_rows)
    if found:
        kept = {source_id(path, table.base) for path in selection.files}
        report.removed_documents, deleted = prune(sink, found, kept)
        report.stats.deleted += deleted
    return report
