"""The knowledge bases of one Milvus, by the names users give them: listed, described, released and dropped.

A name users give is, on Milvus Lite, the chunk collection itself; on a server, an alias of the physical collection
`<name>__<collection-slug>` (`MilvusStore`). Beside each lives its companion `<name>__keys`. Listing therefore reads
every collection's description once: semsearch's own carry a `ModelRecord`, the companions and other applications'
collections do not, and a physical collection no alias names is a reindex's (in progress, or kept for a rollback),
not a knowledge base of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from semsearch.errors import CollectionNotFound, InvalidCollectionName
from semsearch.settings import Settings
from semsearch.store.capabilities import physical_name
from semsearch.store.collections import Collections
from semsearch.store.milvus_store import MilvusStore
from semsearch.store.schema import ModelRecord, keys_collection

#: Milvus's rule for a collection name, less what the physical collection and the companion add to it
#: (`__keys`, and `__` plus a slug of up to 49 characters on a server): Milvus allows 255 in all.
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,199}$")
NAME_RULE = (
    "a collection name starts with a letter or an underscore and holds only letters, digits and underscores "
    "(Milvus's rule), at most 200 characters (Milvus allows 255, and the companion collections add to the name), "
    "and does not end with '__keys'"
)


def check_name(name: str) -> str:
    """`name` if Milvus (and the product) would accept it for a new collection; InvalidCollectionName otherwise."""
    if not NAME_PATTERN.fullmatch(name) or name.endswith("__keys"):
        raise InvalidCollectionName(f"invalid collection name {name!r}: {NAME_RULE}")
    return name


@dataclass(frozen=True)
class StoredCollection:
    """One knowledge base as Milvus holds it: the `name` users give, the physical collection `target` behind it,
    and what it records (model, prompts, settings)."""

    name: str
    target: str
    record: ModelRecord


@dataclass
class Catalog:
    """Every knowledge base of the Milvus behind `store`'s connection (which the catalog owns and closes)."""

    store: MilvusStore

    @classmethod
    def connect(cls, settings: Settings) -> Catalog:
        return cls(MilvusStore.connect(settings))

    @property
    def collections(self) -> Collections:
        return self.store.collections

    def close(self) -> None:
        self.store.close()

    def list(self) -> list[StoredCollection]:
        """Every knowledge base, sorted by name (one describe call per collection in the database)."""
        names = self.collections.names()
        found: list[StoredCollection] = []
        for physical in names:
            if physical.endswith("__keys"):
                continue
            described = self.collections.describe(physical)
            if described.record is None:
                continue  # not semsearch's
            if described.aliases:
                found.extend(StoredCollection(alias, physical, described.record) for alias in described.aliases)
            elif not self._unnamed_physical(physical, described.record):
                found.append(StoredCollection(physical, physical, described.record))
        return sorted(found, key=lambda stored: stored.name)

    def find(self, name: str) -> StoredCollection | None:
        """The knowledge base called `name`, or None (a serving-path read: fails fast)."""
        if not NAME_PATTERN.fullmatch(name):
            return None
        target = self.collections.alias_target(name)
        if target is None and not self.collections.has(name, fail_fast=True):
            return None
        target = target or name
        record = self.collections.describe(target, fail_fast=True).record
        return StoredCollection(name, target, record) if record is not None else None

    def get(self, name: str) -> StoredCollection:
        """The knowledge base called `name`: InvalidCollectionName for a name Milvus refuses, else
        CollectionNotFound if there is none."""
        found = self.find(check_name(name))
        if found is None:
            raise CollectionNotFound(f"no collection named {name!r}")
        return found

    def rows(self, stored: StoredCollection) -> int:
        """Chunks Milvus's statistics count for the collection, loaded or not (a loaded one counts exactly with
        `ChunkCollection.count`; the statistics may lag the last writes by a flush)."""
        stats = self.store.milvus.read("get_collection_stats", stored.target)
        return int(stats.get("row_count", 0))

    def is_loaded(self, stored: StoredCollection) -> bool:
        return self.collections.is_loaded(stored.target)

    def release(self, stored: StoredCollection) -> None:
        self.collections.release(stored.target)

    def drop(self, name: str) -> list[str]:
        """Drop the knowledge base `name`: its alias, its physical collections (those a reindex kept too) and its
        companion. Returns what was dropped; CollectionNotFound if there is no such knowledge base."""
        stored = self.get(name)
        dropped: list[str] = []
        if stored.target != name:  # an alias on a server
            self.collections.drop_alias(name)
            dropped.append(f"alias {name}")
        physical = {stored.target}
        if self.store.capabilities.aliases:
            for other in self.collections.names():
                if other.startswith(f"{name}__") and not other.endswith("__keys"):
                    record = self.collections.describe(other).record
                    if record is not None and other == physical_name(name, record.model):
                        physical.add(other)
        for target in sorted(physical):
            self.collections.drop(target)
            dropped.append(target)
        keys = keys_collection(name)
        if self.collections.has(keys):
            self.collections.drop(keys)
            dropped.append(keys)
        return dropped

    def _unnamed_physical(self, physical: str, record: ModelRecord) -> bool:
        """True for a server's physical collection that no alias names (a reindex's, not a knowledge base)."""
        if not self.store.capabilities.aliases or "__" not in physical:
            return False
        return physical == physical_name(physical.rsplit("__", 1)[0], record.model)
