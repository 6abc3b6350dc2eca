"""Tables stream: a table of any size is read and written in batches, never held whole, and keeps the contract of
a table read whole (every row findable, removed rows pruned, a bad row refuses the file before anything is written).
Small sizes here, with the batches made tiny; `benchmarks/tables.py` measures 100k rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ingest import pipeline, table_readers
from ingest.loaders import TableOptions
from ingest.pipeline import IngestReport, ingest_files
from ingest.sinks import EngineSink
from ingest.sources import source_id
from semsearch.engine import Engine
from semsearch.knowledge_base import KnowledgeBase
from semsearch.searcher import SearchOptions

SUFFIXES = [".csv", ".jsonl", ".parquet"]
ROWS = 300  # over two pipeline units (TABLE_UNIT set to 128) and six reader batches (ROW_BATCH set to 50)
TINY_LIMIT = TableOptions(max_file_bytes=1024)  # every table here is larger


@pytest.fixture(autouse=True)
def small_reader_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_readers, "ROW_BATCH", 50)
    monkeypatch.setattr(pipeline, "TABLE_UNIT", 128)


def rows(count: int = ROWS, skip: frozenset[int] = frozenset()) -> list[dict[str, str]]:
    """Short, distinct, real-ish rows, each naming its number."""
    return [
        {"id": f"r{i}", "text": f"Support ticket {i}: the printer on floor {i} jams when printing labels."}
        for i in range(count)
        if i not in skip
    ]


def write_table(path: Path, table: list[dict[str, str]]) -> Path:
    if path.suffix == ".csv":
        pd.DataFrame(table).to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in table), encoding="utf-8")
    else:
        pd.DataFrame(table).to_parquet(path, index=False, row_group_size=64)
    return path


def ingest(engine: Engine, path: Path, seen: list[IngestReport] | None = None) -> IngestReport:
    def on_rows(report: IngestReport) -> None:
        if seen is not None:
            seen.append(IngestReport(table_rows=report.table_rows, table_rows_done=report.table_rows_done))

    return ingest_files([path], EngineSink(engine), TINY_LIMIT, on_rows=on_rows)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_table_larger_than_the_file_limit_ingests_in_batches_with_every_row_findable(
    engine: Engine, tmp_path: Path, suffix: str
) -> None:
    path = write_table(tmp_path / f"tickets{suffix}", rows())
    assert path.stat().st_size > TINY_LIMIT.max_file_bytes
    progress: list[IngestReport] = []

    report = ingest(engine, path, progress)

    assert report.failures == []
    assert report.stats.documents == report.stats.embedded == ROWS
    file_id = source_id(path)
    assert engine.store.doc_ids_for_source(file_id) == {f"{file_id}:r{i}" for i in range(ROWS)}
    assert [(p.table_rows, p.table_rows_done) for p in progress] == [(ROWS, 128), (ROWS, 256), (ROWS, ROWS)]
    row = rows()[217]["text"]  # a row's own text finds that row first (the texts differ only in their numbers)
    hit = engine.searcher.search(row, SearchOptions(top_k=1)).hits[0]
    assert hit.doc_id == f"{file_id}:r217"


def test_the_file_limit_still_refuses_a_prose_file(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("A sentence about printers. " * 100, encoding="utf-8")
    report = ingest(engine, path)
    assert len(report.failures) == 1
    assert "(SEMSEARCH_MAX_FILE_BYTES); split it or raise the limit" in report.failures[0][1]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_rows_removed_from_a_streamed_table_are_pruned_on_reingest_and_nothing_is_embedded(
    engine: Engine, tmp_path: Path, suffix: str
) -> None:
    path = write_table(tmp_path / f"tickets{suffix}", rows())
    ingest(engine, path)
    write_table(path, rows(skip=frozenset({3, 200, 299})))

    report = ingest(engine, path)

    file_id = source_id(path)
    assert (report.stats.embedded, report.stats.deleted) == (0, 3)
    assert report.stats.unchanged == ROWS - 3
    assert engine.store.doc_ids_for_source(file_id) == {
        f"{file_id}:r{i}" for i in range(ROWS) if i not in (3, 200, 299)
    }


def test_an_empty_text_cell_mid_stream_skips_that_row_only(engine: Engine, tmp_path: Path) -> None:
    table = rows()
    table[200]["text"] = ""
    path = write_table(tmp_path / "tickets.csv", table)

    report = ingest(engine, path)

    assert report.failures == []
    file_id = source_id(path)
    assert engine.store.doc_ids_for_source(file_id) == {f"{file_id}:r{i}" for i in range(ROWS) if i != 200}


def malformed_line(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[250] = '{"id": "r250", "text": oops}\n'
    path.write_text("".join(lines), encoding="utf-8")
    return "invalid JSON on line 251"


def duplicate_id(path: Path) -> str:
    table = rows()
    table[250]["id"] = "r7"
    write_table(path, table)
    return "duplicate id 'r7'"


@pytest.mark.parametrize("spoil", [malformed_line, duplicate_id])
def test_a_bad_row_mid_stream_refuses_the_file_before_any_row_is_written_or_pruned(
    engine: Engine, tmp_path: Path, spoil: Callable[[Path], str]
) -> None:
    path = write_table(tmp_path / "tickets.jsonl", rows())
    ingest(engine, path)
    before = engine.store.count()
    file_id = source_id(path)
    fresh = write_table(tmp_path / "fresh.jsonl", rows())
    reasons = [spoil(path), spoil(fresh)]

    report = ingest_files([path, fresh], EngineSink(engine), TINY_LIMIT)

    assert [Path(failed).name for failed, _ in report.failures] == ["tickets.jsonl", "fresh.jsonl"]
    for reason, (_, got) in zip(reasons, report.failures, strict=True):
        assert reason in got
    assert engine.store.count() == before  # the stored table kept whole, the fresh one never started
    assert len(engine.store.doc_ids_for_source(file_id)) == ROWS
    assert engine.store.doc_ids_for_source(source_id(fresh)) == set()


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_reingest_of_an_unchanged_table_reads_the_stored_state_once_per_unit_and_embeds_nothing(
    engine: Engine, tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each read of stored state scans the whole collection (doc_id has no index): a unit's rows are compared in
    one query, and the source's ids for pruning are listed in one page, not one query per 128 rows or 1,000 ids."""
    path = write_table(tmp_path / f"tickets{suffix}", rows())
    ingest(engine, path)
    milvus = engine.store.milvus
    queries: list[str] = []
    write = milvus.write

    def noting(method: str, *args: Any, **kwargs: Any) -> Any:
        if method == "query":
            queries.append(kwargs["filter"].lstrip("(").split(" ")[0])  # the field a read selects on
        return write(method, *args, **kwargs)

    monkeypatch.setattr(milvus, "write", noting)
    monkeypatch.setattr(pipeline, "TABLE_UNIT", 1024)

    report = ingest(engine, path)

    assert (report.stats.embedded, report.stats.unchanged, report.stats.deleted) == (0, ROWS, 0)
    assert queries == ["doc_id", "source"]  # 300 rows: one unit, one state read; one page of ids to prune
    monkeypatch.setattr(pipeline, "TABLE_UNIT", 128)
    queries.clear()

    assert ingest(engine, path).stats.embedded == 0
    assert queries == ["doc_id"] * 3 + ["source"]


def test_a_full_unit_is_compared_in_one_read_on_lite_and_on_the_server(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit's 1,024 doc ids go in one `doc_id in [...]` expression, which both backends must take."""
    monkeypatch.setattr(pipeline, "TABLE_UNIT", 1024)
    path = write_table(tmp_path / "tickets.csv", rows(1100))

    first = ingest(kb.engine, path)
    again = ingest(kb.engine, path)

    assert (first.failures, first.stats.embedded) == ([], 1100)
    assert (again.stats.embedded, again.stats.unchanged, again.stats.deleted) == (0, 1100, 0)
