"""Request and response models of the HTTP API; they are also its OpenAPI documentation."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StringConstraints

from semsearch import queries
from semsearch.filters import METADATA_KEY_PATTERN
from semsearch.ranking import Fusion, Mode
from semsearch.store.tenants import TENANT_PATTERN


def _json_number(value: Any) -> Any:
    """Numbers must be JSON numbers: pydantic would otherwise take true as 1 and "5" as 5."""
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON number")
    return value


JsonNumber = BeforeValidator(_json_number)
#: A JSON number with no fractional part (5 and 5.0 both count, as in JSON Schema's "integer").
JsonInt = Annotated[int, JsonNumber]
Weight = Annotated[float, Field(ge=0, allow_inf_nan=False), BeforeValidator(_json_number)]
MetadataKey = Annotated[str, StringConstraints(pattern=METADATA_KEY_PATTERN)]
MAX_DOCUMENTS_PER_REQUEST = 1000
TENANT_DESCRIPTION = (
    "The tenant whose documents this reads or writes, in a multi-tenant collection (where every request names one: "
    "400 without; 403 for a tenant other than the key's). Not allowed on other collections (400)."
)
Tenant = Annotated[str, StringConstraints(pattern=TENANT_PATTERN), Field(description=TENANT_DESCRIPTION)]


class StrictBody(BaseModel):
    """A request body: a field the model does not declare is refused with 422 naming it, because a misspelled
    option (`topk`) silently falling back to its default answers a different question than the one asked."""

    model_config = ConfigDict(extra="forbid")


FILTER_DESCRIPTION = (
    'Restrict hits by field. `{"field": value}` tests equality; `{"field": {"$in": [v1, v2]}}` membership; '
    "operators: $eq $ne $gt $gte $lt $lte $in $nin. Fields: doc_id, source, chunk_index, or any metadata key seen "
    "at ingest. Several fields are combined with AND. Unknown fields or values of the wrong type answer 400."
)


class FusionIn(StrictBody):
    """Hybrid fusion: `{"type": "calibrated", "weights": [dense, keyword]}`, `{"type": "rrf", "k": 60}` or
    `{"type": "weighted", "weights": [dense, keyword]}`."""

    type: Literal["rrf", "weighted", "calibrated"] = "rrf"
    k: JsonInt = Field(60, ge=1, le=16_384, description="RRF constant: score = sum of 1 / (k + rank).")
    weights: tuple[Weight, Weight] = Field(
        (0.5, 0.5), description="Weighted and calibrated fusion: (dense, keyword) weights."
    )

    def to_fusion(self) -> Fusion:
        return Fusion(type=self.type, k=self.k, weights=self.weights)


class QueryIn(StrictBody):
    query: queries.Query = Field(..., description="Natural-language query.")
    tenant: Tenant | None = None
    filter: dict[str, Any] | None = Field(None, description=FILTER_DESCRIPTION, examples=[{"format": "md"}])
    mode: Mode | None = Field(
        None,
        description="dense (embeddings), keyword (BM25) or hybrid (both, fused). Default: hybrid where the backend "
        "supports BM25 (Milvus >= 2.5), else dense; keyword/hybrid on an older backend answer 400.",
    )
    fusion: FusionIn | None = Field(
        None,
        description="How hybrid mode merges its two lists. Not given: the collection's default fusion (saved by "
        "`semsearch eval --tune --save`, else calibrated 0.8/0.2; `/ready` says which); a given fusion always wins.",
    )

    def fusion_arg(self) -> Fusion | None:
        """The request's fusion, None where it names none (the collection's default then applies)."""
        return self.fusion.to_fusion() if self.fusion is not None else None


class SearchRequest(QueryIn):
    top_k: Annotated[queries.TopK, JsonNumber] = Field(10, description="Number of hits to return.")
    offset: Annotated[queries.Offset, JsonNumber] = Field(
        0, description="Hits to skip (paging), applied after fusion and grouping."
    )
    min_score: Annotated[queries.MinScore, JsonNumber] | None = Field(
        None, description="Drop hits whose `score` is below this."
    )
    group_by_document: StrictBool = Field(False, description="Return only the best chunk of each document.")
    rerank: StrictBool = Field(
        False, description="Reorder the candidates with the CrossEncoder in SEMSEARCH_RERANK_MODEL."
    )

    def search_args(self) -> dict[str, Any]:
        """The request as `KnowledgeBase.search` keyword arguments."""
        return {
            "top_k": self.top_k,
            "offset": self.offset,
            "mode": self.mode,
            "filter": self.filter,
            "fusion": self.fusion_arg(),
            "min_score": self.min_score,
            "group_by_document": self.group_by_document,
            "rerank": self.rerank,
        }


class SearchHit(BaseModel):
    id: str = Field(..., description="Chunk id: `<doc_id>#<chunk_index>`.")
    doc_id: str
    chunk_index: int = Field(..., ge=0)
    score: float = Field(
        ...,
        ge=0,
        le=1,
        description="Relevance in [0, 1], higher is better. dense: the cosine similarity between the query and the "
        "chunk embeddings (clipped at 0), comparable across queries; keyword: BM25 / (BM25 + 10); hybrid: the fused "
        "score over its maximum; with rerank: sigmoid of the cross-encoder logit.",
    )
    raw_score: float = Field(..., description="The score Milvus (or the reranker) returned, before normalising.")
    ranks: dict[str, int | None] | None = Field(
        None, description="Hybrid mode: the hit's 1-based rank in the dense and keyword lists (null where absent)."
    )
    text: str = Field(..., description="The chunk text.")
    source: str = Field(..., description="Where the document came from: a file path, or what the API caller gave.")
    char_start: int = Field(..., description="Offset of the chunk's first character in the source document.")
    char_end: int = Field(..., description="Offset one past the chunk's last character in the source document.")
    metadata: dict[str, Any] = Field(
        ...,
        description="The document's metadata, plus the chunk's own where its file has them: `page_start` and "
        "`page_end` (PDF pages, slide numbers) and `heading_path` (e.g. 'decimal > Quick-start tutorial').",
    )


class SearchResponse(BaseModel):
    query: str
    mode: Mode = Field(..., description="The search mode that ran.")
    results: list[SearchHit] = Field(..., description="Best first.")
    took_ms: float = Field(..., description="Server-side time to embed the query and search, in milliseconds.")


class ContextRequest(QueryIn):
    token_budget: Annotated[queries.TokenBudget, JsonNumber] = Field(
        1500, description="Max tokens of `context` (model's tokenizer)."
    )
    candidates: Annotated[queries.Candidates, JsonNumber] = Field(
        30, description="Chunks retrieved before merging and packing."
    )
    rerank: StrictBool = Field(
        False,
        description="Choose the candidates with the CrossEncoder in SEMSEARCH_RERANK_MODEL, as /search's `rerank`.",
    )

    def context_args(self) -> dict[str, Any]:
        """The request as `KnowledgeBase.context` keyword arguments."""
        return {
            "token_budget": self.token_budget,
            "candidates": self.candidates,
            "mode": self.mode,
            "filter": self.filter,
            "fusion": self.fusion_arg(),
            "rerank": self.rerank,
        }


class Citation(BaseModel):
    doc_id: str
    source: str
    char_start: int = Field(..., description="Passage start offset in the source document.")
    char_end: int = Field(..., description="Passage end offset (exclusive) in the source document.")
    score: float = Field(..., description="Best `score` among the passage's chunks.")
    page_start: int | None = Field(None, description="First page (a deck's slide) the passage spans; null: no pages.")
    page_end: int | None = Field(None, description="Last page (a deck's slide) the passage spans; null: no pages.")
    heading_path: str | None = Field(
        None, description="Headings of the section the passage starts in, outermost first, joined by ' > '."
    )


class ContextPassage(BaseModel):
    n: int = Field(..., description="Citation number, as `[n]` in `context`.")
    text: str
    citation: Citation


class ContextResponse(BaseModel):
    query: str
    mode: Mode
    context: str = Field(..., description="Numbered passages ready to paste into a prompt, each with its source.")
    passages: list[ContextPassage] = Field(..., description="Most relevant first; no text repeated.")
    tokens: int = Field(..., description="Tokens in `context`, never more than `token_budget`.")
    token_budget: int
    took_ms: float


class DocumentIn(StrictBody):
    id: str = Field(
        ...,
        min_length=1,
        max_length=1000,
        pattern=r"^[^\r\n\x00]+$",
        description="Stable document id (no line breaks or NUL); re-sending it updates the document.",
    )
    text: str = Field(..., pattern=r"\S", description="Full document text; it is chunked, never truncated.")
    metadata: dict[MetadataKey, Any] = Field(
        default_factory=dict,
        description="JSON object stored with every chunk; keys are filterable fields.",
        json_schema_extra={"additionalProperties": False},
    )
    source: str = Field("api", max_length=2048, description="Where the document came from.")


class DocumentsRequest(StrictBody):
    documents: list[DocumentIn] = Field(..., min_length=1, max_length=MAX_DOCUMENTS_PER_REQUEST)
    tenant: Tenant | None = None


class IndexResponse(BaseModel):
    documents: int
    chunks: int = Field(..., description="Chunks of these documents: `embedded + unchanged + reused`.")
    embedded: int = Field(..., description="Chunks whose text no stored chunk has, so they were embedded.")
    unchanged: int = Field(..., description="Chunks already stored as they are: nothing written.")
    reused: int = Field(
        ...,
        description="Chunks written with a vector already stored, not embedded again: their text is stored under "
        "another id (a renamed or copied document), or they moved within their document or were re-labelled.",
    )
    deleted: int = Field(..., description="Stale chunks removed because a document got shorter.")
    took_ms: float


class DeleteResponse(BaseModel):
    doc_id: str
    deleted: int = Field(..., description="Number of chunks removed.")


class ErrorResponse(BaseModel):
    """Every error but schema validation (422: FastAPI's list of problems in `detail`) has this shape."""

    detail: str = Field(..., description="What was wrong, in words.")
    request_id: str = Field(..., description="Also in the X-Request-ID header and in the server log.")


class LoadingResponse(ErrorResponse):
    """503 from `/ready` while the collection loads (and the error shape otherwise): how far the load is."""

    status: str | None = Field(None, description='"loading" while the collection loads into memory.')
    collection: str | None = None
    progress: int | None = Field(None, description="Milvus's own loading progress in percent, where it says.")
    chunks: int | None = Field(None, description="Rows being loaded, where Milvus says.")
    elapsed_s: float | None = Field(None, description="Seconds the load has taken so far.")


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Valid JSON the engine refuses (unknown filter field, mode, ...)"},
    413: {"model": ErrorResponse, "description": "Request body over SEMSEARCH_MAX_REQUEST_BYTES"},
    415: {"model": ErrorResponse, "description": "The body is not declared as JSON"},
    503: {"model": ErrorResponse, "description": "Milvus or the model is unavailable"},
}


