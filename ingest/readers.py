"""Readers per file format: each turns one prose file into text, or raises LoadError with a reason for the report
(tables stream: `ingest.table_readers`). Which suffix uses which reader is `ingest.formats`; documents are made in
`ingest.loaders`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ingest.front_matter import split_front_matter
from ingest.prose import Prose, ProseBuilder
from semsearch.layout import Layout, sections_from_headings


class LoadError(Exception):
    """This file cannot be read; the message says why. The run goes on with the other files."""


def read_text_file(path: Path) -> str:
    """UTF-8 text (a BOM is dropped); binary or non-UTF-8 content is refused rather than guessed."""
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise LoadError("binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise LoadError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} on line {line}, offset {exc.start}); re-save it as UTF-8"
        ) from exc


def read_plain(path: Path) -> Prose:
    return Prose(read_text_file(path), {"format": "txt", "title": path.stem})


def read_markdown(path: Path) -> Prose:
    """Markdown as written (so offsets match the file), minus YAML front matter, which becomes metadata; ATX
    headings outside code fences are its sections, and the first level-one heading its title."""
    text, front = split_front_matter(read_text_file(path), path)
    headings = markdown_headings(text)
    title = next((heading for _, level, heading in headings if level == 1), path.stem)
    metadata: dict[str, Any] = {"format": "md", "title": title, **front}
    return Prose(text, metadata, Layout(sections=sections_from_headings(headings)))


def markdown_headings(text: str) -> list[tuple[int, int, str]]:
    """(offset, level, text) of each ATX heading (`## Title ##`), skipping fenced code blocks."""
    headings = []
    fence: str | None = None
    offset = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        marker = re.match(r"(`{3,}|~{3,})", stripped)
        if marker and (fence is None or stripped.startswith(fence)):
            fence = None if fence else marker.group(1)[:3]
        elif fence is None:
            found = _ATX_HEADING.match(line)
            if found:
                headings.append((offset, len(found.group(1)), found.group(2)))
        offset += len(line)
    return headings


_ATX_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")


def read_pdf(path: Path) -> Prose:
    """The text layer page by page; each page's character range is kept, so chunks can cite their pages."""
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("the PDF is encrypted with a password; decrypt it first")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata and reader.metadata.title else path.stem
    except FileNotDecryptedError as exc:
        raise LoadError("the PDF is encrypted with a password; decrypt it first") from exc
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise LoadError(f"corrupt or unreadable PDF: {exc}") from exc
    builder = ProseBuilder()
    for number, page in enumerate(pages, 1):
        if page.strip():
            builder.page(number)
            builder.paragraph(page)
    if builder.empty:
        raise LoadError("PDF has no extractable text (scanned images need OCR, which is not supported)")
    return builder.build({"format": "pdf", "title": str(title), "pages": len(pages)})
