"""Which files an ingest run reads: paths, directories (recursive) and globs, expanded to the files of the formats
`ingest.formats` declares."""

from __future__ import annotations

import functools
import glob
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.formats import format_of, supported_suffixes
from ingest.ignore import excluded, exclusion, walk
from semsearch.errors import Refused


class MissingPath(Refused, ValueError):
    """A path or glob on the command line matched nothing (the caller's input: exit 2, or `Refused` in Python)."""


@dataclass
class FileSelection:
    files: list[Path] = field(default_factory=list)
    #: Files named explicitly on the command line whose type cannot be read, with the reason.
    rejected: list[tuple[Path, str]] = field(default_factory=list)


def discover(paths: list[str], exclude: Sequence[str] = ()) -> FileSelection:
    """Expand the arguments in order, without duplicates; files inside directories are filtered by extension.
    Files matching an `exclude` pattern, and files in a directory that its `.gitignore` files ignore, are left
    out (`ingest.ignore`)."""
    spec = exclusion(exclude)
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
                for child in sorted(walk(match, spec)):
                    add(child, explicit=False)
            elif not excluded(match, spec):
                add(match, explicit=not glob.has_magic(arg))
    return selection


def source_id(path: Path, base: Path | None = None) -> str:
    """A file's document id: one file, one id, however its path was spelled and wherever the command runs.

    The real path (symlinks resolved) relative to `base` when given and the file is under it, else relative to the
    root of the git work tree holding the file (the project: `sample_data/library/decimal.md` in this repository),
    else the absolute path. Never relative to the working directory, so `ingest docs` from the parent and
    `ingest .` from inside `docs/` name a file alike. A directory gets its id by the same rule ('' for the root)."""
    resolved = path.resolve()
    root = base.resolve() if base is not None else work_tree_root(resolved)
    if root is not None and resolved.is_relative_to(root):
        relative = resolved.relative_to(root).as_posix()
        return "" if relative == "." else relative
    return resolved.as_posix()


def work_tree_root(path: Path) -> Path | None:
    """The nearest directory at or above `path` holding `.git` (a repository, a worktree or a submodule)."""
    return _root_of(path if path.is_dir() else path.parent)


@functools.lru_cache(maxsize=4096)
def _root_of(directory: Path) -> Path | None:
    """Cached per directory: 100k files in a few hundred directories cost a few hundred `stat` calls."""
    if (directory / ".git").exists():
        return directory
    return None if directory.parent == directory else _root_of(directory.parent)
