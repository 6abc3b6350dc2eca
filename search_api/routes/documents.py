"""`/documents`: write documents, list and read what is stored, delete by id or by selection; thin routes over the
`KnowledgeBase` verbs, answering what `semsearch list/show/delete --json` print."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from search_api.deps import MetricsDep, WriteLockDep
from search_api.models import (
    ERRORS,
    DeleteResponse,
    DeleteSelectionRequest,
    DocumentDetailResponse,
    DocumentPageResponse,
    DocumentsRequest,
    ErrorResponse,
    IndexResponse,
    RemovalResponse,
    Tenant,
)
from search_api.scopes import ReadScope, WriteScope
from semsearch.errors import DocumentNotFound, InvalidFilter
from semsearch.indexer import Document

router = APIRouter(tags=["documents"])
#: `?tenant=` on the routes without a body.
TenantQuery = Annotated[Tenant | None, Query()]
NOT_FOUND = {**ERRORS, 404: {"model": ErrorResponse, "description": "No such document"}}


@router.post("/documents", response_model=IndexResponse, responses=ERRORS)
def upsert_documents(
    request: DocumentsRequest, scope: WriteScope, lock: WriteLockDep, metrics: MetricsDep
) -> IndexResponse:
    """Chunk, embed and upsert documents through the same pipeline as `semsearch ingest`; unchanged ones are skipped.

    This is how to ingest while the API holds a Milvus Lite `.db` (one process per file): `semsearch ingest --api URL`.
    """
    started = time.perf_counter()
    kb = scope.kb(request.tenant)
    docs = [Document(id=d.id, text=d.text, source=d.source, metadata=d.metadata) for d in request.documents]
    try:
        with lock:
            stats = kb.add(docs)
    except Exception:
        metrics.record_ingest(failures=len(docs))
        raise
    metrics.record_ingest(documents=stats.documents, chunks=stats.chunks)
    return IndexResponse(
        documents=stats.documents,
        chunks=stats.chunks,
        embedded=stats.embedded,
        unchanged=stats.unchanged,
        reused=stats.reused,
        deleted=stats.deleted,
        took_ms=round((time.perf_counter() - started) * 1000, 3),
    )


@router.delete(
    "/documents/{doc_id:path}",
    response_model=DeleteResponse,
    responses=NOT_FOUND,
)
def delete_document(
    scope: WriteScope,
    lock: WriteLockDep,
    doc_id: str = Path(..., min_length=1, max_length=1000),
    tenant: TenantQuery = None,
) -> DeleteResponse:
    """Remove every chunk of one document."""
    kb = scope.kb(tenant)
    with lock:
        deleted = kb.delete(doc_id)
    if not deleted:
        raise DocumentNotFound(f"no document with id {doc_id!r}")
    return DeleteResponse(doc_id=doc_id, deleted=deleted)


@router.get("/documents", response_model=DocumentPageResponse, responses=ERRORS)
def list_documents(
    scope: ReadScope,
    source_prefix: Annotated[str | None, Query(max_length=2048, description="Sources starting with this.")] = None,
    filter: Annotated[str | None, Query(description='A filter as JSON, e.g. {"format": "md"} (as /search).')] = None,
    after: Annotated[str | None, Query(max_length=1024, description="The `next` cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    tenant: TenantQuery = None,
) -> DocumentPageResponse:
    """Stored documents with source, title and chunk count, a page at a time in storage order."""
    kb = scope.kb(tenant)
    page = kb.documents_page(source_prefix=source_prefix, filter=_filter(filter), after=after, limit=limit)
    return DocumentPageResponse.model_validate(page.to_dict())


@router.post("/documents/delete", response_model=RemovalResponse, responses=ERRORS)
def delete_documents(request: DeleteSelectionRequest, scope: WriteScope, lock: WriteLockDep) -> RemovalResponse:
    """Delete documents by id, or by `source_prefix` and/or `filter`; one matching everything needs `all: true`."""
    kb = scope.kb(request.tenant)
    with lock:
        removal = kb.delete_where(
            doc_ids=request.doc_ids, source_prefix=request.source_prefix, filter=request.filter, all=request.all
        )
    return RemovalResponse.model_validate(removal.to_dict())


@router.get("/documents/{doc_id:path}", response_model=DocumentDetailResponse, responses=NOT_FOUND)
def get_document(
    scope: ReadScope, doc_id: str = Path(..., min_length=1, max_length=1000), tenant: TenantQuery = None
) -> DocumentDetailResponse:
    """One document: its text rebuilt from its chunks, its metadata and chunk spans."""
    return DocumentDetailResponse.model_validate(scope.kb(tenant).document(doc_id).to_dict())


def _filter(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        spec = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidFilter("filter", f"not JSON: {exc}") from exc
    if not isinstance(spec, dict):
        raise InvalidFilter("filter", "must be a JSON object")
    return spec
