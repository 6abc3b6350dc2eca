"""What the connected Milvus can do, and how a logical collection name maps to physical collections.

Detected once per connection: Milvus Lite 2.5.1 has BM25 but no aliases (create_alias, rename_collection answer
UNIMPLEMENTED) and only FLAT/IVF_FLAT/AUTOINDEX; a server has aliases and HNSW, and BM25 from 2.5 on.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from pymilvus import MilvusClient

from semsearch.store.indexes import AUTO

#: First Milvus server version with built-in BM25 functions (keyword and hybrid search).
BM25_SINCE = (2, 5)


@dataclass(frozen=True)
class Capabilities:
    """What the connected Milvus can do; the doors refuse what it cannot, naming the version it would need."""

    backend: str  # "milvus-lite" or "milvus-server"
    version: str
    bm25: bool
    #: The dense index a new collection gets with `SEMSEARCH_INDEX=auto`.
    dense_index: str
    #: Collection aliases: a server serves `documents` as an alias of `documents__<collection-slug>`, which lets
    #: `semsearch reindex` switch models atomically. Milvus Lite has none.
    aliases: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "version": self.version,
            "bm25": self.bm25,
            "dense_index": self.dense_index,
            "aliases": self.aliases,
        }


def detect(client: MilvusClient, is_lite: bool, timeout: float) -> Capabilities:
    if is_lite:  # Milvus Lite has no get_server_version
        return Capabilities("milvus-lite", version("milvus-lite"), bm25=True, dense_index=AUTO["milvus-lite"])
    server_version = client.get_server_version(timeout=timeout)
    return Capabilities(
        backend="milvus-server",
        version=server_version,
        bm25=parse_version(server_version) >= BM25_SINCE,
        dense_index=AUTO["milvus-server"],
        aliases=True,
    )


def parse_version(text: str) -> tuple[int, int]:
    """(major, minor) of a Milvus version string such as 'v2.3.5-lite' or '2.6.4'; (0, 0) if unreadable."""
    match = re.match(r"v?(\d+)\.(\d+)", text.strip())
    return (int(match[1]), int(match[2])) if match else (0, 0)


def collection_slug(model_id: str) -> str:
    """The part of a physical collection's name that says which model made its vectors (not the model cache's
    directory name, `backends.model_slug`): its readable last path part plus a short hash of the whole id
    (two local models called `model` in different folders must not share a collection)."""
    readable = re.sub(r"[^a-z0-9]+", "_", model_id.rstrip("/").split("/")[-1].lower()).strip("_")[:40]
    digest = hashlib.sha256(model_id.encode()).hexdigest()[:8]
    return f"{readable}_{digest}" if readable else digest


def physical_name(collection: str, model_id: str) -> str:
    """The physical collection behind the alias `collection` for vectors of this model."""
    return f"{collection}__{collection_slug(model_id)}"
