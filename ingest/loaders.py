"""Files in, Documents out: one document per prose file, one per table row; a file that cannot be read raises
LoadError with a reason for the report. The readers per format are `ingest.readers`, picked by `ingest.formats`."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.archives import check_zip
from ingest.formats import Format, format_of
from ingest.readers import LoadError
from ingest.sources import source_id
from semsearch.indexer import Document, validate_document
from semsearch.settings import Settings


@dataclass(frozen=True)
class TableOptions:
    """How files are read: the size limit, and how rows of csv/jsonl/parquet become documents (None: pick a sensible
    default from the columns)."""

    text_column: str | None = None
    id_column: str | None = None
    metadata_columns: tuple[str, ...] | None = None
    title_column: str | None = None
    max_file_bytes: int = Settings.default("max_file_bytes")  # files above it are refused before reading
    #: What file ids are relative to (`--base`); None: the file's git work tree, else absolute (`sources.source_id`).
    base: Path | None = None
    max_unpacked_bytes: int = Settings.default("max_unpacked_bytes")  # zip containers unpacking to more: refused
    #: Metadata merged over every document's own (`--metadata`, `ingest.tags`); checked before the run.
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: Ids given to files explicitly, over the rule of `base`: an upload names its file (`doc_id`), and the file's
    #: temporary path must not leak into the collection.
    file_ids: Mapping[Path, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        settings: Settings,
        text_column: str | None = None,
        id_column: str | None = None,
        metadata_columns: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        base: str | Path | None = None,
    ) -> TableOptions:
        """The options a run with these settings reads with (limits, `base` unless given), and these columns."""
        base = base if base is not None else settings.base
        return cls(
            text_column=text_column,
            id_column=id_column,
            metadata_columns=tuple(metadata_columns) if metadata_columns is not None else None,
            max_file_bytes=settings.max_file_bytes,
            base=Path(base) if base is not None else None,
            max_unpacked_bytes=settings.max_unpacked_bytes,
            metadata=dict(metadata or {}),
        )


def file_id_of(path: Path, options: TableOptions) -> str:
    """A file's document id (a table's rows are `<file id>:<row id>`): the one given in `options.file_ids`, else
    `sources.source_id` relative to `options.base`."""
    given = options.file_ids.get(path)
    return given if given is not None else source_id(path, options.base)


TEXT_COLUMN_GUESSES = ("text", "content", "body", "document", "abstract", "passage")
ID_COLUMN_GUESSES = ("id", "_id", "doc_id", "uuid")
TITLE_COLUMN_GUESSES = ("title",)


def load_file(path: Path, table: TableOptions) -> list[Document]:
    """Read one file into documents: one per file for prose formats, one per row for tables (all rows: the
    pipeline streams a big table with `table_ids` and `table_batches` instead)."""
    found = _checked(path, table)
    if found.read_rows is not None:
        return [doc for batch in table_batches(path, table) for doc in batch]
    assert found.read_text is not None  # a format has exactly one reader
    if found.zipped:
        check_zip(path, table.max_unpacked_bytes)
    prose = found.read_text(path)
    if not prose.text.strip():
        raise LoadError("no text in file")
    file_id = file_id_of(path, table)
    return [Document(id=file_id, text=prose.text, source=file_id, metadata=prose.metadata, layout=prose.layout)]


def _checked(path: Path, table: TableOptions) -> Format:
    """The file's format, after the checks every file passes. The size limit guards memory against prose files,
    which are read whole; tables stream in batches, so it does not apply to them."""
    found = format_of(path)
    if found is None:
        raise LoadError(f"unsupported file type {path.suffix.lower()!r}")
    size = path.stat().st_size
    if size == 0:
        raise LoadError("empty file")
    if size > table.max_file_bytes and not found.table:
        raise LoadError(
            f"file is {size / 2**20:.1f} MiB, over the {table.max_file_bytes / 2**20:.1f} MiB limit "
            "(SEMSEARCH_MAX_FILE_BYTES); split it or raise the limit"
        )
    return found


def table_ids(path: Path, options: TableOptions) -> set[str]:
    """Read the whole table once, keeping only its document ids: every row is checked (and the file refused with
    LoadError or DocumentRejected) before any of it is written, and the ids are what pruning keeps."""
    ids: set[str] = set()
    for docs in _table_documents(path, options):
        for doc in docs:
            validate_document(doc)
            ids.add(doc.id)
    return ids


def table_batches(path: Path, options: TableOptions, size: int = 128) -> Iterator[list[Document]]:
    """The table's documents in lists of `size` (the last may be shorter), read a batch of rows at a time."""
    pending: list[Document] = []
    for docs in _table_documents(path, options):
        pending.extend(docs)
        while len(pending) >= size:
            yield pending[:size]
            pending = pending[size:]
    if pending:
        yield pending


def _table_documents(path: Path, options: TableOptions) -> Iterator[list[Document]]:
    """One document per row, a batch of rows at a time. The text column is required; every other chosen column
    becomes metadata. Ids must be unique across the file, so the ids seen are kept (strings: cheap)."""
    found = _checked(path, options)
    assert found.read_rows is not None
    table = found.read_rows(path)
    columns = table.columns
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
    file_id = file_id_of(path, options)
    suffix = path.suffix.lower().lstrip(".")
    seen: set[str] = set()
    position = 0
    for rows in table.batches:
        docs: list[Document] = []
        for row in rows:
            doc = _row_document(row, position, text_col, id_col, title_col, meta_cols, seen)
            position += 1
            if doc is not None:
                row_id, text, metadata = doc
                docs.append(
                    Document(
                        id=f"{file_id}:{row_id}", text=text, source=file_id, metadata={**metadata, "format": suffix}
                    )
                )
        yield docs
    if not seen:
        raise LoadError(f"no rows with text in column {text_col!r}")


def _row_document(
    row: dict[str, Any],
    position: int,
    text_col: str | None,
    id_col: str | None,
    title_col: str | None,
    meta_cols: list[str],
    seen: set[str],
) -> tuple[str, str, dict[str, Any]] | None:
    """(row id, text, metadata) of one row, or None for a row without text (counted in neither documents nor
    failures: it has nothing to find). Raises LoadError for an empty or repeated id."""
    text = _cell_text(row.get(text_col))
    title = _cell_text(row.get(title_col)) if title_col else ""
    if title and title_col != text_col and not text.startswith(title):
        text = f"{title}\n\n{text}" if text else title
    if not text.strip():
        return None
    row_id = _cell_text(row.get(id_col)) if id_col else str(position)
    if not row_id:
        raise LoadError(f"row {position} has an empty id in column {id_col!r}")
    if row_id in seen:
        raise LoadError(f"duplicate id {row_id!r} in column {id_col!r}")
    seen.add(row_id)
    metadata = {c: _json_value(row.get(c)) for c in meta_cols}
    return row_id, text, {k: v for k, v in metadata.items() if v is not None}


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
