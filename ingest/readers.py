"""Readers per file format: each turns one file into text (prose) or rows (tables), or raises LoadError with a
reason for the report. Which suffix uses which reader is `ingest.formats`; documents are made in `ingest.loaders`."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any


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


def read_plain(path: Path) -> tuple[str, dict[str, Any]]:
    return read_text_file(path), {"format": "txt", "title": path.stem}


def read_markdown(path: Path) -> tuple[str, dict[str, Any]]:
    text = read_text_file(path)
    heading = re.search(r"^#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", text, flags=re.MULTILINE)
    return text, {"format": "md", "title": heading.group(1) if heading else path.stem}


def read_html(path: Path) -> tuple[str, dict[str, Any]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(read_text_file(path), "html.parser")
    candidates = (" ".join(tag.get_text(" ").split()) for tag in (soup.title, soup.find("h1")) if tag)
    title = next((c for c in candidates if c), path.stem)
    for tag in soup(["script", "style", "noscript", "template", "nav", "footer", "header"]):
        tag.decompose()
    body = soup.body or soup
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in body.get_text("\n").splitlines())
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text, {"format": "html", "title": title}


def read_pdf(path: Path) -> tuple[str, dict[str, Any]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path, strict=False)
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata and reader.metadata.title else path.stem
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise LoadError(f"corrupt or unreadable PDF: {exc}") from exc
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise LoadError("PDF has no extractable text (scanned images need OCR, which is not supported)")
    return text, {"format": "pdf", "title": str(title), "pages": len(pages)}


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
