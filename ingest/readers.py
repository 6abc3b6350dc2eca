"""Readers per file format: each turns one file into text (prose) or rows (tables), or raises LoadError with a
reason for the report. Which suffix uses which reader is `ingest.formats`; documents are made in `ingest.loaders`."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from ingest.front_matter import split_front_matter
from ingest.html_reader import read_html_text
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


def read_html(path: Path) -> Prose:
    return read_html_text(read_text_file(path), path.stem)


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


def read_jsonl_rows(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows as dicts and the column names in first-seen order, parsed line by line (so errors name the line and
    integers stay integers)."""
    rows = []
    for number, line in enumerate(read_text_file(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LoadError(f"invalid JSON on line {number}: {exc.msg}") from exc
        if not isinstance(record, dict):
            raise LoadError(f"every JSONL line must be a JSON object; line {number} is not")
        rows.append(record)
    return rows, list(dict.fromkeys(str(key) for row in rows for key in row))


def read_csv_rows(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Every cell a string; decoded by us, so binary and non-UTF-8 files are refused naming the line."""
    import pandas as pd

    text = read_text_file(path)
    return _frame_rows(lambda: pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False))


def read_parquet_rows(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Parquet keeps its column types."""
    import pandas as pd

    return _frame_rows(lambda: pd.read_parquet(path))


def _frame_rows(read: Any) -> tuple[list[dict[str, Any]], list[str]]:
    try:
        frame = read()
    except Exception as exc:  # pandas/pyarrow raise many types for malformed tables
        raise LoadError(f"cannot read table: {exc}") from exc
    return frame.to_dict(orient="records"), [str(c) for c in frame.columns]
