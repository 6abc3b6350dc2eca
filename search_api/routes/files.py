"""Files in over HTTP: `POST /files` (multipart upload → a job), `GET /files`, `DELETE /files/{doc_id}`,
`GET /jobs/{id}`. Thin routes over `semsearch.uploads` and `semsearch.uploads.jobs`; the multipart body is read by
`search_api.multipart_files`.

The router holds no collection of its own: it takes the knowledge base from `KnowledgeBaseDep`, so it is mounted
for the default collection (`/files`) and under `/collections/{collection}/`; `/jobs/{id}` is mounted once.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from search_api.deps import WriteLockDep, knowledge_base_later
from search_api.file_models import FilePageResponse, FilesRefusedResponse, JobResponse
from search_api.models import ERRORS, DeleteResponse, ErrorResponse
from search_api.multipart_files import read_upload
from search_api.routes.documents import TenantQuery
from search_api.scopes import ReadScope, WriteScope
from semsearch.errors import DocumentNotFound, Unavailable
from semsearch.uploads import FilesRefused, Job, JobQueue, ReadOptions, files_page, nothing_read, submit_files

router = APIRouter(tags=["files"])
#: `/jobs/{id}`: one namespace of jobs for every collection, so mounted once, at the top.
jobs_router = APIRouter(tags=["files"])

UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["files"],
                "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    "doc_id": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "One per file, in order; default: the file's name.",
                    },
                    "metadata": {"type": "string", "description": "A JSON object tagging every document."},
                    "tenant": {"type": "string", "description": "Recorded on the job (tenants enforce it)."},
                    "text_column": {"type": "string"},
                    "id_column": {"type": "string"},
                    "metadata_columns": {"type": "string", "description": "Comma-separated table columns."},
                },
            }
        }
    },
}
UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    200: {"model": JobResponse, "description": "With `wait=true`: the finished job"},
    400: {"model": FilesRefusedResponse, "description": "No file could be read (each named), or a malformed request"},
    413: {"model": FilesRefusedResponse, "description": "Body over SEMSEARCH_MAX_UPLOAD_BYTES, or every file too big"},
    415: {"model": FilesRefusedResponse, "description": "Not multipart/form-data, or no file of a known type"},
    503: {"model": ErrorResponse, "description": "The upload queue is full (SEMSEARCH_UPLOAD_QUEUE_SIZE)"},
}
NOT_FOUND = {**ERRORS, 404: {"model": ErrorResponse, "description": "No such job or file"}}


def get_jobs(request: Request) -> JobQueue:
    return request.app.state.jobs


@router.post(
    "/files",
    status_code=202,
    response_model=JobResponse,
    responses=UPLOAD_ERRORS,
    openapi_extra={"requestBody": UPLOAD_BODY},
)
async def upload_files(
    request: Request,
    scope: WriteScope,
    wait: Annotated[bool, Query(description="Wait (up to SEMSEARCH_UPLOAD_WAIT_SECONDS) for the job to end.")] = False,
) -> JSONResponse:
    """Upload one or many files (multipart field `files`): each is read by the same readers as `semsearch ingest`
    (PDF pages, slides, headings, front matter, tables) and its chunks embedded, unless unchanged (content hashes).

    Answers 202 with a job at once (`GET /jobs/{id}` follows it); with `wait=true`, 200 with the finished job, or
    the 4xx of its files when none could be read. A file refused (unknown type, empty, over the limit, a hostile
    name, unreadable) is reported by name while the others land. In a multi-tenant collection the field `tenant`
    names the tenant the files belong to."""
    queue = get_jobs(request)
    form = await read_upload(request, scope.base.settings)
    staging = form.staging
    try:
        doc_ids = form.fields.get("doc_id")
        options = ReadOptions(
            text_column=form.one("text_column"),
            id_column=form.one("id_column"),
            metadata_columns=_columns(form.one("metadata_columns")),
        )
        metadata = _metadata(form.one("metadata"))
        kb = scope.kb(form.one("tenant"))  # the key's tenant and the collection's kind are checked here
    except Exception:
        await anyio.to_thread.run_sync(staging.abandon)
        raise
    reopen = knowledge_base_later(request)
    job = await anyio.to_thread.run_sync(
        lambda: submit_files(
            kb, staging, queue=queue, doc_ids=doc_ids, metadata=metadata, options=options, reopen=reopen
        )
    )
    if wait and await anyio.to_thread.run_sync(job.wait, kb.settings.upload_wait_seconds):
        _refuse_if_nothing_landed(job)
        return _job_answer(job, 200)
    return _job_answer(job, 202)


@jobs_router.get("/jobs/{job_id}", response_model=JobResponse, responses=NOT_FOUND)
def get_job(request: Request, job_id: Annotated[str, Path(max_length=100)]) -> JobResponse:
    """An upload job: its state, files done and failed, chunks embedded, and errors by file name."""
    return JobResponse.model_validate(get_jobs(request).get(job_id).to_dict())


@router.get("/files", response_model=FilePageResponse, responses=ERRORS)
def list_files(
    request: Request,
    scope: ReadScope,
    tenant: TenantQuery = None,
    after: Annotated[str | None, Query(max_length=1024, description="The `next` cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Documents read for this page.")] = 100,
) -> FilePageResponse:
    """Files with their state: first the uploads not stored (queued, being read, failed), then stored files (the
    sources of the stored documents), a page at a time."""
    files, cursor = files_page(scope.kb(tenant), get_jobs(request), after=after, limit=limit)
    return FilePageResponse.model_validate({"files": [f.to_dict() for f in files], "next": cursor})


@router.delete(
    "/files/{doc_id:path}",
    response_model=DeleteResponse,
    responses=NOT_FOUND,
)
def delete_file(
    scope: WriteScope,
    lock: WriteLockDep,
    doc_id: str = Path(..., min_length=1, max_length=1000),
    tenant: TenantQuery = None,
) -> DeleteResponse:
    """Remove a file's chunks: its document, or every row of a table."""
    kb = scope.kb(tenant)
    with lock:
        deleted = kb.delete_file(doc_id)
    if not deleted:
        raise DocumentNotFound(f"no file with id {doc_id!r}")
    return DeleteResponse(doc_id=doc_id, deleted=deleted)


def _job_answer(job: Job, status: int) -> JSONResponse:
    body = JobResponse.model_validate(job.to_dict()).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers={"Location": f"/jobs/{job.id}"})


def _refuse_if_nothing_landed(job: Job) -> None:
    """A waited-for job answers as its files do: a 4xx when none could be read, a 503 when it could not run."""
    if job.state == "done" and len(job.failed_files()) == len(job.files):
        raise nothing_read(job.files)
    if job.state in ("failed", "cancelled"):
        raise Unavailable(f"upload job {job.id} {job.state}: {job.error}")


def _metadata(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise FilesRefused(f"metadata is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise FilesRefused("metadata must be a JSON object")
    return value


def _columns(raw: str | None) -> tuple[str, ...] | None:
    return tuple(c.strip() for c in raw.split(",") if c.strip()) if raw is not None else None
