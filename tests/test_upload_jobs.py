"""The upload job queue (`semsearch.uploads.jobs`): bounded, one job at a time, and what a restart does to queued
jobs."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from semsearch.settings import Settings
from semsearch.uploads import FilesRefused, FileState, Job, JobNotFound, JobQueue, QueueFull, Staging, check_name


def job() -> Job:
    return Job(files=[FileState(name="a.txt", doc_id="a.txt")])


def test_a_full_queue_refuses_the_next_job_and_cleans_up_after_it() -> None:
    queue, running, release = JobQueue(size=1), threading.Event(), threading.Event()

    def hold(job: Job) -> None:
        running.set()
        release.wait(60)

    first = queue.submit(job(), hold)
    assert running.wait(60)  # the worker holds the first job; the queue itself is empty
    waiting = queue.submit(job(), lambda job: None)
    cleaned: list[str] = []
    with pytest.raises(QueueFull, match="SEMSEARCH_UPLOAD_QUEUE_SIZE"):
        queue.submit(job(), lambda job: None, cleanup=lambda: cleaned.append("refused"))
    assert cleaned == ["refused"] and queue.get(waiting.id).state == "queued"
    release.set()
    assert first.wait(60) and waiting.wait(60)
    assert (first.state, waiting.state) == ("done", "done")
    queue.close()


def test_closing_cancels_queued_jobs_removes_their_files_and_forgets_nothing_running() -> None:
    queue, running, release = JobQueue(size=4), threading.Event(), threading.Event()
    cleaned: list[str] = []

    def hold(job: Job) -> None:
        running.set()
        release.wait(60)
        job.files[0].state = "done"
        job.check_stop()  # between two files: the queue is closing, so the job stops here

    first = queue.submit(job(), hold, cleanup=lambda: cleaned.append("first"))
    assert running.wait(60)
    queued = queue.submit(job(), lambda job: None, cleanup=lambda: cleaned.append("queued"))
    closer = threading.Thread(target=queue.close)
    closer.start()
    assert queued.wait(60) and queued.state == "cancelled" and queued.files[0].state == "cancelled"
    release.set()
    closer.join(60)
    assert first.state == "cancelled" and first.files[0].state == "done"  # the file written stays written
    assert sorted(cleaned) == ["first", "queued"]
    with pytest.raises(JobNotFound):
        queue.get("job_unknown")


def test_a_failing_job_is_reported_and_the_worker_goes_on() -> None:
    queue = JobQueue(size=4)

    def boom(job: Job) -> None:
        raise RuntimeError("a bug")

    failed = queue.submit(job(), boom)
    fine = queue.submit(job(), lambda job: None)
    assert failed.wait(60) and fine.wait(60)
    assert failed.state == "failed" and "RuntimeError" in (failed.error or "") and fine.state == "done"
    assert failed.files[0].state == "failed"
    queue.close()


@pytest.mark.parametrize(
    "name", ["../x.txt", "a/b.txt", "a\\b.txt", "..", "nul\x00.txt", "tab\t.txt", "", "n" * 300, b"caf\xe9.txt"]
)
def test_a_name_that_is_not_a_plain_file_name_is_refused(name: str | bytes) -> None:
    with pytest.raises(FilesRefused):
        check_name(name)


def test_a_staged_file_over_its_limit_is_dropped_while_it_streams(tmp_path: Path) -> None:
    staging = Staging.create(Settings(upload_dir=str(tmp_path), max_file_bytes=10, _env_file=None))
    small, big = staging.begin("small.txt"), staging.begin("big.md")
    small.write(b"fine")
    big.write(b"x" * 8)
    big.write(b"x" * 8)  # over 10 bytes: dropped here, the rest of its bytes ignored
    big.write(b"x" * 8)
    small.finish()
    big.finish()
    assert (big.state.status, big.path) == (413, None)
    assert small.path is not None and small.path.read_bytes() == b"fine" and small.path.name == "small.txt"
    staging.remove()
    assert list(tmp_path.iterdir()) == []
