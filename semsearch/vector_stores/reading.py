"""How a vector store's files are read: through the one upload path (`semsearch.uploads.submit_files`, a job in the
`JobQueue`), and how a file's OpenAI status follows from its job.

A kept file (`semsearch.file_store`) is copied into a staging folder, as an upload would be, and read by the same
readers under its file id, so its rows are the rows `POST /files` would store (and an unchanged file embeds nothing
when attached again). Files attached together with the same attributes are one job; the attributes tag every
document of the job, which is what makes them filterable.

A file's status is not pushed by the job: it is read from the job (`settle`) when someone asks, and kept once final.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from semsearch.errors import Unavailable
from semsearch.file_store import FileStore
from semsearch.knowledge_base import KnowledgeBase
from semsearch.uploads import FilesRefused, FileState, Job, JobNotFound, JobQueue, Staging, submit_files
from semsearch.vector_stores.records import Attributes, StoreFile

#: OpenAI's `last_error.code` for a file refused with this HTTP-like status (semsearch.uploads.FileState.status).
ERROR_CODES = {415: "unsupported_file", 400: "invalid_file", 413: "invalid_file"}


def submit(kb: KnowledgeBase, files: FileStore, queue: JobQueue, attached: Sequence[StoreFile]) -> None:
    """Queue the jobs that read `attached` into `kb` (one per distinct attributes) and note each file's job; a
    file no reader takes is marked failed at once. Unavailable (the queue is full) is raised if no job was queued
    yet; files left after a later refusal are marked failed with it."""
    groups: dict[str, list[StoreFile]] = {}
    for record in attached:
        groups.setdefault(json.dumps(record.attributes, sort_keys=True), []).append(record)
    queued = 0
    for group in groups.values():
        try:
            job = _queue(kb, files, queue, group, group[0].attributes)
        except FilesRefused as exc:
            for record, state in zip(group, exc.files or [], strict=False):
                record.fail(ERROR_CODES.get(state.status or 0, "invalid_file"), state.error or str(exc))
            if not exc.files:
                for record in group:
                    record.fail("invalid_file", str(exc))
            continue
        except Unavailable as exc:
            if not queued:
                raise
            for record in group:
                record.fail("server_error", str(exc))
            continue
        queued += 1
        for record in group:
            record.job_id = job.id


def _queue(kb: KnowledgeBase, files: FileStore, queue: JobQueue, group: list[StoreFile], attributes: Attributes) -> Job:
    staging = Staging.create(kb.settings)
    try:
        for record in group:
            staged = staging.begin(record.filename)
            for block in files.read(record.id):
                staged.write(block)
            staged.finish()
    except BaseException:
        staging.abandon()
        raise
    ids = [record.id for record in group]
    return submit_files(kb, staging, queue=queue, doc_ids=ids, metadata=dict(attributes) or None)


def settle(attached: Iterable[StoreFile], queue: JobQueue, is_stored: Callable[[str], bool]) -> bool:
    """Bring each file still in progress up to date with its job; True if any changed. For a job the queue no longer
    knows (the server restarted), `is_stored(file id)` says whether it was read before: else the file failed."""
    changed = False
    for record in attached:
        if record.status != "in_progress" or record.job_id is None:
            continue
        try:
            job = queue.get(record.job_id)
        except JobNotFound:
            if is_stored(record.id):
                record.status = "completed"
            else:
                record.fail("server_error", "the server restarted before this file was read; attach it again")
            changed = True
            continue
        state = next((s for s in job.files if s.doc_id == record.id), None)
        if state is not None and _follow(record, state):
            changed = True
    return changed


def _follow(record: StoreFile, state: FileState) -> bool:
    if state.state == "done":
        record.status = "completed"
    elif state.state == "failed":
        record.fail(ERROR_CODES.get(state.status or 0, "server_error"), state.error or "the file could not be read")
    elif state.state == "cancelled":
        record.fail("server_error", state.error or "cancelled", "cancelled")
    else:
        return False
    return True


def counts(attached: Iterable[StoreFile]) -> dict[str, int]:
    """OpenAI's `file_counts`: files by status, and the total."""
    found = Counter(record.status for record in attached)
    statuses = ("in_progress", "completed", "failed", "cancelled")
    return {**{status: found.get(status, 0) for status in statuses}, "total": sum(found.values())}
