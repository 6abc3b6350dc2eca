"""Jobs: long writes (reading and embedding uploaded files) run one at a time by a worker thread, in a bounded queue.

Embedding a 300-page PDF takes tens of seconds on a CPU, longer than an HTTP client should hold a request open, so
an upload answers at once with a `Job` and the work runs here. One worker: the model already uses every core, and
Milvus writes are serialised by the write lock anyway, so a second worker would only interleave two jobs.

Jobs live in memory. On a restart (`close`), queued jobs are cancelled and their staged files removed; a running job
stops after the file it is writing (no file is left half-written); `GET /jobs/{id}` then answers 404. Uploading the
same files again is cheap: unchanged chunks are found by content hash and not embedded again.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from semsearch.errors import NotFound, SemsearchError, Unavailable
from semsearch.indexer import IndexStats

log = logging.getLogger("semsearch.uploads")

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
#: A file's way through a job: queued → reading → done | failed (or cancelled, with its job).
FileStateName = Literal["queued", "reading", "done", "failed", "cancelled"]
#: Finished jobs remembered for `GET /jobs/{id}` and `GET /files`; older ones are forgotten first.
KEEP_FINISHED = 1000


class QueueFull(Unavailable):
    """The upload queue holds `upload_queue_size` jobs already: try again once some have run (HTTP 503)."""


class JobNotFound(NotFound):
    """No job has this id (never submitted, forgotten, or submitted before a restart)."""


class JobCancelled(SemsearchError):
    """Raised inside a running job to stop it between two files (the queue is closing)."""


@dataclass
class FileState:
    """One file of a job. `status` is an HTTP-like code for a refused file: 400 unreadable or bad input, 413 over
    the size limit, 415 a type no reader takes; None while it is fine."""

    name: str
    doc_id: str
    size: int = 0
    state: FileStateName = "queued"
    error: str | None = None
    status: int | None = None

    def refuse(self, status: int, reason: str) -> None:
        self.state, self.status, self.error = "failed", status, reason

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("name", "doc_id", "size", "state", "error", "status")}


@dataclass
class Job:
    """What a job was asked to do and how far it got: its files and the index counts so far (`stats`)."""

    files: list[FileState]
    tenant: str | None = None
    #: The collection the files go to (None: not said).
    collection: str | None = None
    id: str = field(default_factory=lambda: f"job_{uuid.uuid4().hex}")
    state: JobState = "queued"
    stats: IndexStats = field(default_factory=IndexStats)
    error: str | None = None
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _stop_reason: str = field(default="the server is stopping", repr=False)

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished (True) or `timeout` seconds passed (False)."""
        return self._finished.wait(timeout)

    def check_stop(self) -> None:
        """Called by the work between files: raises JobCancelled once the queue is closing or the job was cancelled."""
        if self._stop.is_set():
            raise JobCancelled(self._stop_reason)

    def failed_files(self) -> list[FileState]:
        return [f for f in self.files if f.state == "failed"]

    def to_dict(self) -> dict[str, Any]:
        """The answer of `GET /jobs/{id}`: state, counts, each file, and the errors by file name."""
        return {
            "id": self.id,
            "state": self.state,
            "tenant": self.tenant,
            "collection": self.collection,
            "files_total": len(self.files),
            "files_done": sum(f.state == "done" for f in self.files),
            "files_failed": sum(f.state == "failed" for f in self.files),
            **self.stats.counts(),
            "errors": {f.name: f.error for f in self.files if f.error},
            "error": self.error,
            "files": [f.to_dict() for f in self.files],
            "created_at": self.created_at,
            "finished_at": self.finished_at,
        }


@dataclass
class _Entry:
    job: Job
    run: Callable[[Job], None]
    cleanup: Callable[[], None]


