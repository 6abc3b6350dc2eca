"""An HTML file read as one page of its site: without the lines that most pages of its folder repeat.

A generator writes the same banner, footer or "Part of the ... suite" line on every page; what the structural rules of
`ingest.boilerplate` miss, repetition finds. The site is the file's folder: SAMPLE pages of it, spread evenly over
its sorted listing, are read once per folder state, and the prose lines that most of them carry are dropped from every
page of the folder. A page's text depends only on itself and on the sample (never on which files were read before),
so re-reading an unchanged page gives the same text and re-ingest embeds nothing. Sampled pages are parsed once: the
ingest of a whole folder reads them from the sample, so a folder costs no extra parse.
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ingest.boilerplate import repeated_lines
from ingest.html_reader import PageText, build_prose, page_text
from ingest.prose import Prose
from ingest.readers import LoadError, read_text_file

#: Pages sampled per folder; a folder with fewer HTML pages than MIN_PAGES is not sampled (too few to tell).
SAMPLE = 5
MIN_PAGES = 6
_HTML_SUFFIXES = (".html", ".htm", ".xhtml")
_lock = threading.Lock()


def read_html(path: Path) -> Prose:
    site = _site(path.parent)
    return build_prose(site.take(path) or _read(path), site.repeated)


def _read(path: Path) -> PageText:
    return page_text(read_text_file(path), path.stem)


@dataclass
class _Site:
    """One folder's repeated lines, and its sampled pages until each is read."""

    repeated: frozenset[str] = frozenset()
    samples: dict[tuple[str, int, int], PageText] = field(default_factory=dict)

    def take(self, path: Path) -> PageText | None:
        with _lock:
            return self.samples.pop(_key(path), None)


def _site(folder: Path) -> _Site:
    pages = _pages(folder, _mtime(folder))
    if len(pages) < MIN_PAGES:
        return _Site()
    sample = tuple(pages[i * len(pages) // SAMPLE] for i in range(SAMPLE))
    return _sampled(tuple((name, *_stat(folder / name)) for name in sample), folder)


@functools.lru_cache(maxsize=64)
def _pages(folder: Path, mtime: int) -> list[str]:
    """The folder's HTML file names, sorted; cached per folder state (`mtime` changes when files come and go)."""
    del mtime  # part of the cache key only
    with os.scandir(folder) as entries:
        return sorted(e.name for e in entries if e.name.lower().endswith(_HTML_SUFFIXES) and e.is_file())


@functools.lru_cache(maxsize=64)
def _sampled(sample: tuple[tuple[str, int, int], ...], folder: Path) -> _Site:
    """Keyed by each sampled page's name, mtime and size, so an edited sample is read again."""
    pages: dict[tuple[str, int, int], PageText] = {}
    for name, mtime, size in sample:
        try:
            pages[(str(folder / name), mtime, size)] = _read(folder / name)
        except (OSError, LoadError):  # unreadable here: its own read reports it; the rest of the sample still counts
            continue
    return _Site(repeated_lines(page.prose_lines() for page in pages.values()), pages)


def _key(path: Path) -> tuple[str, int, int]:
    return (str(path), *_stat(path))


def _stat(path: Path) -> tuple[int, int]:
    try:
        found = path.stat()
    except OSError:
        return (0, 0)
    return found.st_mtime_ns, found.st_size


def _mtime(folder: Path) -> int:
    try:
        return folder.stat().st_mtime_ns
    except OSError:
        return 0
