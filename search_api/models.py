"""Request and response models of the HTTP API; they are also its OpenAPI documentation."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

MAX_QUERY_CHARS = 4096
MAX_DOCUMENTS_PER_REQUEST = 1000

FILTER_DESCRIPTION = (
    'Restrict hits by field. `{"field": value}` tests equality; `{"field": {"$in": [v1, v2]}}` membership; '
    "operators: $eq $ne $gt $gte $lt $lte $in $nin. Fields: doc_id, source, chunk_index, or any metadata key seen "
    "at ingest. Several fields are combined with AND. Unknown fields or values of the wrong type answer 400."
)


class SearchRequest(BaseModel):
    query: str = Field(..., min_length=1, max_length=MAX_QUERY_CHARS, description="Natural-language query.")
    top_k: int = Field(10, ge=1, le=100, description="Number of chunks to return.")
    filter: dict[str, Any] | None = Field(None, description=FILTER_DESCRIPTION, examples=[{"format": "md"}])

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must contain non-whitespace text")
        return value


class SearchHit(BaseModel):
    id: str = Field(..., description="Chunk id: `<doc_id>#<chunk_index>`.")
    doc_id: str
    chunk_index: int = Field(..., ge=0)
    score: float = Field(
        ...,
        description="Cosine similarity between the query and the chunk embeddings, in [-1, 1]; higher is better.",
    )
    text: str = Field(..., description="The chunk text.")
    source: str = Field(..., description="Where the document came from: a file path, or what the API caller gave.")
    char_start: int = Field(..., description="Offset of the chunk's first character in the source document.")
    char_end: int = Field(..., description="Offset one past the chunk's last character in the source document.")
    metadata: dict[str, Any]


class SearchResponse(BaseModel):
    query: str
    results: list[SearchHit] = Field(..., description="Best first (descending score).")
    took_ms: float = Field(..., description="Server-side time to embed the query and search, in milliseconds.")
    score_type: str = Field("cosine", description="What `score` measures: cosine similarity, higher is better.")


class DocumentIn(BaseModel):
    id: str = Field(..., min_length=1, max_length=1000, description="Stable document id; re-sending it updates it.")
    text: str = Field(..., min_length=1, description="Full document text; it is chunked, never truncated.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="JSON object stored with every chunk.")
    source: str = Field("api", max_length=2048, description="Where the document came from.")


class DocumentsRequest(BaseModel):
    documents: list[DocumentIn] = Field(..., min_length=1, max_length=MAX_DOCUMENTS_PER_REQUEST)


class IndexResponse(BaseModel):
    documents: int
    chunks: int
    embedded: int = Field(..., description="Chunks whose text was new or changed, so they were embedded.")
    unchanged: int = Field(..., description="Chunks already stored with the same content hash: not re-embedded.")
    deleted: int = Field(..., description="Stale chunks removed because a document got shorter.")
    took_ms: float


class DeleteResponse(BaseModel):
    doc_id: str
    deleted: int = Field(..., description="Number of chunks removed.")


class HealthResponse(BaseModel):
    status: str


class ReadyResponse(BaseModel):
    status: str
    collection: str
    chunks: int
    model: str
    dim: int
    capabilities: dict[str, Any]
