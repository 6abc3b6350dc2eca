"""The pipelined ingest: stages overlap with bounded queues, errors stop every stage, refusals stay per file."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from ingest import pipeline
from ingest.loaders import TableOptions
from ingest.pipeline import ingest_files
from ingest.sinks import EngineSink
from semsearch.engine import Engine
from semsearch.errors import BackendUnavailable, DocumentRejected
from semsearch.indexer import Document, IndexStats


def write_notes(root: Path, n: int) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = root / f"note{i:03d}.txt"
        path.write_text(f"Note {i}. The quick brown fox number {i} jumps over the lazy dog.")
        paths.append(path)
    return paths


class RecordingSink(EngineSink):
    """The real engine sink, noting how far reading runs ahead of writing."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.prepared = self.written = self.max_ahead = 0
        self.lock = threading.Lock()

    def prepare(self, docs: list[Document]) -> Any:
        with self.lock:
            self.prepared += 1
            self.max_ahead = max(self.max_ahead, self.prepared - self.written)
        return super().prepare(docs)

    def write(self, batch: Any) -> IndexStats:
        stats = super().write(batch)
        with self.lock:
            self.written += 1
        return stats


def test_reading_runs_at_most_a_few_batches_ahead_of_writing(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "DOC_BATCH", 2)
    files = write_notes(tmp_path / "notes", 40)
    sink = RecordingSink(engine)

    report = ingest_files(files, sink, TableOptions())

    assert (report.stats.documents, report.stats.embedded, report.failures) == (40, 40, [])
    assert sink.prepared == sink.written == 20
    # one being written, QUEUE_DEPTH in each queue, one in each of the two stages before: never the whole corpus
    assert sink.max_ahead <= 2 * pipeline.QUEUE_DEPTH + 3, sink.max_ahead
    assert engine.store.count() == 40


def test_files_are_reported_in_order_to_the_progress_callback(engine: Engine, tmp_path: Path) -> None:
    files = write_notes(tmp_path / "notes", 5)
    (tmp_path / "notes" / "empty.txt").write_text("")
    files.insert(2, tmp_path / "notes" / "empty.txt")
    seen: list[Path] = []

    report = ingest_files(files, EngineSink(engine), TableOptions(), on_file=lambda path, _: seen.append(path))

    assert seen == files
    assert [Path(path).name for path, _ in report.failures] == ["empty.txt"]


class FailingEmbedSink(EngineSink):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.calls = 0

    def embed(self, batches: list[Any]) -> None:
        self.calls += 1
        if self.calls == 3:
            raise BackendUnavailable("the model went away")
        super().embed(batches)


def test_an_error_in_one_stage_stops_every_stage_and_reaches_the_caller(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "DOC_BATCH", 2)
    files = write_notes(tmp_path / "notes", 30)
    before = threading.active_count()

    with pytest.raises(BackendUnavailable, match="the model went away"):
        ingest_files(files, FailingEmbedSink(engine), TableOptions())

    assert threading.active_count() == before  # no stage thread left behind
    assert engine.store.count() <= 4  # at most the two batches embedded before the failure were written


class RefusingSink(EngineSink):
    """Refuses, at write time as a remote API does, any batch holding a document whose text mentions 'forbidden'."""

    def write(self, batch: Any) -> IndexStats:
        if any("forbidden" in row["text"] for row in batch.rows):
            raise DocumentRejected("the API refused the batch: forbidden word")
        return super().write(batch)


def test_a_batch_refused_at_write_time_is_retried_file_by_file(engine: Engine, tmp_path: Path) -> None:
    files = write_notes(tmp_path / "notes", 4)
    files[1].write_text("This note holds a forbidden word.")

    report = ingest_files(files, RefusingSink(engine), TableOptions())

    assert [(Path(path).name, reason) for path, reason in report.failures] == [
        ("note001.txt", "refused by the indexer: the API refused the batch: forbidden word")
    ]
    assert report.stats.documents == 3 and engine.store.count() == 3


def test_metadata_integers_beyond_64_bits_are_refused_before_milvus_sees_them(engine: Engine) -> None:
    doc = Document(id="big", text="some text", source="t", metadata={"n": {"deep": [2**64]}})
    with pytest.raises(DocumentRejected, match="64-bit"):
        engine.indexer.index([doc])
    largest = Document(id="ok", text="some text", source="t", metadata={"n": 2**63 - 1})
    assert engine.indexer.index([largest]).chunks == 1
