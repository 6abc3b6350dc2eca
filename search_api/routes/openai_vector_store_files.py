"""OpenAI's vector store files and file batches (`/v1/vector_stores/{id}/files`, `/file_batches`).

Thin routes over `semsearch.vector_stores.VectorStores`. Attaching a file reads it in a job (the one upload path):
its status is `in_progress` until the job has read it, then `completed`, or `failed` with `last_error`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from search_api.deps import VectorStoresDep
from search_api.openai_compat import shapes
from search_api.openai_compat.errors import OPENAI_ERRORS
from search_api.openai_compat.models import (
    AttributesUpdate,
    BatchCreate,
    ChunkingStrategy,
    FileAttach,
    FileBatch,
    FileContentPage,
    TextContent,
    VectorStoreFile,
    VectorStoreFileDeleted,
    VectorStoreFileList,
)
from search_api.openai_compat.paging import After, Before, Limit, Order, cursor_page
from search_api.routes.openai_vector_stores import VectorStoreId
from semsearch.errors import Refused
from semsearch.vector_stores import Chunking, StoreFile, VectorStores

router = APIRouter(tags=["openai"])

FileId = Annotated[str, Path(min_length=1, max_length=128, description="A file id (`file-...`).")]
BatchId = Annotated[str, Path(min_length=1, max_length=128, description="A file batch id (`vsfb_...`).")]
StatusFilter = Annotated[
    Literal["in_progress", "completed", "failed", "cancelled"] | None, Query(description="Only files in this status.")
]
PREFIX = "/v1/vector_stores/{vector_store_id}"
#: The `openai` client's poll helpers wait this long between polls when told (`openai-poll-after-ms`), instead of
#: their default second: a small file is read in well under one.
POLL_AFTER_MS = "250"


def _chunking(strategy: ChunkingStrategy | None) -> Chunking | None:
    try:
        return strategy.to_chunking() if strategy is not None else None
    except ValueError as exc:
        raise Refused(f"chunking_strategy: {exc}") from exc


def _file(stores: VectorStores, vs_id: str, file: StoreFile) -> VectorStoreFile:
    return shapes.store_file(vs_id, file, stores.get(vs_id).chunking)


def _list(stores: VectorStores, vs_id: str, files: list[StoreFile], after, before, limit, order) -> VectorStoreFileList:
    page, more = cursor_page(files, lambda f: f.id, after=after, before=before, limit=limit, order=order)
    chunking = stores.get(vs_id).chunking
    data = [shapes.store_file(vs_id, file, chunking) for file in page]
    first, last = (data[0].id, data[-1].id) if data else (None, None)
    return VectorStoreFileList(data=data, first_id=first, last_id=last, has_more=more)


@router.post(f"{PREFIX}/files", response_model=VectorStoreFile, responses=OPENAI_ERRORS)
def attach_file(vector_store_id: VectorStoreId, body: FileAttach, stores: VectorStoresDep) -> VectorStoreFile:
    """Attach a file of `/v1/files`: read in the background with its `attributes` (filterable in search)."""
    chunking = _chunking(body.chunking_strategy)
    file = stores.attach(vector_store_id, body.file_id, body.attributes, chunking)
    return _file(stores, vector_store_id, file)


@router.get(f"{PREFIX}/files", response_model=VectorStoreFileList, responses=OPENAI_ERRORS)
def list_files(
    vector_store_id: VectorStoreId,
    stores: VectorStoresDep,
    filter: StatusFilter = None,
    after: After = None,
    before: Before = None,
    limit: Limit = 20,
    order: Order = "desc",
) -> VectorStoreFileList:
    files = stores.attached(vector_store_id, filter)
    return _list(stores, vector_store_id, files, after, before, limit, order)


@router.get(f"{PREFIX}/files/{{file_id}}", response_model=VectorStoreFile, responses=OPENAI_ERRORS)
def retrieve_file(
    vector_store_id: VectorStoreId, file_id: FileId, stores: VectorStoresDep, response: Response
) -> VectorStoreFile:
    response.headers["openai-poll-after-ms"] = POLL_AFTER_MS
    return _file(stores, vector_store_id, stores.file(vector_store_id, file_id))


@router.post(f"{PREFIX}/files/{{file_id}}", response_model=VectorStoreFile, responses=OPENAI_ERRORS)
def update_file(
    vector_store_id: VectorStoreId, file_id: FileId, body: AttributesUpdate, stores: VectorStoresDep
) -> VectorStoreFile:
    """Replace the file's attributes: it is read again with them (its chunks are not embedded again)."""
    file = stores.set_attributes(vector_store_id, file_id, body.attributes or {})
    return _file(stores, vector_store_id, file)


