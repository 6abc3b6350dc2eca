"""Response models of the upload routes (`/files`, `/jobs`): the shapes of `semsearch.uploads.Job.to_dict()` and of a
page of files, declared for the OpenAPI documentation."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from search_api.models import ErrorResponse


class FileStateResponse(BaseModel):
    name: str = Field(description="The file's name as uploaded (a refused name shown escaped).")
    doc_id: str = Field(description="The file's id: `doc_id` if given, else its name; a table's rows are `<id>:<row>`.")
    size: int = Field(description="Bytes received.")
    state: Literal["queued", "reading", "done", "failed", "cancelled"]
    error: str | None = Field(None, description="Why the file was not stored.")
    status: int | None = Field(
        None, description="For a refused file: 400 bad input or unreadable, 413 over the size limit, 415 unknown type."
    )


class JobResponse(BaseModel):
    """An upload job: `state` queued → running → done (each file's own state says whether it landed), or failed
    (the job could not run: `error`), or cancelled (the server stopped)."""

    id: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    tenant: str | None = None
    collection: str | None = Field(None, description="The collection the files go to.")
    files_total: int
    files_done: int
    files_failed: int
    documents: int = Field(description="Documents written so far (a prose file is one; a table, one per row).")
    chunks: int
    embedded: int = Field(description="Chunks the model embedded; unchanged chunks (same content hash) are not.")
    unchanged: int
    reused: int = Field(0, description="Chunks whose vectors were copied from equal text stored under another id.")
    deleted: int
    errors: dict[str, str] = Field(description="File name → why it was not stored.")
    error: str | None = None
    files: list[FileStateResponse]
    created_at: float = Field(description="Unix time.")
    finished_at: float | None = None


class FileInfoResponse(BaseModel):
    file_id: str = Field(description="The file's id (the `doc_id` it was uploaded with; the source of its documents).")
    state: Literal["queued", "reading", "failed", "stored"]
    title: str = ""
    documents: int = Field(0, description="Documents of the file on this page (a table has one per row).")
    chunks: int = 0
    job_id: str | None = Field(None, description="The job of an upload not stored (yet).")
    error: str | None = None


class FilePageResponse(BaseModel):
    files: list[FileInfoResponse]
    next: str | None = Field(description="Pass as `after` for the next page; null at the end.")


class FilesRefusedResponse(ErrorResponse):
    """An upload refused: `detail` names each file with its reason, `files` lists them (empty when the request as a
    whole was refused: not multipart, cut off, a bad field)."""

    files: list[FileStateResponse] = Field(default_factory=list)
