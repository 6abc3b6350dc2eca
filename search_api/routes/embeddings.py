"""OpenAI-compatible embeddings (`POST /v1/embeddings`, `GET /v1/models`) with the collection's own model.

An app that embeds through this route gets exactly the vectors the collection holds (L2-normalised float32 from the
same model), so it can compare them with stored chunks or send them on. The official `openai` client works as is:
it asks for base64 by default, which is answered as little-endian float32 bytes, as OpenAI does.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema

from search_api.deps import EngineDep
from search_api.models import ERRORS, StrictBody, _json_number
from semsearch.embedder import Embedder

router = APIRouter(tags=["openai"])

#: OpenAI's own per-request limit on the number of inputs.
MAX_INPUTS = 2048
MAX_INPUT_CHARS = 100_000


def _texts(value: Any) -> Any:
    """One string or a list of strings; token-id arrays are refused with a hint (they would be some other
    tokenizer's ids, e.g. LangChain's OpenAIEmbeddings sends tiktoken ids unless told not to)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, int | list) for item in value):
        raise ValueError(
            "token-id input is not supported: send text (LangChain: OpenAIEmbeddings(check_embedding_ctx_length=False))"
        )
    return value


_TEXT_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_INPUT_CHARS}


Texts = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=MAX_INPUT_CHARS)]],
    BeforeValidator(_texts),
    Field(min_length=1, max_length=MAX_INPUTS),
    WithJsonSchema(
        {"anyOf": [_TEXT_SCHEMA, {"type": "array", "items": _TEXT_SCHEMA, "minItems": 1, "maxItems": MAX_INPUTS}]}
    ),
]


class EmbeddingsRequest(StrictBody):
    """Exactly the fields the `openai` client sends (`input`, `model`, `encoding_format`, `dimensions`, `user`);
    anything else is refused like OpenAI's own API refuses an unrecognised argument, instead of being ignored."""

    input: Texts = Field(..., description="A string or a list of up to 2048 non-empty strings.")
    model: str = Field(..., max_length=1000, description="The served model (see `GET /v1/models`).")
    encoding_format: Literal["float", "base64"] = Field(
        "float", description="`base64`: each vector as little-endian float32 bytes, base64-encoded."
    )
    dimensions: Annotated[int, Field(ge=1), BeforeValidator(_json_number)] | None = Field(
        None, description="The model's size, if given."
    )
    user: str | None = Field(None, max_length=1000, description="Accepted and ignored (OpenAI compatibility).")


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str = Field(..., description="Unit vector (floats), or base64 float32 bytes.")


class Usage(BaseModel):
    prompt_tokens: int = Field(..., description="Tokens the model read, special tokens included.")
    total_tokens: int


class EmbeddingsResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: Usage


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "semsearch"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


@router.post("/v1/embeddings", response_model=EmbeddingsResponse, responses=ERRORS)
def embeddings(request: EmbeddingsRequest, engine: EngineDep) -> EmbeddingsResponse:
    """Embed texts with the model the collection was built with: the same vectors ingest stores (queries and
    documents share one space with this symmetric model). Texts longer than the model's window are refused with 400
    instead of being silently truncated."""
    embedder = engine.embedder
    check_model(request.model, embedder)
    if request.dimensions is not None and request.dimensions != embedder.dim:
        raise HTTPException(400, f"dimensions must be {embedder.dim} for {embedder.model_id} (no shortening)")
    tokens = [embedder.count_tokens(text) for text in request.input]
    for index, count in enumerate(tokens):
        if count > embedder.max_seq_length:
            raise HTTPException(
                400,
                f"input[{index}] has {count} tokens; the model reads at most {embedder.max_seq_length} "
                "(split it, as ingest does, or use POST /documents)",
            )
    vectors = embedder.embed_documents(request.input)
    encode = _base64 if request.encoding_format == "base64" else lambda v: v.tolist()
    return EmbeddingsResponse(
        data=[Embedding(index=i, embedding=encode(vector)) for i, vector in enumerate(vectors)],
        model=embedder.model_id,
        usage=Usage(prompt_tokens=sum(tokens), total_tokens=sum(tokens)),
    )


@router.get("/v1/models", response_model=ModelList)
def models(engine: EngineDep) -> ModelList:
    """The one model served: the collection's."""
    return ModelList(data=[ModelCard(id=engine.embedder.model_id)])


def check_model(name: str, embedder: Embedder) -> None:
    """Accept the configured model id or its last path part (`all-MiniLM-L6-v2`); anything else is another
    model's vector space, so it is refused rather than silently answered with ours."""
    if name not in (embedder.model_id, embedder.model_id.rsplit("/", 1)[-1]):
        raise HTTPException(400, f"model {name!r} is not served here; use {embedder.model_id!r}")


def _base64(vector: Any) -> str:
    return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
