"""Readers per file format: each turns one file into Documents or raises LoadError with a reason for the report."""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.sources import TABLE_SUFFIXES, source_id
from semsearch.indexer import Document
from semsearch.settings import Settings


class LoadError(Exception):
    """This file cannot be read; the message says why. The run goes on with the other files."""


@dataclass(frozen=True)
class TableOptions:
    """How files are read: the size limit, and how rows of csv/jsonl/parquet become documents (None: pick a sensible
    default from the columns)."""

    text_column: str | None = None
    id_column: str | None = None
    metadata_columns: tuple[str, ...] | None = None
    title_column: str | None = None
    max_file_bytes: int = Settings.default("max_file_bytes")  # files above it are refused before reading


TEXT_COLUMN_GUESSES = ("text", "content", "body", "document", "abstract", "passage")
ID_COLUMN_GUESSES = ("id", "_id", "doc_id", "uuid")
TITLE_COLUMN_GUESSES = ("title",)


def load_file(path: Path, table: TableOptions) -> list[Document]:
    """Read one file into documents: one per file for prose formats, one per row for tables."""
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES and suffix not in _READERS:
        raise LoadError(f"unsupported file type {suffix!r}")
    size = path.stat().st_size
    if size == 0:
        raise LoadError("empty file")
    if size > table.max_file_bytes:
        raise LoadError(
            f"file is {size / 2**20:.1f} MiB, over the {table.max_file_bytes / 2**20:.1f} MiB limit "
            "(SEMSEARCH_MAX_FILE_BYTES); split it or raise the limit"
        )
    if suffix in TABLE_SUFFIXES:
        return load_table(path, table)
    text, metadata = _READERS[suffix](path)
    if not text.strip():
        raise LoadError("no text in file")
    return [Document(id=source_id(path), text=text, source=source_id(path), metadata=metadata)]


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


def _read_plain(path: Path) -> tuple[str, dict[str, Any]]:
    return read_text_file(path), {"format": "txt", "title": path.stem}


def _read_markdown(path: Path) -> tuple[str, dict[str, Any]]:
    text = read_text_file(path)
    heading = re.search(r"^#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", text, flags=re.MULTILINE)
    return text, {"format": "md", "title": heading.group(1) if heading else path.stem}


def _read_html(path: Path) -> tuple[str, dict[str, Any]]:
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


def _read_pdf(path: Path) -> tuple[str, dict[str, Any]]:
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


def load_table(path: Path, options: TableOptions) -> list[Document]:
    """One document per row. The text column is required; every other chosen column becomes metadata."""
    rows, columns = _read_rows(path)
    text_col = _pick(options.text_column, TEXT_COLUMN_GUESSES, columns, path, "text")
    id_col = _pick(options.id_column, ID_COLUMN_GUESSES, columns, path, "id", required=False)
    title_col = _pick(options.title_column, TITLE_COLUMN_GUESSES, columns, path, "title", required=False)
    if options.metadata_columns is not None:
        missing = [c for c in options.metadata_columns if c not in columns]
        if missing:
            raise LoadError(f"metadata column(s) {missing} not found; columns are {columns}")
        meta_cols = list(options.metadata_columns)
    else:
        meta_cols = [c for c in columns if c not in (text_col, id_col)]
    file_id = source_id(path)
    docs: list[Document] = []
    seen: set[str] = set()
    for position, row in enumerate(rows):
        text = _cell_text(row.get(text_col))
        title = _cell_text(row.get(title_col)) if title_col else ""
        if title and title_col != text_col and not text.startswith(title):
            text = f"{title}\n\n{text}" if text else title
        if not text.strip():
            continue  # an empty row has nothing to find; it is counted in neither documents nor failures
        row_id = _cell_text(row.get(id_col)) if id_col else str(position)
        if not row_id:
            raise LoadError(f"row {position} has an empty id in column {id_col!r}")
        if row_id in seen:
            raise LoadError(f"duplicate id {row_id!r} in column {id_col!r}")
        seen.add(row_id)
        metadata = {c: _json_value(row.get(c)) for c in meta_cols}
        metadata = {k: v for k, v in metadata.items() if v is not None}
        metadata["format"] = path.suffix.lower().lstrip(".")
        docs.append(Document(id=f"{file_id}:{row_id}", text=text, source=file_id, metadata=metadata))
    if not docs:
        raise LoadError(f"no rows with text in column {text_col!r}")
    return docs


def _read_rows(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows as dicts and the column names in first-seen order. JSONL is parsed line by line (so errors name the
    line and integers stay integers); CSV is read as strings; Parquet keeps its types."""
    if path.suffix.lower() == ".jsonl":
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
    import pandas as pd

    try:
        if path.suffix.lower() == ".csv":  # decoded by us: binary and non-UTF-8 files are refused naming the line
            frame = pd.read_csv(io.StringIO(read_text_file(path)), dtype=str, keep_default_na=False)
        else:
            frame = pd.read_parquet(path)
    except LoadError:
        raise
    except Exception as exc:  # pandas/pyarrow raise many types for malformed tables
        raise LoadError(f"cannot read table: {exc}") from exc
    return frame.to_dict(orient="records"), [str(c) for c in frame.columns]


def _pick(
    chosen: str | None, guesses: tuple[str, ...], columns: list[str], path: Path, what: str, required: bool = True
) -> str | None:
    if chosen is not None:
        if chosen not in columns:
            raise LoadError(f"{what} column {chosen!r} not found; columns are {columns}")
        return chosen
    by_lower = {c.lower(): c for c in columns}
    for guess in guesses:
        if guess in by_lower:
            return by_lower[guess]
    if required:
        raise LoadError(f"no {what} column (tried {', '.join(guesses)}); columns are {columns}; use --{what}-column")
    return None


def _cell_text(value: Any) -> str:
    value = _json_value(value)
    return "" if value is None else str(value).strip()


def _json_value(value: Any) -> Any:
    """A cell as a JSON-safe value: NaN/None → None, numpy scalars → Python, nested values kept if serialisable."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)


_READERS: dict[str, Callable[[Path], tuple[str, dict[str, Any]]]] = {
    ".txt": _read_plain,
    ".md": _read_markdown,
    ".markdown": _read_markdown,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
}
