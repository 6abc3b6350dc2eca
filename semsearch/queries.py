"""What a search or context request may ask, declared once: the HTTP request models (`search_api.models`), the MCP
tools, the CLI and `KnowledgeBase.search` / `.context` validate the same fields against the same limits, so the same
input is refused with the same words by every door (HTTP answers 422 with these messages; Python raises
`InvalidRequest`, a `Refused`, whose message is `field: message`).

The field types below carry the limits; `search_request` and `context_request` apply them to Python arguments.
A request that passes is one Milvus can run: a `top_k` of 0 or an empty query never reaches it.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from semsearch.errors import InvalidRequest
from semsearch.ranking import Mode

#: Longest query accepted, in characters (the model reads its first 256 tokens; this bounds the work of a request).
MAX_QUERY_CHARS = 4096

Checked = TypeVar("Checked", bound=BaseModel)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("query must contain non-whitespace text")
    return value


Query = Annotated[str, StringConstraints(min_length=1, max_length=MAX_QUERY_CHARS), AfterValidator(_not_blank)]
TopK = Annotated[int, Field(ge=1, le=100)]
Offset = Annotated[int, Field(ge=0, le=10_000)]
MinScore = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
TokenBudget = Annotated[int, Field(ge=16, le=100_000)]
Candidates = Annotated[int, Field(ge=1, le=200)]


class SearchQuery(BaseModel):
    """The checked scalar arguments of a search (filter and fusion are checked where they are compiled)."""

    model_config = ConfigDict(frozen=True)

    query: Query
    top_k: TopK = 10
    offset: Offset = 0
    mode: Mode | None = None
    min_score: MinScore | None = None


class ContextQuery(BaseModel):
    """The checked scalar arguments of a context request."""

    model_config = ConfigDict(frozen=True)

    query: Query
    token_budget: TokenBudget = 1500
    candidates: Candidates = 30
    mode: Mode | None = None


def search_request(**arguments: Any) -> SearchQuery:
    """`arguments` checked as `POST /search` checks them; `InvalidRequest` naming each problem otherwise."""
    return _checked(SearchQuery, arguments)


def context_request(**arguments: Any) -> ContextQuery:
    """`arguments` checked as `POST /context` checks them; `InvalidRequest` naming each problem otherwise."""
    return _checked(ContextQuery, arguments)


def problems(exc: ValidationError) -> str:
    """A validation error as one line, `field: message; ...`: the wording of the CLI, MCP and Python errors, and of
    the `msg` of each problem in an HTTP 422."""
    return "; ".join(f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors())


def _checked(model: type[Checked], arguments: dict[str, Any]) -> Checked:
    try:
        return model(**arguments)
    except ValidationError as exc:
        raise InvalidRequest(problems(exc)) from exc
