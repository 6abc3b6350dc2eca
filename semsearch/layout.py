"""Where things are in a document's text: its pages (or slides) and its sections, as character ranges.

A document's metadata describes the whole document and is copied to every chunk; a layout lets each chunk say more:
the page(s) it spans and the heading path of the section it starts in. Loaders that know a format's structure fill a
layout; the indexer maps each chunk's character range onto it (`chunk_metadata`), and the chunker prefers to cut at
section starts (`boundaries`). Documents without a layout (API documents, table rows) are chunked as before.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

#: Joins the headings of a path: "decimal > Quick-start tutorial".
HEADING_SEPARATOR = " > "


@dataclass(frozen=True)
class Page:
    """Characters [start, end) of the text came from page `number` (1-based; a slide's number for slide decks)."""

    start: int
    end: int
    number: int


@dataclass(frozen=True)
class Section:
    """A section starts at `start` (its heading's first character) and runs to the next section's start. `path` is
    its heading and those of the sections it is nested in, outermost first."""

    start: int
    path: tuple[str, ...]

    @property
    def heading_path(self) -> str:
        return HEADING_SEPARATOR.join(self.path)


@dataclass(frozen=True)
class Layout:
    """Pages and sections of one text, each sorted by start. Either may be empty."""

    pages: tuple[Page, ...] = ()
    sections: tuple[Section, ...] = ()

    @property
    def boundaries(self) -> list[int]:
        """Offsets where a section starts: the chunker prefers to end a chunk just before one."""
        return [section.start for section in self.sections if section.start > 0]

    def chunk_metadata(self, start: int, end: int) -> dict[str, Any]:
        """What a chunk covering text[start:end] adds to its document's metadata: `page_start` and `page_end` (the
        first and last page it overlaps) and `heading_path` (the section it starts in; none before the first
        heading)."""
        found: dict[str, Any] = {}
        numbers = [page.number for page in self.pages if page.start < max(end, start + 1) and page.end > start]
        if numbers:
            found["page_start"], found["page_end"] = min(numbers), max(numbers)
        starts = [section.start for section in self.sections]
        at = bisect.bisect_right(starts, start) - 1
        if at >= 0 and self.sections[at].path:
            found["heading_path"] = self.sections[at].heading_path
        return found


def sections_from_headings(headings: list[tuple[int, int, str]]) -> tuple[Section, ...]:
    """Sections from headings given as (offset, level, text) in text order: each heading's path is the last heading
    of every lower level still open, then its own (a level-2 heading closes the level-3 section before it)."""
    sections: list[Section] = []
    open_headings: list[tuple[int, str]] = []
    for offset, level, heading in headings:
        heading = " ".join(heading.split())
        if not heading:
            continue
        open_headings = [(lvl, text) for lvl, text in open_headings if lvl < level]
        open_headings.append((level, heading))
        sections.append(Section(start=offset, path=tuple(text for _, text in open_headings)))
    return tuple(sections)