class HealthResponse(BaseModel):
    status: str


class ReadyResponse(BaseModel):
    status: str
    collection: str
    chunks: int
    model: str
    dim: int
    capabilities: dict[str, Any]
    fusion: dict[str, Any] = Field(
        ...,
        description="The hybrid fusion used when a request names none: `name` (e.g. 'calibrated 0.8/0.2'), `type`, "
        "`k`, `weights`, and `source`: 'saved' (by `semsearch eval --tune --save`, with how it was tuned) or "
        "'built-in'.",
    )


class StoredDocument(BaseModel):
    """One stored document, as `GET /documents` lists it (`semsearch list --json` prints the same)."""

    doc_id: str
    source: str
    title: str = Field(..., description="metadata.title, '' if none.")
    chunks: int = Field(..., description="Chunks stored for this document.")
    metadata: dict[str, Any]


class DocumentPageResponse(BaseModel):
    documents: list[StoredDocument]
    next: str | None = Field(..., description="Cursor for the next page (`after=`); null on the last page.")


class ChunkSpan(BaseModel):
    chunk_index: int
    char_start: int
    char_end: int


class DocumentDetailResponse(BaseModel):
    doc_id: str
    source: str
    metadata: dict[str, Any]
    text: str = Field(..., description="Rebuilt from the chunks; chunk offsets are offsets into it.")
    chunks: list[ChunkSpan]


class DeleteSelectionRequest(BaseModel):
    """Documents to delete: by id, or by source prefix and/or filter. A selection matching every document is
    refused (400) unless `all` is true."""

    doc_ids: list[str] = Field(default_factory=list, max_length=MAX_DOCUMENTS_PER_REQUEST)
    source_prefix: str | None = Field(None, max_length=2048, description="Sources that start with this.")
    filter: dict[str, Any] | None = Field(None, description=FILTER_DESCRIPTION)
    all: StrictBool = Field(False, description="Allow deleting every document.")
    tenant: Tenant | None = None


class RemovalResponse(BaseModel):
    removed_documents: int
    deleted: int = Field(..., description="Chunks removed.")
    doc_ids: list[str] = Field(..., description="The documents removed.")
    missing: list[str] = Field(..., description="Requested ids that were not stored.")


class TenantList(BaseModel):
    tenants: list[str] = Field(..., description="Every tenant with at least one document, sorted.")


class TenantStatus(BaseModel):
    tenant: str
    documents: int
    chunks: int


class TenantRemoval(BaseModel):
    tenant: str
    deleted: int = Field(..., description="Chunks removed (0: the tenant had none).")
