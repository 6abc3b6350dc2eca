"""OpenAI's attribute filters in our filter language (`semsearch.filters`): the door translates, the one compiler
compiles.

    {"type": "eq", "key": "year", "value": 2024}                 → {"year": {"$eq": 2024}}
    {"type": "or", "filters": [{...}, {...}]}                     → {"$or": [{...}, {...}]}

A key names an attribute (a metadata key of the file's chunks); a key no file has is refused (400) naming the
filterable keys, as every filter of this product is.
"""

from __future__ import annotations

from typing import Any

from semsearch.errors import InvalidFilter

COMPARISONS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin")
COMPOUNDS = ("and", "or")


def to_filter(spec: Any, depth: int = 0) -> dict[str, Any]:
    """Our filter for OpenAI's `filters` object; InvalidFilter (400) for one of another shape."""
    if not isinstance(spec, dict):
        raise InvalidFilter("filters", f"a filter is an object with a `type`, got {type(spec).__name__}")
    kind = spec.get("type")
    if kind in COMPARISONS:
        extra = set(spec) - {"type", "key", "value"}
        key, value = spec.get("key"), spec.get("value")
        if extra or not isinstance(key, str) or "value" not in spec:
            raise InvalidFilter("filters", f"a {kind!r} filter is {{'type', 'key', 'value'}} with a string key")
        if kind in ("in", "nin") and not isinstance(value, list):
            raise InvalidFilter(key, f"{kind!r} needs a list of values")
        if kind not in ("in", "nin") and isinstance(value, list):
            raise InvalidFilter(key, f"{kind!r} needs one value, not a list (use 'in')")
        return {key: {f"${kind}": value}}
    if kind in COMPOUNDS:
        filters = spec.get("filters")
        if set(spec) - {"type", "filters"} or not isinstance(filters, list) or not filters:
            raise InvalidFilter("filters", f"an {kind!r} filter is {{'type', 'filters'}} with a non-empty list")
        return {f"${kind}": [to_filter(item, depth + 1) for item in filters]}
    raise InvalidFilter("filters", f"unknown filter type {kind!r}; use one of {', '.join(COMPARISONS + COMPOUNDS)}")
