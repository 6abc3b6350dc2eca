"""Which files an ingest run reads: paths, directories (recursive) and globs, expanded to the files of the formats
`ingest.formats` declares."""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

from ingest.formats import format_of, supported_suffixes
from semsearch.errors import Refused


class MissingPath(Refused, ValueError):
    """A path or glob on the command line matched nothing (the caller's input: exit 2, or `Refused` in Python)."""


@dataclass
class FileSelection:
    files: list[Path] = field(default_factory=list)
    #: Files named explicitly on the command line whose type cannot be read, with the reason.
    rejected: list[tuple[Path, str]] = field(default_factory=list)


def discover(paths: list[str]) -> FileSelection:
    """Expand the arguments in order, without duplicates; files inside directories are filtered by extension."""
    selection = FileSelection()
    seen: set[Path] = set()

    def add(path: Path, explicit: bool) -> None:
        resolved = path.resolve()
        if resolved in seen:
            return
        seen.add(resolved)
        if format_of(path) is not None:
            selection.files.append(path)
        elif explicit:
            reason = f"unsupported file type {path.suffix or '(none)'!r}; use {supported_suffixes()}"
            selection.rejected.append((path, reason))

    for arg in paths:
        matches = [Path(m) for m in sorted(glob.glob(arg, recursive=True))] if glob.has_magic(arg) else [Path(arg)]
        matches = [m for m in matches if m.exists()]
        if not matches:
            raise MissingPath(f"no such file, directory or glob match: {arg}")
        for match in matches:
            if match.is_dir():
                for child in sorted(p for p in match.rglob("*") if p.is_file() and not _hidden(p, match)):
                    add(child, explicit=False)
            else:
                add(match, explicit=not glob.has_magic(arg))
    return selection


def source_id(path: Path) -> str:
    """Stable id for a file: its path relative to the working directory when inside it, else absolute (posix)."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)
