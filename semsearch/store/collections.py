"""The collections and aliases of one Milvus, by name: creating, describing, loading, renaming and dropping them.

The store opens its chunk collection through these verbs, and `semsearch reindex` and the API's alias follower
manage physical collections and the alias in front of them with them, so that those calls follow the store's
timeout and retry policy too: the lifecycle runs on the write path (retried through a restart), except the checks
a serving API makes (`fail_fast`, and `alias_target`), which fail fast.
"""

from __future__ import annotations

from dataclasses import dataclass

from pymilvus import CollectionSchema
from pymilvus.milvus_client.index import IndexParams

from semsearch.store.indexes import DenseIndex
from semsearch.store.loading import ProgressCallback, is_loaded, wait_loaded
from semsearch.store.milvus_calls import Connection
from semsearch.store.schema import (
    ModelRecord,
    build_index_params,
    build_keys_schema,
    build_schema,
)

#: Collections whose reads decide what ingest writes see every earlier write (on a server "Strong" waits for the
#: next time tick, about 200 ms; Milvus Lite is always up to date).
STATE_CONSISTENCY = "Strong"
#: Searches see this process's own writes at once and other writers' within a time tick, without that wait.
SEARCH_CONSISTENCY = "Session"
#: What a failed read of the lifecycle leaves behind.
UNCHANGED = "nothing was changed"


@dataclass(frozen=True)
class Description:
    """What the store needs to know of a collection: the model that made its vectors (None if not semsearch's),
    its field names (older collections lack the BM25 fields) and the aliases that name it (on a server)."""

    record: ModelRecord | None
    fields: frozenset[str]
    aliases: tuple[str, ...] = ()


@dataclass
class Collections:
    """Lifecycle verbs over the collections of the Milvus behind `milvus`."""

    milvus: Connection

    def has(self, name: str, *, fail_fast: bool = False) -> bool:
        if fail_fast:
            return bool(self.milvus.read("has_collection", name))
        return bool(self.milvus.write("has_collection", name, what="read collections", unfinished=UNCHANGED))

    def names(self) -> list[str]:
        """Every collection in the database."""
        return list(self.milvus.write("list_collections", what="list collections", unfinished=UNCHANGED))

    def describe(self, name: str, *, fail_fast: bool = False) -> Description:
        if fail_fast:
            info = self.milvus.read("describe_collection", name)
        else:
            info = self.milvus.write("describe_collection", name, what=f"describe {name!r}", unfinished=UNCHANGED)
        return Description(
            record=ModelRecord.from_description(info.get("description", "")),
            fields=frozenset(field["name"] for field in info["fields"]),
            aliases=tuple(info.get("aliases") or ()),
        )

    def alias_target(self, alias: str) -> str | None:
        """The collection `alias` points at; None if there is no such alias (or no aliases, on Milvus Lite).
        (Aliases are listed first: describing a missing one makes pymilvus log an error with a traceback.)"""
        if not self.milvus.capabilities.aliases or alias not in self.milvus.read("list_aliases").get("aliases", []):
            return None
        return self.milvus.read("describe_alias", alias)["collection_name"]

    def describe_index(self, name: str, field_name: str) -> dict:
        """Milvus's description of the index on `field_name` (type, metric, build parameters); {} if none."""
        indexes = self.milvus.read("list_indexes", name, field_name=field_name)
        return dict(self.milvus.read("describe_index", name, indexes[0])) if indexes else {}

    def create_chunks(self, name: str, record: ModelRecord, dense: DenseIndex, *, multi_tenant: bool = False) -> None:
        """A chunk collection for vectors of this model with this dense index, and the BM25 fields where this
        Milvus has BM25; `multi_tenant`: with a tenant field, a partition key where Milvus has partitions."""
        capabilities = self.milvus.capabilities
        tenants = None
        if multi_tenant:
            tenants = "partition_key" if capabilities.backend == "milvus-server" else "field"
        self._create(
            name,
            schema=build_schema(record.dim, record, bm25=capabilities.bm25, tenants=tenants),
            index_params=build_index_params(self.milvus.client, dense, bm25=capabilities.bm25),
            consistency_level=SEARCH_CONSISTENCY,
        )

    def ensure_keys(self, name: str) -> None:
        """The metadata-keys companion collection `name`, created if missing."""
        if self.has(name):
            return
        params = self.milvus.client.prepare_index_params()  # builds the request locally; no call to Milvus
        params.add_index(field_name="vector", index_type="FLAT", metric_type="L2")
        self._create(name, schema=build_keys_schema(), index_params=params, consistency_level=STATE_CONSISTENCY)

    def _create(
        self, name: str, *, schema: CollectionSchema, index_params: IndexParams, consistency_level: str
    ) -> None:
        """Create, index and load a new (empty) collection: what pymilvus's `create_collection(index_params=...)`
        does, less its wait. pymilvus sleeps half a second before it first asks whether an index is built, for
        each index, and the index of an empty collection is built at once: that sleep was 1.5 s of the 2 s a
        knowledge base took to create on Milvus Lite."""
        what = f"create collection {name!r}"
        self.milvus.write("create_collection", name, schema=schema, consistency_level=consistency_level, what=what)
        self.milvus.write("create_index", name, index_params, sync=False, what=f"index of new collection {name!r}")
        self.milvus.write("load_collection", name, what=f"load of new collection {name!r}")

    def load(self, name: str, on_progress: ProgressCallback | None = None) -> None:
        """Load the whole collection into memory (Milvus searches and queries only loaded collections); returns
        when it is loaded. On a big collection this is the slowest call the store makes, so it has no deadline:
        Milvus's own progress is watched instead (`loading.wait_loaded`) and reported to `on_progress`."""
        wait_loaded(self.milvus, name, on_progress)

    def is_loaded(self, name: str) -> bool:
        """True if Milvus can search `name` now (a serving-path read: fails fast)."""
        return is_loaded(self.milvus, name)

    def release(self, name: str) -> None:
        """Free the memory Milvus holds for `name`; it stays stored, and the next `load` brings it back."""
        self.milvus.write("release_collection", name, what=f"release {name!r}", unfinished=UNCHANGED)

    def drop_alias(self, alias: str) -> None:
        self.milvus.write("drop_alias", alias, what=f"drop alias {alias!r}", unfinished=f"{alias!r} was not dropped")

    def create_alias(self, alias: str, target: str) -> None:
        self.milvus.write("create_alias", target, alias, what=f"create alias {alias!r} for {target!r}")

    def move_alias(self, alias: str, target: str) -> None:
        """Point `alias` at `target` in one call: readers of the alias switch atomically."""
        self.milvus.write("alter_alias", target, alias, what=f"move alias {alias!r} to {target!r}")

    def rename(self, old: str, new: str) -> None:
        self.milvus.write("rename_collection", old, new, what=f"rename {old!r} to {new!r}")

    def drop(self, name: str) -> None:
        self.milvus.write("drop_collection", name, what=f"drop {name!r}", unfinished=f"{name!r} was not dropped")
