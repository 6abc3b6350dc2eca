"""`submit_files`: queue a job that reads staged files into a knowledge base with the same readers as `semsearch
ingest`, under the ids given; and `files_page`, the files of a knowledge base with their state."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.pipeline import IngestReport
from ingest.tags import checked
from semsearch.errors import DocumentRejected, Refused, TenantRequired
from semsearch.indexer import Document, validate_document
from semsearch.knowledge_base import KnowledgeBase
from semsearch.uploads.jobs import FileState, Job, JobQueue
from semsearch.uploads.staging import FilesRefused, Staging


@dataclass(frozen=True)
class ReadOptions:
    """How tables among the files become documents (None: guessed from the columns, as `semsearch ingest`)."""

    text_column: str | None = None
    id_column: str | None = None
    metadata_columns: tuple[str, ...] | None = None


def submit_files(
    kb: KnowledgeBase,
    staging: Staging,
    *,
    queue: JobQueue,
    doc_ids: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    options: ReadOptions = ReadOptions(),
    reopen: Callable[[], KnowledgeBase] | None = None,
) -> Job:
    """Queue a job that reads the staged files into `kb` and return it at once; the job owns `staging` from now on
    (removed when the job ends, or here if nothing is queued).

    `doc_ids`, if given, has one id per file part in order (refused ones included); else a file's id is its name.
    `metadata` tags every document (over its own). The files go to `kb`'s tenant where it is confined to one
    (`kb.for_tenant(t)`; recorded on the job). `reopen` finds the knowledge base again when the job runs (a service
    may have closed the collection while the job waited); default: `kb` as it is. Raises FilesRefused when no file
    can be read (each named with its reason) or the fields are wrong, QueueFull when the queue is full."""
    try:
        if kb.engine.store.multi_tenant and kb.tenant is None:  # refused now, not when the job runs
            raise TenantRequired(
                f"collection {kb.engine.store.collection!r} is multi-tenant: name the tenant the files belong to "
                "(the field `tenant`; `kb.for_tenant(name)` in Python)"
            )
        job = _job(staging, doc_ids, kb.tenant)
        job.collection = kb.engine.store.collection
        tags = checked(metadata)
    except Refused as exc:
        staging.abandon()
        raise exc if isinstance(exc, FilesRefused) else FilesRefused(str(exc)) from exc
    accepted = {staged.path: staged.state for staged in staging.files if not staged.refused and staged.path}
    if not accepted:
        staging.abandon()
        raise nothing_read(job.files)

    def run(job: Job) -> None:
        for state in accepted.values():
            state.state = "reading"

        def on_file(path: Path, report: IngestReport) -> None:
            state = accepted[path]
            failure = report.failures[-1] if report.failures else None
            if failure is not None and failure[0] == str(path):
                state.refuse(400, failure[1])
            else:
                state.state = "done"
            job.stats = report.stats
            job.check_stop()

        target = reopen() if reopen is not None else kb
        if kb.tenant is not None and target.tenant is None:
            target = target.for_tenant(kb.tenant)
        report = target.add_named_files(
            {path: state.doc_id for path, state in accepted.items()},
            metadata=tags,
            text_column=options.text_column,
            id_column=options.id_column,
            metadata_columns=options.metadata_columns,
            on_file=on_file,
        )
        job.stats = report.stats

    return queue.submit(job, run, cleanup=staging.remove)


def _job(staging: Staging, doc_ids: Sequence[str] | None, tenant: str | None) -> Job:
    """The job's files with their ids: the given ones (checked) or the names; a repeated id refuses the later file."""
    files = [staged.state for staged in staging.files]
    if not files:
        raise FilesRefused("no files in the request: send one or more parts named 'files' with a file name")
    if doc_ids is not None:
        if len(doc_ids) != len(files):
            raise FilesRefused(f"{len(doc_ids)} doc_id fields for {len(files)} files: send one per file, in order")
        for state, doc_id in zip(files, doc_ids, strict=True):
            state.doc_id = doc_id
    seen: set[str] = set()
    for staged in staging.files:
        state = staged.state
        if staged.refused:
            continue
        try:
            validate_document(Document(id=state.doc_id, text="-", source=state.doc_id))
        except DocumentRejected as exc:
            staged._drop(400, f"doc_id: {exc}")
            continue
        if state.doc_id in seen:
            staged._drop(400, f"doc_id {state.doc_id!r} is given to another file of this request")
        seen.add(state.doc_id)
    return Job(files=files, tenant=tenant)


def nothing_read(files: Sequence[FileState]) -> FilesRefused:
    """The refusal of a request none of whose files could be read: each named with its reason; the status is
    theirs when they share one (413 all too big, 415 all of unknown types), else 400."""
    statuses = {f.status for f in files}
    status = statuses.pop() if len(statuses) == 1 else 400
    reasons = "; ".join(f"{f.name!r}: {f.error}" for f in files)
    return FilesRefused(f"no file could be read: {reasons}", status or 400, files)


@dataclass
class FileInfo:
    """A file as `GET /files` lists it: stored (its documents' source), or an upload not stored (yet)."""

    file_id: str
    state: str
    title: str = ""
    documents: int = 0
    chunks: int = 0
    job_id: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


#: Most uploads not stored (queued, being read, failed) that the first page of `files_page` lists.
UNSTORED_MAX = 1000


def files_page(
    kb: KnowledgeBase, queue: JobQueue, *, after: str | None = None, limit: int = 100
) -> tuple[list[FileInfo], str | None]:
    """A page of `kb`'s files: on the first page the uploads to it this process has not stored (queued, being read,
    or failed, newest first), then the stored files, a page of `limit` documents at a time grouped by source (a
    table's rows are one file; a table longer than a page continues on the next one). Returns (files, cursor)."""
    listed: list[FileInfo] = []
    if after is None:
        owner = (kb.engine.store.collection, kb.tenant)
        for job in (job for job in queue.jobs() if (job.collection, job.tenant) == owner):
            for state in job.files:
                if state.state != "done" and len(listed) < UNSTORED_MAX:
                    shown = "failed" if state.state == "cancelled" else state.state
                    listed.append(FileInfo(state.doc_id or state.name, shown, job_id=job.id, error=state.error))
    page = kb.documents_page(after=after, limit=limit)
    stored: dict[str, FileInfo] = {}
    for doc in page.documents:
        info = stored.setdefault(doc.source, FileInfo(doc.source, "stored"))
        info.documents += 1
        info.chunks += doc.chunks
        if doc.doc_id == doc.source:
            info.title = doc.title
    return listed + list(stored.values()), page.next
