"""Our vector store objects (`semsearch.vector_stores`) in OpenAI's response shapes (`openai_compat.models`)."""

from __future__ import annotations

from collections.abc import Sequence

from search_api.openai_compat import models
from semsearch.vector_stores import Batch, Chunking, Found, StoreFile, StoreView
from semsearch.vector_stores.reading import counts

DAY = 86_400


def vector_store(view: StoreView) -> models.VectorStore:
    record = view.record
    expires_at = None
    if record.expires_after is not None:
        expires_at = (record.last_active_at or record.created_at) + int(record.expires_after["days"]) * DAY
    return models.VectorStore(
        id=record.id,
        created_at=record.created_at,
        name=record.name,
        usage_bytes=view.usage_bytes,
        file_counts=models.FileCounts(**view.file_counts),
        status=view.status,  # type: ignore[arg-type]
        expires_after=record.expires_after,
        expires_at=expires_at,
        last_active_at=record.last_active_at,
        metadata=record.metadata,
    )


def store_file(vs_id: str, file: StoreFile, chunking: Chunking | None = None) -> models.VectorStoreFile:
    strategy = None
    if chunking is not None:
        static = models.StaticChunkingOut(
            max_chunk_size_tokens=chunking.max_tokens, chunk_overlap_tokens=chunking.overlap
        )
        strategy = models.ChunkingOut(static=static)
    return models.VectorStoreFile(
        id=file.id,
        usage_bytes=file.usage_bytes,
        created_at=file.created_at,
        vector_store_id=vs_id,
        status=file.status,
        last_error=models.LastError.model_validate(file.last_error) if file.last_error else None,
        attributes=dict(file.attributes),
        chunking_strategy=strategy,
    )


def file_batch(vs_id: str, batch: Batch, files: Sequence[StoreFile]) -> models.FileBatch:
    found = counts(files)
    if found["in_progress"]:
        status = "in_progress"
    elif batch.cancelled:
        status = "cancelled"
    elif found["total"] and found["failed"] == found["total"]:
        status = "failed"
    else:
        status = "completed"
    return models.FileBatch(
        id=batch.id,
        created_at=batch.created_at,
        vector_store_id=vs_id,
        status=status,  # type: ignore[arg-type]
        file_counts=models.FileCounts(**found),
    )


def search_page(query: list[str], results: Sequence[Found], has_more: bool) -> models.SearchPage:
    data = [
        models.SearchResult(
            file_id=found.file.id,
            filename=found.file.filename,
            score=found.hit.score,
            attributes=dict(found.file.attributes),
            content=[models.TextContent(text=found.hit.text)],
        )
        for found in results
    ]
    return models.SearchPage(search_query=query, data=data, has_more=has_more)
