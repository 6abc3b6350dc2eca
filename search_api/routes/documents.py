from __future__ import annotations

import time

from fastapi import APIRouter, Path

from search_api.deps import KnowledgeBaseDep, MetricsDep, WriteLockDep
from search_api.models import ERRORS, DeleteResponse, DocumentsRequest, ErrorResponse, IndexResponse
from semsearch.errors import DocumentNotFound
from semsearch.indexer import Document

router = APIRouter(tags=["documents"])


@router.post("/documents", response_model=IndexResponse, responses=ERRORS)
def upsert_documents(
    request: DocumentsRequest, kb: KnowledgeBaseDep, lock: WriteLockDep, metrics: MetricsDep
) -> IndexResponse:
    """Chunk, embed and upsert documents through the same pipeline as `semsearch ingest`; unchanged ones are skipped.

    This is how to ingest while the API holds a Milvus Lite `.db` (one process per file): `semsearch ingest --api URL`.
    """
    started = time.perf_counter()
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
        deleted=stats.deleted,
        took_ms=round((time.perf_counter() - started) * 1000, 3),
    )


@router.delete(
    "/documents/{doc_id:path}",
    response_model=DeleteResponse,
    responses={**ERRORS, 404: {"model": ErrorResponse, "description": "No such document"}},
)
def delete_document(
    kb: KnowledgeBaseDep, lock: WriteLockDep, doc_id: str = Path(..., min_length=1, max_length=1000)
) -> DeleteResponse:
    """Remove every chunk of one document."""
    with lock:
        deleted = kb.delete(doc_id)
    if not deleted:
        raise DocumentNotFound(f"no document with id {doc_id!r}")
    return DeleteResponse(doc_id=doc_id, deleted=deleted)
