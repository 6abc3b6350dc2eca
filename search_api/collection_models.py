"""The bodies of the collection resources (`/collections`): what a new collection may record, what one looks like."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, StrictBool

from search_api.models import ErrorResponse, StrictBody, _json_number
from semsearch.settings import DenseIndexName, Settings
from semsearch.store.catalog import NAME_RULE

#: Token counts as JSON integers (the constraints inside the Annotated, so an optional field's schema carries them).
ChunkSize = Annotated[int, Field(ge=16, le=8192), BeforeValidator(_json_number)]
TokenCount = Annotated[int, Field(ge=0, le=8192), BeforeValidator(_json_number)]


def _setting(name: str) -> str:
    """The setting's own description: one wording for the environment variable and the API field."""
    return f"Default: SEMSEARCH_{name.upper()}. {Settings.model_fields[name].description}"


class CreateCollectionRequest(StrictBody):
    """A new collection: its name, and what it records (every field left out takes the API's setting). The
    collection keeps these and is opened with them from then on, whatever the API's environment says."""

    name: str = Field(..., min_length=1, max_length=255, description=f"{NAME_RULE}; another name answers 400.")
    model: str | None = Field(None, min_length=1, max_length=1000, description=_setting("model"))
    query_prompt: str | None = Field(None, max_length=1000, description=_setting("query_prompt"))
    document_prompt: str | None = Field(None, max_length=1000, description=_setting("document_prompt"))
    chunk_tokens: ChunkSize | None = Field(None, description=_setting("chunk_tokens"))
    chunk_overlap: TokenCount | None = Field(None, description=_setting("chunk_overlap"))
    keyword_window_tokens: TokenCount | None = Field(None, description=_setting("keyword_window_tokens"))
    index: DenseIndexName | None = Field(None, description=_setting("index"))
    index_params: dict[str, Any] | None = Field(None, description=_setting("index_params"))
    multi_tenant: StrictBool | None = Field(None, description=_setting("multi_tenant"))

    def chosen(self) -> dict[str, Any]:
        """The settings the request sets (those it left out are the API's)."""
        return self.model_dump(exclude={"name"}, exclude_none=True)


class DropCollectionRequest(StrictBody):
    confirm: str = Field(..., max_length=200, description="The collection's name again: dropping deletes its data.")


class CollectionSummary(BaseModel):
    name: str
    model: str
    dim: int
    prompts: dict[str, str | None]
    settings: dict[str, Any] = Field(..., description="What the collection records besides its model and prompts.")
    state: Literal["ready", "opening", "closed"] = Field(
        ..., description="In this API: open and loaded, being opened (503 'loading' meanwhile), or not open yet."
    )


class CollectionList(BaseModel):
    default: str = Field(..., description="The collection the unprefixed routes (`/search`, ...) serve.")
    collections: list[CollectionSummary]


class CollectionStatus(CollectionSummary):
    """A collection's status; counts and capabilities as `semsearch collections show --json` prints them."""

    chunks: int = Field(..., description="Chunks stored (Milvus's statistics when the collection is not open).")
    documents: int | None = Field(None, description="Documents stored (when the collection is open).")
    capabilities: dict[str, Any]
    loaded: bool = Field(..., description="Milvus holds the collection in memory (searchable at once).")
    progress: int | None = Field(None, description="Milvus's load progress in percent, while it opens.")
    fusion: dict[str, Any] | None = None
    metadata_fields: list[str] | None = None


class DropResponse(BaseModel):
    collection: str
    dropped: list[str] = Field(..., description="What Milvus dropped: the collection, its alias and companions.")


COLLECTION_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such collection"},
    409: {"model": ErrorResponse, "description": "The collection exists with other settings, or is in use"},
}
