"""OpenAI's shapes for files and vector stores, as its API reference and Python SDK (`openai.types`) declare them.

Requests forbid fields they do not declare (OpenAI refuses an unrecognised argument too), so each declares every
field the SDK sends; the ones this product accepts and ignores say so in their description (and in
docs/openai-vector-stores.md).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, StrictBool, StrictFloat, StrictInt, StringConstraints

from search_api.models import JsonInt, MetadataKey, StrictBody, _json_number
from semsearch.vector_stores import Chunking

MAX_QUERY_CHARS = 4096
#: OpenAI's bounds: 16 pairs of metadata or attributes, keys of 64 characters, string values of 512.
MAX_PAIRS = 16
Text512 = Annotated[str, StringConstraints(max_length=512)]
#: An attribute value: a string, a number (kept an integer when it is one) or a boolean.
AttributeValue = Text512 | StrictBool | StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)]
Attributes = Annotated[dict[MetadataKey, AttributeValue], Field(max_length=MAX_PAIRS)]
Metadata = Annotated[
    dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], Text512], Field(max_length=MAX_PAIRS)
]
ATTRIBUTES = (
    "Up to 16 pairs; keys as metadata keys (a letter or '_' then letters, digits, '_' or '-', at most 64), values "
    "strings (512 characters), numbers or booleans. They tag every chunk of the file and are what `filters` test."
)


class StaticChunking(StrictBody):
    max_chunk_size_tokens: JsonInt = Field(..., ge=100, le=4096, description="Capped at the model's window.")
    chunk_overlap_tokens: JsonInt = Field(..., ge=0, description="At most half of max_chunk_size_tokens.")


class ChunkingStrategy(StrictBody):
    """`auto`: the collection's chunking (SEMSEARCH_CHUNK_TOKENS); `static`: this chunk size for the vector store."""

    type: Literal["auto", "static"]
    static: StaticChunking | None = None

    def to_chunking(self) -> Chunking | None:
        if self.type == "auto":
            return None
        if self.static is None:
            raise ValueError("a static chunking_strategy needs `static`")
        size, overlap = self.static.max_chunk_size_tokens, self.static.chunk_overlap_tokens
        if overlap > size // 2:
            raise ValueError("chunk_overlap_tokens must not exceed half of max_chunk_size_tokens")
        return Chunking(size, overlap)


class ExpiresAfter(StrictBody):
    anchor: Literal["last_active_at"]
    days: JsonInt = Field(..., ge=1, le=365)


# -- files --------------------------------------------------------------------------------------------------------


class FileObject(BaseModel):
    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: Literal["uploaded", "processed", "error"] = "processed"
    status_details: str | None = None
    expires_at: int | None = None


class FileDeleted(BaseModel):
    id: str
    object: Literal["file"] = "file"
    deleted: bool = True


class FileList(BaseModel):
    object: Literal["list"] = "list"
    data: list[FileObject]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


# -- vector stores --------------------------------------------------------------------------------------------------


class FileCounts(BaseModel):
    in_progress: int
    completed: int
    failed: int
    cancelled: int
    total: int


class VectorStoreCreate(StrictBody):
    name: str | None = Field(None, max_length=256)
    metadata: Metadata | None = None
    file_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=128)]] | None = Field(None, max_length=500)
    chunking_strategy: ChunkingStrategy | None = Field(
        None,
        description="Honoured: a static strategy sets the vector store's chunk size (capped at the model's window).",
    )
    expires_after: ExpiresAfter | None = Field(None, description="Recorded and reported; nothing expires.")
    description: str | None = Field(None, max_length=512, description="Accepted and ignored.")


class VectorStoreUpdate(StrictBody):
    name: str | None = Field(None, max_length=256)
    metadata: Metadata | None = None
    expires_after: ExpiresAfter | None = Field(None, description="Recorded and reported; nothing expires.")


class VectorStore(BaseModel):
    id: str
    object: Literal["vector_store"] = "vector_store"
    created_at: int
    name: str
    usage_bytes: int
    file_counts: FileCounts
    status: Literal["expired", "in_progress", "completed"]
    expires_after: dict[str, Any] | None = None
    expires_at: int | None = None
    last_active_at: int | None = None
    metadata: dict[str, str] | None = None


class VectorStoreList(BaseModel):
    object: Literal["list"] = "list"
    data: list[VectorStore]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class VectorStoreDeleted(BaseModel):
    id: str
    object: Literal["vector_store.deleted"] = "vector_store.deleted"
    deleted: bool = True


