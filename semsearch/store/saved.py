"""Values saved with a collection (its default fusion), as rows of its companion collection `<collection>__keys`.

Why there and not in the collection's properties: Milvus Lite 2.5.1 answers UNIMPLEMENTED to AlterCollection
(`alter_collection_properties`), so properties would work on a server only (the 2.3.5 server keeps them). The
companion collection exists on both, is named after the collection users configure (so a value survives
`semsearch reindex`, which moves that name to a new physical collection), and already holds one row per metadata
key. Its rows have a primary key and a 2-d dummy vector and nothing else, so a value lives in the key itself:
`semsearch:<name>=<json>`. No metadata key can look like that (`:` and `=` are not allowed in one), and
`ChunkCollection.refresh_metadata_keys` skips them.
"""

from __future__ import annotations

import json
import time
from typing import Any

from semsearch.filters import string_literal
from semsearch.store.collections import STATE_CONSISTENCY
from semsearch.store.milvus_calls import Connection

#: Rows of the keys companion that are saved values, not metadata keys.
SAVED_ROW_PREFIX = "semsearch:"
#: Longest saved row key: the companion collection's primary key is a VARCHAR of this many bytes.
KEY_MAX = 256


def read_saved(milvus: Connection, keys: str, name: str) -> dict[str, Any] | None:
    """The value saved under `name` (the newest, should two writers have raced), or None; a serving-path read."""
    if not milvus.read("has_collection", keys):
        return None
    prefix = _prefix(name)
    rows = milvus.read(
        "query",
        keys,
        filter=f'key like "{prefix}%"',
        output_fields=["key"],
        limit=100,
        consistency_level=STATE_CONSISTENCY,
    )
    values = []
    for row in rows:
        try:
            value = json.loads(row["key"][len(prefix) :])
        except ValueError:
            continue
        if isinstance(value, dict):
            values.append(value)
    return max(values, key=lambda v: v.get("saved_at", 0)) if values else None


def write_saved(milvus: Connection, keys: str, name: str, value: dict[str, Any] | None) -> None:
    """Save `value` under `name` (None removes it): the new row is written before the old ones are deleted, so a
    reader always finds one. `value` gets `saved_at` (Unix seconds); ValueError if it does not fit a row key."""
    prefix = _prefix(name)
    new = None
    if value is not None:
        new = prefix + json.dumps({**value, "saved_at": round(time.time(), 3)}, separators=(",", ":"))
        if len(new.encode()) > KEY_MAX:
            raise ValueError(f"a saved {name} holds at most {KEY_MAX} bytes; this one has {len(new.encode())}")
        milvus.write("upsert", keys, data=[{"key": new, "vector": [0.0, 0.0]}], what=f"save of the default {name}")
    old = f'key like "{prefix}%"' + (f" and key != {string_literal(new)}" if new else "")
    milvus.write("delete", keys, filter=old, what=f"delete of the previous default {name}")


def _prefix(name: str) -> str:
    return f"{SAVED_ROW_PREFIX}{name}="
