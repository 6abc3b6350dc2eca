"""Which files under an ingested directory are left out: `--exclude` globs and the `.gitignore` files in the tree.

A folder ingested from a repository should hold what the repository holds, not its build output, virtual
environments or logs: the `.gitignore` files under the directory say which those are, so they are honoured (each
file's patterns relative to its own directory, a deeper file overriding a shallower one, `!pattern` re-including,
as git does). `--exclude` patterns use the same syntax (`*.log`, `drafts/`, `/top-only.md`, `**/tmp/**`), matched
against the path relative to the directory argument (for a file or glob argument: the path as given). Ignored
directories are not descended into, so a tree with a large `node_modules/` costs one check for it.

What is left out is not selected, so pruning (`ingest.sync`) removes documents an earlier ingest took from such
files: excluding a file takes it out of the collection on the next ingest.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from pathspec import GitIgnoreSpec

#: The file whose patterns are honoured in every directory of an ingested tree.
IGNORE_FILE = ".gitignore"


def exclusion(patterns: Sequence[str]) -> GitIgnoreSpec | None:
    """The `--exclude` patterns as one spec (None for none)."""
    return GitIgnoreSpec.from_lines(patterns) if patterns else None


def excluded(path: Path, spec: GitIgnoreSpec | None) -> bool:
    """True if a file named on the command line (or matched by a glob) is excluded: its path as given."""
    return spec is not None and spec.match_file(path.as_posix())


def walk(root: Path, exclude: GitIgnoreSpec | None, gitignore: bool = True) -> Iterator[Path]:
    """The files under `root`, directory by directory, without hidden files and directories (a leading '.'),
    excluded ones, or ones a `.gitignore` at or below `root` ignores."""
    rules: dict[Path, list[tuple[Path, GitIgnoreSpec]]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        directory = Path(dirpath)
        inherited = rules.get(directory.parent, []) if directory != root else []
        own = directory / IGNORE_FILE
        here = [*inherited, (directory, _read_spec(own))] if gitignore and own.is_file() else inherited
        rules[directory] = here

        dirnames[:] = sorted(d for d in dirnames if not _left_out(directory / d, True, root, exclude, here))
        for name in sorted(filenames):
            if not _left_out(directory / name, False, root, exclude, here):
                yield directory / name


def _left_out(
    path: Path, is_dir: bool, root: Path, exclude: GitIgnoreSpec | None, rules: list[tuple[Path, GitIgnoreSpec]]
) -> bool:
    if path.name.startswith("."):
        return True
    relative = path.relative_to(root).as_posix() + ("/" if is_dir else "")
    if exclude is not None and exclude.match_file(relative):
        return True
    return _ignored(path, is_dir, rules)


def _ignored(path: Path, is_dir: bool, rules: list[tuple[Path, GitIgnoreSpec]]) -> bool:
    """As git decides: the deepest `.gitignore` with a pattern matching the path wins (`!` re-includes)."""
    for base, spec in reversed(rules):
        relative = path.relative_to(base).as_posix() + ("/" if is_dir else "")
        decision = spec.check_file(relative).include
        if decision is not None:
            return decision
    return False


def _read_spec(path: Path) -> GitIgnoreSpec:
    return GitIgnoreSpec.from_lines(path.read_text(encoding="utf-8", errors="replace").splitlines())
