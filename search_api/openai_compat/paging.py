"""OpenAI's cursor paging of lists: `after` / `before` (an object id), `limit` (1..100), `order` by creation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Literal, TypeVar

from fastapi import Query

from semsearch.errors import Refused

T = TypeVar("T")

After = Annotated[str | None, Query(max_length=256, description="Start after the object with this id.")]
Before = Annotated[str | None, Query(max_length=256, description="End before the object with this id.")]
Limit = Annotated[int, Query(ge=1, le=100, description="Objects per page.")]
Order = Annotated[Literal["asc", "desc"], Query(description="By creation time: oldest first (asc) or newest.")]


def cursor_page(
    items: Sequence[T],
    id_of: Callable[[T], str],
    *,
    after: str | None = None,
    before: str | None = None,
    limit: int = 20,
    order: str = "desc",
) -> tuple[list[T], bool]:
    """One page of `items` (given oldest first) and whether more follow it; a cursor not in the list is refused."""
    ordered = list(items) if order == "asc" else list(reversed(items))
    ids = [id_of(item) for item in ordered]
    start, end = 0, len(ordered)
    if after is not None:
        start = _position(ids, after, "after") + 1
    if before is not None:
        end = _position(ids, before, "before")
        start = max(start, end - limit) if after is None else start
    window = ordered[start:end]
    return window[:limit], len(window) > limit


def _position(ids: list[str], cursor: str, name: str) -> int:
    try:
        return ids.index(cursor)
    except ValueError:
        raise Refused(f"{name}={cursor!r} is not an id of this list") from None
