"""The one filter compiler: structured filters in, a Milvus boolean expression out.

A filter is `{"field": value}` or `{"field": {"$op": value}}`, several fields joined with AND, and filters can be
joined with `{"$or": [filter, ...]}` or `{"$and": [...]}` (which nest). Fields are either
the chunk's own columns (`doc_id`, `source`, `chunk_index`) or metadata keys seen at ingest. Every value is
type-checked and written as a literal with all quotes and backslashes escaped, so a value can never change the
shape of the expression (no injection, no widening of the result set).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from semsearch.errors import InvalidFilter

#: Columns of the chunk schema that can be filtered on, with the Python types their values must have.
COLUMN_TYPES: dict[str, tuple[type, ...]] = {"doc_id": (str,), "source": (str,), "chunk_index": (int,)}

_COMPARE = {"$eq": "==", "$ne": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_MEMBER = {"$in": "in", "$nin": "not in"}
#: Filters joined: `{"$or": [{"year": 2024}, {"format": "pdf"}]}`; they nest up to MAX_DEPTH levels.
_COMPOUND = {"$and": " and ", "$or": " or "}
MAX_DEPTH = 8
#: What a metadata key may be, wherever keys are checked (ingest, the API's models, this compiler): keys become
#: filter fields (`metadata["key"]` in Milvus expressions), so they are kept simple.
METADATA_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$"
_METADATA_KEY = re.compile(METADATA_KEY_PATTERN)
#: The pattern in words, for error messages.
METADATA_KEY_RULE = "a letter or '_' followed by up to 63 letters, digits, '_' or '-'"
Scalar = str | int | float | bool


def compile_filter(spec: Mapping[str, Any] | None, metadata_keys: Collection[str]) -> str:
    """Return a Milvus expression ('' for no filter); raise InvalidFilter naming the offending field."""
    if not spec:
        return ""
    return _compile(spec, metadata_keys, 1)


def _compile(spec: Mapping[str, Any], metadata_keys: Collection[str], depth: int) -> str:
    if not isinstance(spec, Mapping) or not spec:
        raise InvalidFilter("filter", f"each filter in $and/$or is a non-empty object, got {_type_name(spec)}")
    clauses = []
    for field, condition in spec.items():
        if field in _COMPOUND:
            clauses.append(_compound(field, condition, metadata_keys, depth))
            continue
        target, types = _resolve_field(field, metadata_keys)
        ops = condition if isinstance(condition, Mapping) else {"$eq": condition}
        if not ops:
            raise InvalidFilter(field, "empty condition; use a value or {'$op': value}")
        clauses.extend(_clause(field, target, types, op, value) for op, value in ops.items())
    return " and ".join(clauses)


def _compound(op: str, filters: Any, metadata_keys: Collection[str], depth: int) -> str:
    """`{"$or": [filter, ...]}` / `{"$and": [...]}`: each filter compiled on its own and bracketed, so a filter of
    several fields stays one AND inside an OR."""
    if depth >= MAX_DEPTH:
        raise InvalidFilter(op, f"filters nest at most {MAX_DEPTH} levels deep")
    if not isinstance(filters, list) or not filters:
        raise InvalidFilter(op, f"{op} needs a non-empty list of filters, got {_type_name(filters)}")
    if len(filters) > 1000:
        raise InvalidFilter(op, f"{op} accepts at most 1000 filters, got {len(filters)}")
    parts = [f"({_compile(item, metadata_keys, depth + 1)})" for item in filters]
    return "(" + _COMPOUND[op].join(parts) + ")"


def is_metadata_key(key: str) -> bool:
    """True if `key` can be a metadata key (the whole string: a trailing newline is not allowed either)."""
    return _METADATA_KEY.fullmatch(key) is not None


def _resolve_field(field: str, metadata_keys: Collection[str]) -> tuple[str, tuple[type, ...]]:
    if field in COLUMN_TYPES:
        return field, COLUMN_TYPES[field]
    key = field.removeprefix("metadata.")
    if is_metadata_key(key) and key in metadata_keys:
        return f'metadata["{key}"]', (str, int, float, bool)
    known = sorted([*COLUMN_TYPES, *metadata_keys])
    raise InvalidFilter(field, f"unknown field; filterable fields are: {', '.join(known)}")


def _clause(field: str, target: str, types: tuple[type, ...], op: str, value: Any) -> str:
    if op in _COMPARE:
        if op not in ("$eq", "$ne") and isinstance(value, bool):
            raise InvalidFilter(field, f"{op} needs a number or string, got a boolean")
        return f"{target} {_COMPARE[op]} {_literal(field, value, types)}"
    if op in _MEMBER:
        if not isinstance(value, list) or not value:
            raise InvalidFilter(field, f"{op} needs a non-empty list of values, got {_type_name(value)}")
        if len(value) > 1000:
            raise InvalidFilter(field, f"{op} accepts at most 1000 values, got {len(value)}")
        items = ", ".join(_literal(field, item, types) for item in value)
        return f"{target} {_MEMBER[op]} [{items}]"
    raise InvalidFilter(field, f"unknown operator {op!r}; use one of {', '.join([*_COMPARE, *_MEMBER])}")


def _literal(field: str, value: Any, types: tuple[type, ...]) -> str:
    """Write one value as an expression literal; strings are JSON-escaped, which Milvus's parser reads back."""
    if isinstance(value, bool):
        if bool not in types:
            raise InvalidFilter(field, f"expected {_expected(types)}, got a boolean")
        return "true" if value else "false"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not any(t in types for t in (int, float)) or (float not in types and isinstance(value, float)):
            raise InvalidFilter(field, f"expected {_expected(types)}, got {_type_name(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidFilter(field, "numbers must be finite")
        return repr(value)
    if isinstance(value, str):
        if str not in types:
            raise InvalidFilter(field, f"expected {_expected(types)}, got a string")
        try:
            return string_literal(value)
        except ValueError as exc:
            raise InvalidFilter(field, str(exc)) from exc
    raise InvalidFilter(field, f"expected {_expected(types)}, got {_type_name(value)}")


def string_literal(value: str) -> str:
    """A Milvus string literal: only `\\` and `"` are escaped, as Milvus's parser unescapes nothing else (it
    would read `\\t` as two characters). Line breaks and NUL cannot be written in a literal at all, so they are
    refused, as are strings that are not valid Unicode (lone surrogates)."""
    if any(c in value for c in "\n\r\x00"):
        raise ValueError("line breaks and NUL characters cannot be matched in a filter value")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("the value is not valid Unicode text") from exc
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


#: Characters no stored id, doc id or source holds (writes refuse them) and no Milvus string literal can express.
UNSTORABLE = "\n\r\x00"


def in_list(field: str, values: Sequence[str]) -> str:
    """`field in [...]` over string values. A value with a line break or NUL cannot be stored, so nothing equals it:
    it is left out (looking it up finds nothing) rather than refused as a filter would be."""
    kept = [v for v in values if not any(c in v for c in UNSTORABLE)] or [""]  # "" is no stored id either
    return f"{field} in [{', '.join(string_literal(v) for v in kept)}]"


def _expected(types: tuple[type, ...]) -> str:
    return " or ".join(sorted({t.__name__ for t in types if t is not bool} | ({"bool"} if bool in types else set())))


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__
