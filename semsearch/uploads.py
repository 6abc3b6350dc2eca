"""Files in over HTTP, in the knowledge-base layer: checking a file's name, staging its bytes on disk, and
`submit_files`, which queues a job that reads the staged files with the same readers as `semsearch ingest`.

    staging = Staging.create(settings)                 # a private temporary folder for one request's files
    upload = staging.begin(b"report.pdf")              # the name as sent: checked, never trusted as a path
    for block in body: upload.write(block)             # streamed to disk; over the limit it is refused (413)
    upload.finish()
    job = submit_files(kb, staging, queue=queue, doc_ids=["reports/2024.pdf"])   # the job owns the folder now
    job.wait(60); job.to_dict()

A file keeps its own name inside the folder, so a reader sees the same stem (titles) and suffix (format) as it
would locally; its id is the `doc_id` given, else its name. So an upload with the id a local ingest would give
(`semsearch ingest --api` sends that) stores exactly the rows the local ingest stores, and embeds nothing that is
already there (content hashes). A refused file (a hostile name, a type no reader takes, empty, over the limit) is
reported by name with an HTTP-like status while the other files go on.
"""

from __future__ import annotations

import shutil
import tempfile
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ingest.formats import format_of, supported_suffixes
from ingest.pipeline import IngestReport
from ingest.tags import checked
from semsearch.errors import DocumentRejected, Refused
from semsearch.indexer import Document, validate_document
from semsearch.jobs import FileState, Job, JobQueue
from semsearch.knowledge_base import KnowledgeBase
from semsearch.settings import Settings

#: Longest file name accepted, in UTF-8 bytes: what Linux file systems allow for one name.
NAME_MAX_BYTES = 255


class FilesRefused(Refused):
    """No file of the request can be read (each is named in `files` with its reason), or the request's fields are
    wrong; `status` is the HTTP status to answer (400, 413 or 415)."""

    def __init__(self, message: str, status: int = 400, files: Sequence[FileState] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.files = list(files)


def check_name(raw: bytes | str) -> str:
    """The file name as sent, if it is one a reader may see; raises FilesRefused (400) for a path (`../x`, `a/b`),
    a NUL or control character, a name over NAME_MAX_BYTES bytes, or bytes that are not UTF-8."""
    if isinstance(raw, bytes):
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FilesRefused(f"file name {raw[:80]!r} is not UTF-8") from exc
    else:
        name = raw
    shown = repr(name[:80] + ("..." if len(name) > 80 else ""))
    if not name.strip():
        raise FilesRefused("a file part has no file name")
    if len(name.encode("utf-8", "surrogatepass")) > NAME_MAX_BYTES:
        raise FilesRefused(f"file name {shown} is longer than {NAME_MAX_BYTES} bytes")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        raise FilesRefused(f"file name {shown} contains a control character or NUL")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise FilesRefused(f"file name {shown} is a path; send the file's name only (and its id as doc_id)")
    return name


@dataclass
class StagedFile:
    """One file of a request on its way to disk. `state.status` is set when it is refused; its bytes are then
    dropped (and any written removed) while the request's other files go on."""

    state: FileState
    path: Path | None = None
    limit: int = 0
    _out: IO[bytes] | None = field(default=None, repr=False)

    @property
    def refused(self) -> bool:
        return self.state.status is not None

    def write(self, data: bytes) -> None:
        if self.refused:
            return
        self.state.size += len(data)
        if self.state.size > self.limit:
            self._drop(
                413,
                f"file is over the {self.limit / 2**20:.1f} MiB limit (SEMSEARCH_MAX_FILE_BYTES for prose files, "
                "SEMSEARCH_MAX_UPLOAD_BYTES for a request)",
            )
            return
        assert self._out is not None
        self._out.write(data)

    def finish(self) -> None:
        """The part ended: close the file; an empty one is refused (400)."""
        if self._out is not None:
            self._out.close()
            self._out = None
        if not self.refused and self.state.size == 0:
            self._drop(400, "empty file")

    def _drop(self, status: int, reason: str) -> None:
        self.state.refuse(status, reason)
        if self._out is not None:
            self._out.close()
            self._out = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None


@dataclass
class Staging:
    """A private folder (mode 0700) for one request's files, each in a numbered sub-folder under its own name.
    Whoever holds it removes it: the request while it is read, then the job `submit_files` queues."""

    directory: Path
    settings: Settings
    files: list[StagedFile] = field(default_factory=list)

    @classmethod
    def create(cls, settings: Settings) -> Staging:
        root = Path(settings.upload_dir) if settings.upload_dir else None
        if root is not None:
            root.mkdir(parents=True, exist_ok=True)
        return cls(Path(tempfile.mkdtemp(prefix="semsearch-upload-", dir=root)), settings)

    def begin(self, raw_name: bytes | str) -> StagedFile:
        """Start the next file of the request. It is refused at once (its bytes then dropped) for a bad name
        (400) or a type no reader takes (415); prose files are held to `max_file_bytes`, tables stream and are held
        only to `max_upload_bytes`."""
        number = len(self.files)
        try:
            name = check_name(raw_name)
        except FilesRefused as exc:
            shown = raw_name.decode("utf-8", "replace") if isinstance(raw_name, bytes) else raw_name
            staged = StagedFile(FileState(name=_printable(shown), doc_id=""))
            staged.state.refuse(400, str(exc))
            self.files.append(staged)
            return staged
        staged = StagedFile(FileState(name=name, doc_id=name))
        self.files.append(staged)
        found = format_of(Path(name))
        if found is None:
            staged.state.refuse(
                415, f"unsupported file type {Path(name).suffix.lower() or '(none)'!r}; use {supported_suffixes()}"
            )
            return staged
        staged.limit = self.settings.max_upload_bytes if found.table else self.settings.max_file_bytes
        folder = self.directory / str(number)
        folder.mkdir()
        staged.path = folder / name
        staged._out = staged.path.open("xb")
        return staged

    def abandon(self) -> None:
        """The request failed (cut off, refused as a whole): close what is open and remove the folder."""
        for staged in self.files:
            if staged._out is not None:
                staged._out.close()
                staged._out = None
        self.remove()

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


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
    tenant: str | None = None,
    options: ReadOptions = ReadOptions(),
) -> Job:
    """Queue a job that reads the staged files into `kb` and return it at once; the job owns `staging` from now on
    (removed when the job ends, or here if nothing is queued).

    `doc_ids`, if given, has one id per file part in order (refused ones included); else a file's id is its name.
    `metadata` tags every document (over its own); `tenant` is recorded on the job for the layer that enforces
    tenants. Raises FilesRefused when no file can be read (each named with its reason) or the fields are wrong,
    QueueFull when the queue is full."""
    try:
        job = _job(staging, doc_ids, tenant)
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

        report = kb.add_named_files(
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


def _printable(name: str) -> str:
    """A refused name as it can be shown in an answer: control characters escaped, cut to 120 characters."""
    shown = "".join(c if unicodedata.category(c) not in ("Cc", "Cs") else repr(c)[1:-1] for c in name)
    return shown[:120] + ("..." if len(shown) > 120 else "")


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
    """A page of files: on the first page the uploads this process has not stored (queued, being read, or failed,
    newest first), then the stored files, a page of `limit` documents at a time grouped by source (a table's rows
    are one file; a table longer than a page continues on the next one). Returns (files, cursor for `after`)."""
    listed: list[FileInfo] = []
    if after is None:
        for job in queue.jobs():
            if job.tenant != kb.tenant:  # another tenant's uploads are not this one's to see
                continue
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