class JobQueue:
    """A bounded queue of jobs and the one worker thread that runs them, each under `write_lock` (the lock every
    writer of the process takes, so a job and a `POST /documents` never interleave their chunk writes)."""

    def __init__(
        self,
        size: int,
        write_lock: threading.Lock | None = None,
        keep: int = KEEP_FINISHED,
        on_end: Callable[[Job], None] | None = None,
    ) -> None:
        self.size = size
        self.on_end = on_end  # hears of every job that ends (e.g. to count ingest metrics), in the worker thread
        self.write_lock = write_lock or threading.Lock()
        self.keep = keep
        self._cond = threading.Condition()
        self._pending: deque[_Entry] = deque()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._closed = False
        self._worker: threading.Thread | None = None

    def submit(self, job: Job, run: Callable[[Job], None], cleanup: Callable[[], None] = lambda: None) -> Job:
        """Queue `run(job)`; `cleanup` runs once the job ends however it ends (or at once if it is refused here).
        Raises QueueFull when `size` jobs wait already, Unavailable once the queue is closed."""
        with self._cond:
            refusal: Unavailable | None = None
            if self._closed:
                refusal = Unavailable("the server is stopping; upload again once it is back")
            elif len(self._pending) >= self.size:
                refusal = QueueFull(
                    f"{len(self._pending)} upload jobs are waiting already (SEMSEARCH_UPLOAD_QUEUE_SIZE); try again "
                    "once some have run"
                )
            if refusal is None:
                self._pending.append(_Entry(job, run, cleanup))
                self._remember(job)
                if self._worker is None:
                    self._worker = threading.Thread(target=self._work, name="upload-jobs", daemon=True)
                    self._worker.start()
                self._cond.notify()
                return job
        cleanup()
        raise refusal

    def get(self, job_id: str) -> Job:
        with self._cond:
            job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(f"no job with id {job_id!r} (jobs are kept in memory: a restart forgets them)")
        return job

    def jobs(self) -> list[Job]:
        """Every job remembered, newest first."""
        with self._cond:
            return list(reversed(self._jobs.values()))

    def cancel(self, job_id: str, reason: str = "cancelled") -> Job:
        """Cancel a job: a queued one never runs (its files are removed), a running one stops after the file it is
        writing (the files done stay done); a finished one is left as it is. JobNotFound if there is none."""
        job = self.get(job_id)
        with self._cond:
            entry = next((e for e in self._pending if e.job is job), None)
            if entry is not None:
                self._pending.remove(entry)
            elif not job.finished:
                job._stop_reason = reason
                job._stop.set()
        if entry is not None:
            self._end(entry, "cancelled", reason)
        return job

    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def close(self, timeout: float | None = 60.0) -> None:
        """Cancel the queued jobs (their files are removed), stop the running one after its current file, and wait
        up to `timeout` seconds for the worker."""
        with self._cond:
            self._closed = True
            cancelled = list(self._pending)
            self._pending.clear()
            for job in self._jobs.values():
                job._stop.set()
            self._cond.notify_all()
        for entry in cancelled:
            self._end(entry, "cancelled", "the server stopped before this job ran; upload again")
        if self._worker is not None:
            self._worker.join(timeout)

    def _remember(self, job: Job) -> None:
        self._jobs[job.id] = job
        while len(self._jobs) > self.keep:
            oldest = next(iter(self._jobs.values()))
            if not oldest.finished:
                break
            self._jobs.popitem(last=False)

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending:
                    return
                entry = self._pending.popleft()
            self._run(entry)

    def _run(self, entry: _Entry) -> None:
        job = entry.job
        job.state = "running"
        try:
            with self.write_lock:
                entry.run(job)
        except JobCancelled as exc:
            self._end(entry, "cancelled", f"{exc}; upload the files not done again")
        except SemsearchError as exc:
            self._end(entry, "failed", str(exc))
        except Exception as exc:  # a bug or an unexpected library error: the job says so, the worker goes on
            log.exception("upload job %s failed", job.id)
            self._end(entry, "failed", f"internal error: {type(exc).__name__}")
        else:
            self._end(entry, "done", None)

    def _end(self, entry: _Entry, state: JobState, error: str | None) -> None:
        job = entry.job
        try:
            entry.cleanup()
        finally:
            if state != "done":
                for file in job.files:
                    if file.state in ("queued", "reading"):
                        file.state, file.error = "cancelled" if state == "cancelled" else "failed", error
            job.state, job.error, job.finished_at = state, error, time.time()
            if self.on_end is not None:
                try:
                    self.on_end(job)
                except Exception:  # a listener's fault must not leave the job unfinished
                    log.exception("on_end of job %s failed", job.id)
            job._finished.set()