# -- vector store files and batches ---------------------------------------------------------------------------------


class FileAttach(StrictBody):
    file_id: str = Field(..., min_length=1, max_length=128)
    attributes: Attributes | None = Field(None, description=ATTRIBUTES)
    chunking_strategy: ChunkingStrategy | None = Field(
        None, description="Refused (400) unless `auto` or the vector store's own: a vector store chunks all alike."
    )


class AttributesUpdate(StrictBody):
    attributes: Attributes | None = Field(..., description=ATTRIBUTES)


class BatchFile(FileAttach):
    pass


class BatchCreate(StrictBody):
    file_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=128)]] | None = Field(
        None, max_length=2000
    )
    files: list[BatchFile] | None = Field(None, max_length=2000, description="Each with its own attributes.")
    attributes: Attributes | None = Field(None, description=ATTRIBUTES)
    chunking_strategy: ChunkingStrategy | None = None


class LastError(BaseModel):
    code: Literal["server_error", "unsupported_file", "invalid_file"]
    message: str


class StaticChunkingOut(BaseModel):
    max_chunk_size_tokens: int
    chunk_overlap_tokens: int


class ChunkingOut(BaseModel):
    type: Literal["static"] = "static"
    static: StaticChunkingOut


class VectorStoreFile(BaseModel):
    id: str
    object: Literal["vector_store.file"] = "vector_store.file"
    usage_bytes: int
    created_at: int
    vector_store_id: str
    status: Literal["in_progress", "completed", "cancelled", "failed"]
    last_error: LastError | None = None
    attributes: dict[str, str | bool | int | float] | None = None
    chunking_strategy: ChunkingOut | None = None


class VectorStoreFileList(BaseModel):
    object: Literal["list"] = "list"
    data: list[VectorStoreFile]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class VectorStoreFileDeleted(BaseModel):
    id: str
    object: Literal["vector_store.file.deleted"] = "vector_store.file.deleted"
    deleted: bool = True


class FileBatch(BaseModel):
    id: str
    object: Literal["vector_store.files_batch"] = "vector_store.files_batch"
    created_at: int
    vector_store_id: str
    status: Literal["in_progress", "completed", "cancelled", "failed"]
    file_counts: FileCounts


class TextContent(BaseModel):
    type: Literal["text"] = "text"
    text: str


class FileContentPage(BaseModel):
    object: Literal["vector_store.file_content.page"] = "vector_store.file_content.page"
    data: list[TextContent]
    has_more: bool = False
    next_page: str | None = None


# -- search ---------------------------------------------------------------------------------------------------------


class RankingOptions(StrictBody):
    ranker: Literal["none", "auto", "default-2024-11-15"] | None = Field(
        None, description="auto / default-2024-11-15: hybrid where the backend has BM25, else dense; none: dense."
    )
    score_threshold: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False), BeforeValidator(_json_number)] | None = (
        Field(None, description="Results scoring below it are left out (scores are 0..1).")
    )


Query = Annotated[str, StringConstraints(min_length=1, max_length=MAX_QUERY_CHARS)]


class SearchRequest(StrictBody):
    query: Query | Annotated[list[Query], Field(min_length=1, max_length=16)] = Field(
        ..., description="A string, or a list of strings searched as one query (joined with spaces)."
    )
    filters: dict[str, Any] | None = Field(
        None,
        description='OpenAI\'s filters on attributes: {"type": "eq"|"ne"|"gt"|"gte"|"lt"|"lte"|"in"|"nin", "key", '
        '"value"}, or {"type": "and"|"or", "filters": [...]} (nested).',
    )
    max_num_results: JsonInt = Field(10, ge=1, le=50)
    ranking_options: RankingOptions | None = None
    rewrite_query: StrictBool | None = Field(None, description="Accepted and ignored: the query is searched as given.")
    search_mode: Literal["dense", "keyword", "hybrid"] | None = Field(
        None, description="Extension (as LlamaStack's): the search mode, over what `ranker` picks."
    )

    def text(self) -> str:
        return self.query if isinstance(self.query, str) else " ".join(self.query)


class SearchResult(BaseModel):
    file_id: str
    filename: str
    score: float = Field(..., description="Relevance in 0..1, higher is better (as `POST /search` scores).")
    attributes: dict[str, str | bool | int | float] | None = None
    content: list[TextContent]


class SearchPage(BaseModel):
    object: Literal["vector_store.search_results.page"] = "vector_store.search_results.page"
    search_query: list[str]
    data: list[SearchResult]
    has_more: bool = False
    next_page: str | None = None
