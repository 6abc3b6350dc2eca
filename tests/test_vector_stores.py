"""Vector stores in the knowledge-base layer (`semsearch.vector_stores`, `semsearch.file_store`), on real Milvus Lite
with the real model: what outlives a restart, cancelling, failing files, the files folder's bound."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from semsearch.embedder import Embedder
from semsearch.file_store import FileStore, StoredFile
from semsearch.service import ModelRegistry, Service
from semsearch.settings import Settings
from semsearch.uploads import FilesRefused, Job, JobQueue, Staging
from semsearch.vector_stores import StoreFile, VectorStoreNotFound, VectorStores

TEXT = b"# Lighthouses\n\nA lighthouse keeper trimmed the wick and wound the clockwork that turned the lens."


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        milvus_uri=str(tmp_path / "milvus.db"), collection="unused", files_dir=str(tmp_path / "files"), _env_file=None
    )


def open_stores(settings: Settings, embedder: Embedder) -> tuple[VectorStores, Service, JobQueue]:
    models = ModelRegistry()
    models.adopt(embedder, settings)
    service = Service(settings, models=models)
    queue = JobQueue(settings.upload_queue_size)
    return VectorStores.of(service, FileStore.of(settings), queue, settings), service, queue


@pytest.fixture
def opened(settings: Settings, embedder: Embedder) -> Iterator[tuple[VectorStores, Service, JobQueue]]:
    stores, service, queue = open_stores(settings, embedder)
    yield stores, service, queue
    queue.close()
    service.close()


def keep(files: FileStore, settings: Settings, name: str, data: bytes = TEXT) -> StoredFile:
    """A file kept as `POST /v1/files` keeps one: staged by the upload path, then moved into the folder."""
    staging = Staging.create(settings)
    try:
        staged = staging.begin(name)
        staged.write(data)
        staged.finish()
        return files.keep(staged, "assistants")
    finally:
        staging.abandon()


def until(check: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def settled(stores: VectorStores, vs_id: str, file_id: str) -> StoreFile:
    until(lambda: stores.file(vs_id, file_id).status != "in_progress")
    return stores.file(vs_id, file_id)


def test_a_vector_store_and_its_files_outlive_the_process(settings: Settings, embedder: Embedder) -> None:
    stores, service, queue = open_stores(settings, embedder)
    try:
        kept = keep(stores.files, settings, "lighthouse.md")
        view = stores.create(name="coast", metadata={"owner": "ops"})
        stores.attach(view.id, kept.id, {"era": "victorian"})
        assert settled(stores, view.id, kept.id).status == "completed"
    finally:
        queue.close()
        service.close()
    again, service, queue = open_stores(settings, embedder)
    try:
        view = again.get(view.id)
        assert (view.record.name, view.record.metadata, view.file_counts["completed"]) == ("coast", {"owner": "ops"}, 1)
        found, _ = again.search(view.id, "who turned the lens?", filter={"era": "victorian"})
        assert found[0].file.id == kept.id and found[0].file.filename == "lighthouse.md"
    finally:
        queue.close()
        service.close()


def test_files_in_progress_when_the_server_stopped_are_read_or_failed_after_it(
    settings: Settings, embedder: Embedder
) -> None:
    """The job that was running finishes its file before the queue closes; the queued one is dropped. After the
    restart the first is completed (its chunks are there), the second failed with the reason."""
    stores, service, queue = open_stores(settings, embedder)
    try:
        read, dropped = keep(stores.files, settings, "lighthouse.md"), keep(stores.files, settings, "keeper.md")
        view = stores.create()
        with queue.write_lock:  # the worker takes the first job and waits; the second stays queued
            stores.attach(view.id, read.id)
            until(lambda: queue.pending() == 0)
            stores.attach(view.id, dropped.id, {"n": 2})
            queue.close(timeout=0)
    finally:
        queue.close()
        service.close()
    again, service, queue = open_stores(settings, embedder)
    try:
        assert again.file(view.id, read.id).status == "completed"
        file = again.file(view.id, dropped.id)
        assert file.status == "failed" and file.last_error is not None
        assert file.last_error["code"] == "server_error" and "restarted" in file.last_error["message"]
    finally:
        queue.close()
        service.close()


def test_a_file_no_reader_can_read_fails_with_its_reason(opened: tuple[VectorStores, Service, JobQueue]) -> None:
    stores, _, _ = opened
    broken = keep(stores.files, stores.service.settings, "broken.pdf", b"this is not a PDF at all")
    view = stores.create(file_ids=[broken.id])
    file = settled(stores, view.id, broken.id)
    assert file.status == "failed" and file.last_error is not None
    assert file.last_error["code"] == "invalid_file" and file.last_error["message"]
    assert stores.get(view.id).file_counts == {
        "in_progress": 0,
        "completed": 0,
        "failed": 1,
        "cancelled": 0,
        "total": 1,
    }


def test_a_cancelled_batch_stops_the_files_not_read_yet(opened: tuple[VectorStores, Service, JobQueue]) -> None:
    stores, _, queue = opened
    settings = stores.service.settings
    first, second, third = (keep(stores.files, settings, f"{name}.md") for name in ("one", "two", "three"))
    view = stores.create()
    with queue.write_lock:  # the worker takes the first batch's job and waits for the lock; the second stays queued
        running = stores.create_batch(view.id, [(first.id, {})])
        until(lambda: queue.pending() == 0)
        waiting = stores.create_batch(view.id, [(second.id, {}), (third.id, {"n": 3})])
        batch, files = stores.cancel_batch(view.id, waiting.id)
        assert batch.cancelled and {f.status for f in files} == {"cancelled"}
    assert settled(stores, view.id, first.id).status == "completed"
    _, files = stores.batch(view.id, running.id)
    assert [f.status for f in files] == ["completed"]
    assert stores.get(view.id).file_counts["cancelled"] == 2


def test_a_job_cancelled_while_it_runs_stops_after_its_current_file(tmp_path: Path) -> None:
    queue = JobQueue(4)
    done: list[int] = []

    def run(job: Job) -> None:
        for number in range(3):
            done.append(number)
            job.check_stop()

    with queue.write_lock:
        job = queue.submit(Job(files=[]), run)
        until(lambda: queue.pending() == 0)
        queue.cancel(job.id, "the caller cancelled it")
    assert job.wait(60)
    assert (job.state, done) == ("cancelled", [0])
    assert job.error is not None and job.error.startswith("the caller cancelled it")
    queue.close()


def test_a_vector_store_dropped_as_a_collection_is_gone(opened: tuple[VectorStores, Service, JobQueue]) -> None:
    stores, service, _ = opened
    view = stores.create(name="short")
    assert view.id in [v.id for v in stores.list()]
    service.drop(view.id)
    with pytest.raises(VectorStoreNotFound):
        stores.get(view.id)
    assert view.id not in [v.id for v in stores.list()]


def test_the_kept_files_are_bounded_in_total(settings: Settings) -> None:
    files = FileStore(settings.files_folder, max_bytes=150)
    kept = keep(files, settings, "a.md")
    with pytest.raises(FilesRefused) as caught:
        keep(files, settings, "b.md")
    assert caught.value.status == 413 and "SEMSEARCH_FILES_MAX_BYTES" in str(caught.value)
    files.delete(kept.id)
    assert keep(files, settings, "b.md").bytes == len(TEXT)
    assert [f.filename for f in FileStore(settings.files_folder, 150).list()] == ["b.md"]  # the index is on disk
