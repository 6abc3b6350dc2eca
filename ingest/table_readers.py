"""Table readers that stream: each opens a file and yields its rows in batches of ROW_BATCH, so a table of a million
rows is never held whole (pyarrow's `iter_batches` for Parquet, pandas' `chunksize` for CSV, line by line for
JSONL). Which suffix uses which reader is `ingest.formats`; rows become documents in `ingest.loaders`.

Errors keep the rules of the whole-file readers they replace: binary and non-UTF-8 text is refused naming the
line, a malformed JSONL line names its line, anything else pandas/pyarrow cannot parse is "cannot read table".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ingest.readers import LoadError
from semsearch.errors import ExtraMissing
from semsearch.extras import require

#: Rows per batch read from a file: large enough that pandas/pyarrow run at full speed, small enough to stay flat.
ROW_BATCH = 2048


@dataclass
class TableRows:
    """An open table: its column names (known before the first row is read) and its rows, batch by batch."""

    columns: list[str]
    batches: Iterator[list[dict[str, Any]]]


def read_parquet_rows(path: Path) -> TableRows:
    """Parquet keeps its column types; row groups are read a batch at a time. pyarrow is the [tables] extra: without
    it the file is skipped with the line that says so, and the rest of the run goes on."""
    try:
        pa = require("pyarrow", "reading .parquet")
        pq = require("pyarrow.parquet", "reading .parquet")
    except ExtraMissing as exc:
        raise LoadError(str(exc)) from None

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise LoadError(f"cannot read table: {exc}") from exc

    def batches() -> Iterator[list[dict[str, Any]]]:
        try:
            for batch in parquet.iter_batches(batch_size=ROW_BATCH):
                yield batch.to_pylist()
        except pa.ArrowException as exc:
            raise LoadError(f"cannot read table: {exc}") from exc
        finally:
            parquet.close()

    return TableRows([str(name) for name in parquet.schema_arrow.names], batches())


def read_csv_rows(path: Path) -> TableRows:
    """Every cell a string; decoded by us (`_CheckedUtf8`), so binary and non-UTF-8 files are refused naming the
    line even when the bad byte is far into the file."""
    import pandas as pd

    handle = path.open("rb")
    try:
        reader = pd.read_csv(_CheckedUtf8(handle), dtype=str, keep_default_na=False, chunksize=ROW_BATCH)
        first = next(reader)  # the header comes with the first batch (a header-only file: one empty batch)
    except StopIteration:
        handle.close()
        raise LoadError("cannot read table: no header row") from None
    except LoadError:
        handle.close()
        raise
    except Exception as exc:  # pandas raises many types for malformed tables
        handle.close()
        raise LoadError(f"cannot read table: {exc}") from exc

    def batches() -> Iterator[list[dict[str, Any]]]:
        try:
            yield first.to_dict(orient="records")
            for frame in reader:
                yield frame.to_dict(orient="records")
        except LoadError:
            raise
        except Exception as exc:
            raise LoadError(f"cannot read table: {exc}") from exc
        finally:
            handle.close()

    columns = [str(c) for c in first.columns]
    return TableRows(columns, batches())


def read_jsonl_rows(path: Path) -> TableRows:
    """Rows as dicts; the column names are every key in first-seen order, which takes one pass over the file
    before the rows are read (parsed line by line, so errors name the line and integers stay integers)."""
    columns: dict[str, None] = {}
    for record in _jsonl_records(path):
        columns.update(dict.fromkeys(str(key) for key in record))

    def batches() -> Iterator[list[dict[str, Any]]]:
        batch: list[dict[str, Any]] = []
        for record in _jsonl_records(path):
            batch.append(record)
            if len(batch) >= ROW_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    return TableRows(list(columns), batches())


def _jsonl_records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as handle:
        for number, line in enumerate(_checked_lines(handle), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LoadError(f"invalid JSON on line {number}: {exc.msg}") from exc
            if not isinstance(record, dict):
                raise LoadError(f"every JSONL line must be a JSON object; line {number} is not")
            yield record


def _checked_lines(handle: IO[bytes]) -> Iterator[str]:
    text = _CheckedUtf8(handle)
    while True:
        line = text.readline()
        if not line:
            return
        yield line


class _CheckedUtf8:
    """A text stream over a binary file that decodes whole lines as UTF-8 (a leading BOM dropped) and refuses
    binary or non-UTF-8 content with the line and offset of the bad byte, as `readers.read_text_file` does for
    a file read whole. A line break never falls inside a UTF-8 sequence, so decoding line by line is exact."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.offset = 0  # bytes decoded so far
        self.lines = 0  # line breaks decoded so far

    def read(self, size: int = -1) -> str:
        return self._decode(self.handle.readlines(size) if size and size > 0 else self.handle.readlines())

    def readline(self) -> str:
        return self._decode([self.handle.readline()])

    def __iter__(self) -> Iterator[str]:
        return iter(self.readline, "")

    def _decode(self, lines: list[bytes]) -> str:
        data = b"".join(lines)
        first = self.offset == 0
        if first and b"\x00" in data[:8192]:
            raise LoadError("binary file (contains NUL bytes), not text")
        try:
            text = data.decode("utf-8-sig" if first else "utf-8")
        except UnicodeDecodeError as exc:
            at = self.offset + exc.start
            line = self.lines + data.count(b"\n", 0, exc.start) + 1
            raise LoadError(
                f"not valid UTF-8 (byte 0x{data[exc.start]:02x} on line {line}, offset {at}); re-save it as UTF-8"
            ) from exc
        self.offset += len(data)
        self.lines += data.count(b"\n")
        return text
