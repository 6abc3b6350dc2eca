"""YAML front matter: the `---` block at the top of a Markdown file (Jekyll, Hugo, MkDocs, Obsidian) holds metadata
about the file, not text to search. It becomes the document's metadata and leaves the text; a block that is not
valid YAML, or not a mapping, is reported and the file ingests unchanged, as text."""

from __future__ import annotations

import datetime
import math
import re
from pathlib import Path
from typing import Any

from ingest.file_warnings import warn
from semsearch.filters import is_metadata_key

_BLOCK = re.compile(r"\A---[ \t]*\r?\n(.*?)(?:\r?\n)?^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL | re.MULTILINE)
#: Keys the loader sets itself; front matter cannot override what the file is.
_RESERVED = frozenset({"format"})


class FrontMatterError(ValueError):
    """The front-matter block cannot be used; the message says why."""


def split_front_matter(text: str, path: Path) -> tuple[str, dict[str, Any]]:
    """(text without the block, metadata from it). Without a block, or with a broken one (a warning for the ingest
    report, `ingest.file_warnings`), the text is returned whole with no metadata. Blank lines after the block are
    dropped too."""
    found = _BLOCK.match(text)
    if not found:
        return text, {}
    try:
        metadata = parse_front_matter(found.group(1), path)
    except FrontMatterError as exc:
        warn(path, f"front matter ignored, the file is read as text: {exc}")
        return text, {}
    return text[found.end() :].lstrip("\r\n"), metadata


def parse_front_matter(block: str, path: Path) -> dict[str, Any]:
    """The block's mapping as JSON-safe metadata: dates become ISO strings, other values their string form; keys
    that cannot be metadata keys are dropped (with a warning for the report about `path`), as are null values."""
    import yaml

    try:
        data = yaml.safe_load(block) if block.strip() else {}
    except yaml.YAMLError as exc:
        raise FrontMatterError(f"not valid YAML ({' '.join(str(exc).split())})") from exc
    if not isinstance(data, dict):
        raise FrontMatterError(f"expected key: value pairs, got a {type(data).__name__}")
    metadata: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str) or not is_metadata_key(key) or key in _RESERVED:
            warn(path, f"front matter key {key!r} dropped: not usable as a metadata key")
            continue
        if value is not None:
            metadata[key] = _json_safe(value)
    return metadata


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # `.inf` and `.nan` are valid YAML but not JSON: kept as their words
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
