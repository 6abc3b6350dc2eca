"""Which dense index a new collection gets, with which build and search parameters (`SEMSEARCH_INDEX`,
`SEMSEARCH_INDEX_PARAMS`, `SEMSEARCH_SEARCH_PARAMS`), and what an existing collection was built with.

`auto` (the default) is chosen per backend from `benchmarks/indexes.py` (README "Which index"): recall@10 against
exact search and Milvus's own p50, at 20k, 200k and 1M chunks. An existing collection keeps the index it was built
with; its search parameters follow that index (`DenseIndex.from_described`), so changing the setting never makes a
search send parameters its index does not take.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, get_args

from semsearch.errors import UnsupportedIndex
from semsearch.settings import DenseIndexName

#: Index types a server builds that semsearch offers (every `SEMSEARCH_INDEX` but auto), and those Milvus Lite
#: 2.5.1 builds.
SERVER_INDEXES = get_args(DenseIndexName)[1:]
LITE_INDEXES = ("FLAT", "IVF_FLAT", "AUTOINDEX")
#: `auto`'s choice per backend (README "Which index" has the measurements behind it).
AUTO = {"milvus-lite": "AUTOINDEX", "milvus-server": "HNSW"}
#: Build parameters when none are configured. Milvus 2.3 refuses HNSW without them; these are Milvus's own
#: defaults in later versions. IVF: 1,024 lists, Milvus's suggested 4 x sqrt(rows) for a 65k-row segment.
BUILD_DEFAULTS: dict[str, dict[str, Any]] = {
    "HNSW": {"M": 16, "efConstruction": 200},
    "IVF_FLAT": {"nlist": 1024},
    "IVF_SQ8": {"nlist": 1024},
}
#: HNSW's candidate list when none is configured (Milvus refuses `ef` below the number of hits asked for). At 200k
#: chunks on the 2.3.5 server, recall@10 was 0.828 / 0.990 / 0.999 with ef 16 / 64 / 128 and p50 11.0 / 9.2 /
#: 9.1 ms (`benchmarks/indexes.py`): 128 costs nothing measurable and keeps recall as the graph grows.
HNSW_EF = 128
#: IVF lists searched per query when none is configured.
IVF_NPROBE = 32


@dataclass(frozen=True)
class DenseIndex:
    """A dense index: its Milvus type, build parameters, and configured search parameters (empty: per type)."""

    type: str
    build: dict[str, Any] = field(default_factory=dict)
    search: dict[str, Any] = field(default_factory=dict)

    def search_params(self, limit: int) -> dict[str, Any]:
        """The `params` of a search for `limit` hits: the configured ones, else this index type's defaults. HNSW's
        `ef` is raised to `limit` if lower (Milvus 2.3 refuses less)."""
        params = dict(self.search)
        if self.type == "HNSW":
            params["ef"] = max(int(params.get("ef", HNSW_EF)), limit)
        elif self.type.startswith("IVF"):
            params.setdefault("nprobe", min(IVF_NPROBE, int(self.build.get("nlist", IVF_NPROBE))))
        return params

    @classmethod
    def from_described(cls, described: dict[str, Any], search: dict[str, Any] | None) -> DenseIndex:
        """The index an existing collection has, from Milvus's `describe_index` answer."""
        kind = str(described.get("index_type", "AUTOINDEX"))
        skip = {"index_type", "metric_type", "field_name", "index_name", "total_rows", "indexed_rows"}
        skip |= {"pending_index_rows", "state", "params", "dim"}
        build = {key: _number(value) for key, value in described.items() if key not in skip}
        return cls(kind, build, dict(search or {}))


def _number(value: Any) -> Any:
    """Milvus describes build parameters as strings ("64"): numbers come back as numbers."""
    return int(value) if isinstance(value, str) and value.isdigit() else value


def choose(index: str, build: dict[str, Any] | None, search: dict[str, Any] | None, backend: str) -> DenseIndex:
    """The dense index for a new collection on `backend` ("milvus-lite" or "milvus-server"), from the settings.
    Raises UnsupportedIndex for an index this backend does not build."""
    kind = AUTO[backend] if index == "auto" else index
    offered = LITE_INDEXES if backend == "milvus-lite" else SERVER_INDEXES
    if kind not in offered:
        name = "Milvus Lite" if backend == "milvus-lite" else "a Milvus server"
        raise UnsupportedIndex(
            f"SEMSEARCH_INDEX={kind} is not an index {name} builds; choose one of: auto, {', '.join(offered)}"
        )
    return DenseIndex(kind, dict(build) if build else dict(BUILD_DEFAULTS.get(kind, {})), dict(search or {}))