@router.delete(f"{PREFIX}/files/{{file_id}}", response_model=VectorStoreFileDeleted, responses=OPENAI_ERRORS)
def delete_file(vector_store_id: VectorStoreId, file_id: FileId, stores: VectorStoresDep) -> VectorStoreFileDeleted:
    """Remove the file from the vector store, and its chunks; the file stays in `/v1/files`."""
    stores.detach(vector_store_id, file_id)
    return VectorStoreFileDeleted(id=file_id)


@router.get(f"{PREFIX}/files/{{file_id}}/content", response_model=FileContentPage, responses=OPENAI_ERRORS)
def file_content(vector_store_id: VectorStoreId, file_id: FileId, stores: VectorStoresDep) -> FileContentPage:
    """The file's text as stored, rebuilt from its chunks (a table: one item per row)."""
    texts = stores.content(vector_store_id, file_id)
    return FileContentPage(data=[TextContent(text=text) for text in texts])


@router.post(f"{PREFIX}/file_batches", response_model=FileBatch, responses=OPENAI_ERRORS)
def create_batch(vector_store_id: VectorStoreId, body: BatchCreate, stores: VectorStoresDep) -> FileBatch:
    """Attach many files at once: `file_ids` (with the shared `attributes`) or `files` (each with its own)."""
    if (body.file_ids is None) == (body.files is None):
        raise Refused("give either file_ids or files (not both)")
    if body.files is not None:
        wanted = [(f.file_id, f.attributes or {}) for f in body.files]
        strategies = [f.chunking_strategy for f in body.files]
    else:
        wanted = [(file_id, body.attributes or {}) for file_id in body.file_ids or ()]
        strategies = [body.chunking_strategy]
    if not wanted:
        raise Refused("a file batch needs at least one file")
    for strategy in {s.model_dump_json() if s else None: s for s in strategies}.values():
        stores.check_chunking(vector_store_id, _chunking(strategy))
    batch = stores.create_batch(vector_store_id, wanted)
    return shapes.file_batch(vector_store_id, *stores.batch(vector_store_id, batch.id))


@router.get(f"{PREFIX}/file_batches/{{batch_id}}", response_model=FileBatch, responses=OPENAI_ERRORS)
def retrieve_batch(
    vector_store_id: VectorStoreId, batch_id: BatchId, stores: VectorStoresDep, response: Response
) -> FileBatch:
    response.headers["openai-poll-after-ms"] = POLL_AFTER_MS
    return shapes.file_batch(vector_store_id, *stores.batch(vector_store_id, batch_id))


@router.post(f"{PREFIX}/file_batches/{{batch_id}}/cancel", response_model=FileBatch, responses=OPENAI_ERRORS)
def cancel_batch(vector_store_id: VectorStoreId, batch_id: BatchId, stores: VectorStoresDep) -> FileBatch:
    """Stop reading the batch's files: those not read yet are cancelled, those read stay."""
    return shapes.file_batch(vector_store_id, *stores.cancel_batch(vector_store_id, batch_id))


@router.get(f"{PREFIX}/file_batches/{{batch_id}}/files", response_model=VectorStoreFileList, responses=OPENAI_ERRORS)
def list_batch_files(
    vector_store_id: VectorStoreId,
    batch_id: BatchId,
    stores: VectorStoresDep,
    filter: StatusFilter = None,
    after: After = None,
    before: Before = None,
    limit: Limit = 20,
    order: Order = "desc",
) -> VectorStoreFileList:
    _, files = stores.batch(vector_store_id, batch_id)
    files = [f for f in files if filter is None or f.status == filter]
    return _list(stores, vector_store_id, files, after, before, limit, order)
