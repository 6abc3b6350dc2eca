"""OpenAI's files API: `POST /v1/files` (multipart `file` and `purpose`), list, retrieve, delete, `/content`.

Thin routes over `semsearch.file_store`. An upload is read by the one upload path (`search_api.multipart_files` into
a `semsearch.uploads.Staging`: the same name, type and size checks as `POST /files`) and then kept as it came, for a
vector store to read when the file is attached to it.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse

from search_api.deps import FileStoreDep
from search_api.multipart_files import read_upload
from search_api.openai_compat.errors import OPENAI_ERRORS
from search_api.openai_compat.models import FileDeleted, FileList, FileObject
from search_api.openai_compat.paging import After, Order, cursor_page
from semsearch.file_store import StoredFile
from semsearch.uploads import FilesRefused, nothing_read

router = APIRouter(tags=["openai"])

#: OpenAI's purposes; all are kept alike (a vector store can read any kept file).
PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
FileId = Annotated[str, Path(min_length=1, max_length=128)]
FILE_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file", "purpose"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "purpose": {"type": "string", "enum": list(PURPOSES)},
                },
            }
        }
    },
}


def file_object(stored: StoredFile) -> FileObject:
    return FileObject.model_validate(stored.to_dict())


@router.post("/v1/files", response_model=FileObject, responses=OPENAI_ERRORS, openapi_extra={"requestBody": FILE_BODY})
async def create_file(request: Request, store: FileStoreDep) -> FileObject:
    """Upload one file (part `file`) with its `purpose`: kept as sent, of a type the readers take (415 otherwise),
    within SEMSEARCH_MAX_FILE_BYTES and, all files together, SEMSEARCH_FILES_MAX_BYTES (413)."""
    form = await read_upload(request, request.app.state.settings)
    staging = form.staging
    try:
        purpose = form.one("purpose")
        if purpose not in PURPOSES:
            raise FilesRefused(f"purpose must be one of {', '.join(PURPOSES)}; got {purpose!r}")
        if len(staging.files) != 1:
            raise FilesRefused(f"send exactly one file (the part named 'file'); got {len(staging.files)}")
        staged = staging.files[0]
        if staged.refused:
            raise nothing_read([staged.state])
        stored = await anyio.to_thread.run_sync(store.keep, staged, purpose)
    finally:
        await anyio.to_thread.run_sync(staging.abandon)
    return file_object(stored)


@router.get("/v1/files", response_model=FileList, responses=OPENAI_ERRORS)
def list_files(
    store: FileStoreDep,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Files per page.")] = 10_000,
    order: Order = "desc",
    purpose: Annotated[str | None, Query(max_length=64, description="Only files of this purpose.")] = None,
) -> FileList:
    """Kept files, newest first (`order=asc`: oldest first), a page at a time (`after` the last id seen)."""
    files, more = cursor_page(store.list(purpose), lambda f: f.id, after=after, limit=limit, order=order)
    data = [file_object(f) for f in files]
    return FileList(data=data, first_id=_first(data), last_id=_last(data), has_more=more)


@router.get("/v1/files/{file_id}", response_model=FileObject, responses=OPENAI_ERRORS)
def retrieve_file(store: FileStoreDep, file_id: FileId) -> FileObject:
    return file_object(store.get(file_id))


@router.delete("/v1/files/{file_id}", response_model=FileDeleted, responses=OPENAI_ERRORS)
def delete_file(store: FileStoreDep, file_id: FileId) -> FileDeleted:
    """Forget the file and remove its bytes; the vector stores it was attached to keep its chunks (as OpenAI's)."""
    return FileDeleted(id=store.delete(file_id).id)


@router.get(
    "/v1/files/{file_id}/content",
    response_class=StreamingResponse,
    responses={**OPENAI_ERRORS, 200: {"content": {"application/octet-stream": {}}, "description": "The bytes"}},
)
def file_content(store: FileStoreDep, file_id: FileId) -> StreamingResponse:
    """The file's bytes as they were uploaded."""
    return StreamingResponse(store.read(file_id), media_type="application/octet-stream")


def _first(data: list) -> str | None:
    return data[0].id if data else None


def _last(data: list) -> str | None:
    return data[-1].id if data else None
