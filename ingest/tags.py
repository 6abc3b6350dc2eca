"""Metadata given to every document of one ingest run (`--metadata tenant=acme`, `add_files(metadata=...)`).

A run's tags are checked once, before any file is read, with the same key rule as every other metadata key
(`semsearch.filters`), so a bad key refuses the run instead of failing each file. They are merged over each
document's own metadata (front matter, table columns): the run's value wins, so a tenant tag cannot be spoofed by a
file's front matter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from semsearch.errors import Refused
from semsearch.filters import METADATA_KEY_RULE, is_metadata_key
from semsearch.indexer import Document


class InvalidRunMetadata(Refused, ValueError):
    """A `--metadata` tag that cannot be stored (the caller's input: exit 2, or `Refused` in Python)."""


def parse_pairs(pairs: Sequence[str]) -> dict[str, Any]:
    """`key=value` strings to tags; a value is JSON when it parses (`year=2024`, `draft=true`, `tags=["a"]`), else
    the string as written (`team=search`), as `--filter` values are read."""
    tags: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise InvalidRunMetadata(f"--metadata {pair!r}: expected key=value")
        try:
            tags[key.strip()] = json.loads(raw)
        except ValueError:
            tags[key.strip()] = raw
    return checked(tags)


def checked(tags: Mapping[str, Any] | None) -> dict[str, Any]:
    """The tags as a dict, every key checked against the metadata key rule."""
    for key in tags or {}:
        if not isinstance(key, str) or not is_metadata_key(key):
            raise InvalidRunMetadata(f"metadata key {key!r} must be {METADATA_KEY_RULE}")
    return dict(tags or {})


def tag(docs: list[Document], tags: Mapping[str, Any]) -> list[Document]:
    """The documents with the run's tags merged over their own metadata (in place; returned for chaining)."""
    if tags:
        for doc in docs:
            doc.metadata = {**doc.metadata, **tags}
    return docs
