"""What a prose reader returns, and the builder most readers write it with.

Readers of structured formats (Word, slides, notebooks, HTML, e-books) walk their file's blocks in reading order;
`ProseBuilder` joins the blocks into one text and records, as it goes, where each heading and page starts, so the
layout's offsets always match the text exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from semsearch.layout import Layout, Page, sections_from_headings


@dataclass
class Prose:
    """One file as one document: its text, document-wide metadata (`format`, `title`, ...) and its layout."""

    text: str
    metadata: dict[str, Any]
    layout: Layout = field(default_factory=Layout)


class ProseBuilder:
    """Blocks in, one text out: blocks are separated by a blank line; headings and pages are remembered by offset."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._headings: list[tuple[int, int, str]] = []
        self._pages: list[tuple[int, int]] = []  # (start offset, number)
        self._in_list = False

    @property
    def empty(self) -> bool:
        return self._length == 0

    @property
    def first_heading(self) -> str | None:
        """The first heading added, a fallback title for formats without a title of their own."""
        return self._headings[0][2] if self._headings else None

    def paragraph(self, text: str) -> None:
        """A block of text, stripped of surrounding whitespace; blank blocks are dropped."""
        block = text.strip()
        if not block:
            return
        self._in_list = False
        if self._parts:
            self._parts.append("\n\n")
            self._length += 2
        self._parts.append(block)
        self._length += len(block)

    def list_item(self, text: str) -> None:
        """One item of a list, as '- item'; consecutive items share a block, one item per line."""
        item = " ".join(text.split())
        if not item:
            return
        if self._in_list:
            self._parts.append(f"\n- {item}")
            self._length += len(item) + 3
            return
        self.paragraph(f"- {item}")
        self._in_list = True

    def heading(self, text: str, level: int) -> None:
        """A heading of `level` (1 is the outermost) starts a section here."""
        text = " ".join(text.split())
        if not text:
            return
        self.paragraph(text)
        self._headings.append((self._length - len(text), level, text))

    def page(self, number: int) -> None:
        """The blocks that follow come from page (or slide) `number`."""
        self._pages.append((self._length + (2 if self._parts else 0), number))

    def build(self, metadata: dict[str, Any]) -> Prose:
        text = "".join(self._parts)
        ends = [start for start, _ in self._pages[1:]] + [len(text)]
        pages = tuple(
            Page(start=start, end=end, number=number)
            for (start, number), end in zip(self._pages, ends, strict=False)
            if end > start
        )
        return Prose(text=text, metadata=metadata, layout=Layout(pages, sections_from_headings(self._headings)))


def table_rows(rows: list[list[str]]) -> str:
    """A table as text rows, cells joined by ' | ', so a row's values stay together in one chunk and one line."""
    cleaned = [[" ".join(cell.split()) for cell in row] for row in rows]
    return "\n".join(" | ".join(row) for row in cleaned if any(row))
