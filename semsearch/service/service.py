"""`Service`: many knowledge bases in one process, on one Milvus: listed, created, opened and dropped by name.

This is the layer between the doors and one `KnowledgeBase`. It opens a collection when it is first used, with the
model and settings the collection records (`semsearch.collection_settings`), loads each model once for every
collection that uses it (`ModelRegistry`), and keeps at most `SEMSEARCH_MAX_OPEN_COLLECTIONS` open: opening one
more closes the one used least recently and releases it from Milvus's memory (its next use loads it again):
as soon as its last `lease` ends (the API's reads take one), so that a burst over many collections stays within the
bound (a loaded collection holds ~60 MB in Milvus Lite); `RETIRE_AFTER` s later if it was lent without one (`open`,
`engine`: MCP tools, upload jobs, Python callers), since nobody says when they are done with it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from semsearch import collection_settings
from semsearch.documents import status as engine_status
from semsearch.engine import Engine
from semsearch.errors import CollectionExists, CollectionInUse, CollectionNotFound, Refused, SemsearchError
from semsearch.knowledge_base import KnowledgeBase, open_settings
from semsearch.service.models import ModelRegistry, check_installed
from semsearch.service.opening import Opening
from semsearch.service.retiring import Retirements
from semsearch.settings import Settings
from semsearch.store import LoadProgress
from semsearch.store.catalog import Catalog, StoredCollection, check_name

log = logging.getLogger("semsearch.service")

#: Seconds an engine closed to make room stays usable for the requests that already hold it.
RETIRE_AFTER = 30.0


class InvalidCollectionSettings(Refused):
    """Settings for a new collection that are not settings a collection records, or not valid values."""


class Service:
    """The knowledge bases of one Milvus (a Lite `.db` or a server), for one process:

        service = semsearch.Service("data/milvus.db")      # or "http://host:19530"; Settings fields as keywords
        service.create("hr", chunk_tokens=200)             # records its model and settings with it
        with service:                                      # closes every collection it opened
            answer = service.open("hr").search("parental leave")
            print(service.names())

    This is the way to use several collections in one process: `semsearch.open(collection=...)` opens one knowledge
    base with its own model copy and connection. Knowledge bases the service lends are closed by the service.
    `protect` marks a collection the process serves as its default (the API's unprefixed routes): it cannot be
    dropped through the service.
    """

    def __init__(
        self, target: str | Path | Settings | None = None, *, models: ModelRegistry | None = None, **overrides: Any
    ) -> None:
        self.settings = open_settings(target, **overrides)
        self.models = models or ModelRegistry()
        self.retire_after = RETIRE_AFTER
        self._open: OrderedDict[str, Opening] = OrderedDict()
        self._protected: dict[str, Callable[[], Engine | None]] = {}
        self._dropping: set[str] = set()
        self._retirements = Retirements(lambda name: name not in self._open and not self._closed)
        self._catalog: Catalog | None = None
        self._lock = threading.RLock()
        self._changes = threading.Lock()  # one create or drop at a time
        self._closed = False

    @classmethod
    def beside(cls, engine: Engine, serving: Callable[[], Engine | None] | None = None) -> Service:
        """A service for the other collections of `engine`'s Milvus, sharing its model: `engine`'s collection is
        served by `serving` (default: `engine` itself), the door's default collection, and cannot be dropped."""
        service = cls(engine.settings)
        service.models.adopt(engine.embedder, engine.settings)
        service.protect(engine.settings.collection, serving or (lambda: engine))
        return service

    # -- naming ---------------------------------------------------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        """The Milvus connection that lists and drops collections, made on first use."""
        with self._lock:
            if self._closed:
                raise CollectionNotFound("the service is closed")
            if self._catalog is None:
                self._catalog = Catalog.connect(self.settings)
            return self._catalog

    def protect(self, name: str, serving: Callable[[], Engine | None]) -> None:
        """`name` is served by an engine opened elsewhere (the API's default collection, which `serving` returns):
        the service does not open it again and cannot drop it."""
        self._protected[name] = serving

    def names(self) -> list[str]:
        return [stored.name for stored in self.catalog.list()]

    def collections(self) -> list[dict[str, Any]]:
        """Every collection: name, model, dim, recorded settings and state here (no counts: one call each)."""
        return [self._summary(stored) for stored in self.catalog.list()]

    def describe(self, name: str, engine: Engine | None = None) -> dict[str, Any]:
        """One collection's status: counts, capabilities and fusion as `semsearch status` says them once it is open
        (`engine`: an engine of it opened elsewhere), its model, settings and state either way."""
        opening = self._open.get(name)
        engine = engine or self._serving(name) or (opening.engine if opening is not None else None)
        stored = self.catalog.get(name)
        summary = self._summary(stored)
        if engine is None:
            extra = {"chunks": self.catalog.rows(stored), "capabilities": self.catalog.store.capabilities.as_dict()}
            if opening is not None and not opening.finished:
                extra["progress"] = opening.progress.percent
            return {**summary, **extra, "loaded": self.catalog.is_loaded(stored)}
        return {**summary, **engine_status(engine), "state": "ready", "loaded": True}

    # -- opening --------------------------------------------------------------------------------------------------

    def open(self, name: str) -> KnowledgeBase:
        """The knowledge base `name`, opened (and loaded) if it is not yet, however long that takes;
        CollectionNotFound if there is none. The service closes it: `close()` on it does nothing."""
        return KnowledgeBase(self.engine(name, wait=None), owned=False)

    def engine(self, name: str, wait: float | None = 2.0) -> Engine:
        """The engine of `name`, opening it if needed and waiting up to `wait` seconds (None: as long as it takes);
        CollectionLoading (with a retry-after) if it is still opening then, CollectionNotFound if there is none.
        A failed open is reported to this caller and tried again by the next. The caller may hold the engine as long
        as it likes: once closed to make room, the collection is released only `retire_after` s later."""
        opening = self._opening(name, leased=False)
        return self._wait(opening, wait)

    @contextmanager
    def lease(self, name: str, wait: float | None = 2.0) -> Iterator[Engine]:
        """`engine`, held for the block only: a collection closed to make room meanwhile is released from Milvus
        when the last lease on it ends, not `retire_after` s later. What a request that ends with its response
        takes."""
        opening = self._opening(name, leased=True)
        try:
            yield self._wait(opening, wait)
        finally:
            with self._lock:
                opening.leases -= 1
                retire = opening.leases == 0 and opening.closed and not opening.lent
            if retire:
                self._schedule_retire(opening, 0.0)

    def _opening(self, name: str, leased: bool) -> Opening:
        """The opening of `name` (started if need be), counted as leased or marked as lent without a lease in the
        same step that finds it, so that no eviction comes between."""
        with self._lock:
            opening = self._open.get(name)
            if opening is not None:
                self._open.move_to_end(name)
                opening.hold(leased)
                return opening
        check_name(name)
        stored = None if name in self._dropping else self.catalog.find(name)
        if stored is None:
            raise CollectionNotFound(f"no collection named {name!r}")
        with self._lock:
            opening = self._open.get(name)
            if opening is None:
                opening = self._open[name] = Opening(name, self._opener(stored)).start()
                self._evict()
            opening.hold(leased)
            return opening

    def _wait(self, opening: Opening, wait: float | None) -> Engine:
        try:
            return opening.wait(wait)
        except SemsearchError as exc:
            if opening.finished and opening.error is exc:
                with self._lock:
                    if self._open.get(opening.name) is opening:
                        del self._open[opening.name]
            raise

    def _opener(self, stored: StoredCollection) -> Callable[[Callable[[LoadProgress], None]], Engine]:
        def open_engine(on_progress: Callable[[LoadProgress], None]) -> Engine:
            settings = self.settings_for(stored)
            embedder = self.models.embedder(settings)
            return Engine.open(settings, create=False, embedder=embedder, on_progress=on_progress)

        return open_engine

    def settings_for(self, stored: StoredCollection) -> Settings:
        """The service's settings for this collection, with what the collection records on top."""
        base = self.settings.model_copy(update={"collection": stored.name})
        return collection_settings.recorded(base, stored.record)

    # -- creating and dropping ------------------------------------------------------------------------------------

    def create(self, name: str, **chosen: Any) -> KnowledgeBase:
        """Create the collection `name` with `chosen` settings (model, prompts, chunk size, keyword window, index,
        multi_tenant; the service's settings for the rest) and open it; an existing one with the same settings is
        opened as it is, one with other settings is CollectionExists."""
        return self.ensure(name, **chosen)[0]

    def ensure(self, name: str, **chosen: Any) -> tuple[KnowledgeBase, bool]:
        """`create`, also saying whether the collection was made now (False: it existed with these settings)."""
        check_name(name)
        unknown = sorted(set(chosen) - set(collection_settings.CHOSEN_AT_CREATION))
        if unknown:
            allowed = ", ".join(collection_settings.CHOSEN_AT_CREATION)
            raise InvalidCollectionSettings(f"a collection cannot record {', '.join(unknown)}; it records {allowed}")
        wanted = self._wanted(name, chosen)
        if "model" in chosen:
            check_installed(wanted.model)
        with self._changes:
            stored = self.catalog.find(name)
            if stored is not None:
                changed = collection_settings.differences(stored.record, wanted, chosen)
                if changed:
                    raise CollectionExists(f"collection {name!r} exists with other settings: {'; '.join(changed)}")
                return self.open(name), False
            engine = Engine.open(wanted, create=True, embedder=self.models.embedder(wanted))
            with self._lock:
                self._open[name] = Opening.of(name, engine)
                self._open[name].hold(leased=False)  # lent to the caller, who may keep it
                self._evict()
        log.info("collection %r created with model %s", name, wanted.model)
        return KnowledgeBase(engine, owned=False), True

    def drop(self, name: str) -> list[str]:
        """Drop the collection `name` and everything stored with it; returns what Milvus dropped. The requests
        that follow get CollectionNotFound; the other collections are not touched. Refused (CollectionInUse) for
        a protected collection."""
        if name in self._protected:
            raise CollectionInUse(
                f"collection {name!r} is this service's default collection (the unprefixed routes); "
                "serve another default (SEMSEARCH_COLLECTION) to drop it"
            )
        with self._changes:
            self._dropping.add(name)
            try:
                with self._lock:
                    opening = self._open.pop(name, None)
                if opening is not None and opening.engine is not None:
                    opening.engine.close()
                return self.catalog.drop(name)
            finally:
                self._dropping.discard(name)

    # -- lifetime -------------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close every collection the service opened, and its Milvus connection."""
        with self._lock:
            self._closed = True
            openings, self._open = list(self._open.values()), OrderedDict()
            catalog, self._catalog = self._catalog, None
        self._retirements.flush()  # close the engines waiting to be released now
        for opening in openings:
            if opening.engine is not None:
                opening.engine.close()
        if catalog is not None:
            catalog.close()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- inside ---------------------------------------------------------------------------------------------------

    def _wanted(self, name: str, chosen: dict[str, Any]) -> Settings:
        try:
            return Settings.model_validate({**self.settings.model_dump(), "collection": name, **chosen})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
            raise InvalidCollectionSettings(f"invalid settings for collection {name!r}: {problems}") from exc

    def _summary(self, stored: StoredCollection) -> dict[str, Any]:
        settings = self.settings_for(stored)
        opening = self._open.get(stored.name)
        state = "closed" if opening is None else "ready" if opening.ready else "opening"
        if self._serving(stored.name) is not None:
            state = "ready"
        return {
            "name": stored.name,
            "model": stored.record.model,
            "dim": stored.record.dim,
            "prompts": {"query": settings.query_prompt, "document": settings.document_prompt},
            "settings": collection_settings.to_record(settings),
            "state": state,
        }

    def _serving(self, name: str) -> Engine | None:
        serving = self._protected.get(name)
        return serving() if serving is not None else None

    def _evict(self) -> None:
        """Close the least recently used open collections beyond the bound (never one still opening, nor a
        protected one). Each is released from Milvus when its last lease ends (now, if it has none), or
        `retire_after` s from now if it was ever lent without a lease."""
        evictable: Iterable[Opening] = [o for o in self._open.values() if o.finished and o.name not in self._protected]
        excess = len(self._open) - self.settings.max_open_collections
        for opening in list(evictable)[: max(excess, 0)]:
            del self._open[opening.name]
            opening.closed = True
            if opening.lent:
                self._schedule_retire(opening, self.retire_after)
            elif opening.leases == 0:
                self._schedule_retire(opening, 0.0)

    def _schedule_retire(self, opening: Opening, after: float) -> None:
        if opening.engine is not None:
            self._retirements.schedule(opening.name, opening.engine, after)
