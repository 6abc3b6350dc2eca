"""The engine as the doors see it: one model, one store, and the indexer and searcher built on them.

An engine is never copied: it owns one query batcher (a thread) and one store connection, and `close()` ends both.
Whoever measures it (an app's metrics, one ingest run's) attaches as its `observer` instead of wrapping a copy.
"""

from __future__ import annotations

import copy
import functools
import logging
import threading
import time
from collections.abc import Collection

import numpy as np

from semsearch import collection_settings
from semsearch.batcher import QueryBatcher
from semsearch.default_fusion import load_default_fusion
from semsearch.embedder import Embedder
from semsearch.errors import BackendUnavailable, Forbidden
from semsearch.indexer import Indexer
from semsearch.observe import EngineObserver, Reports, observed
from semsearch.reranker import Reranker
from semsearch.searcher import Searcher
from semsearch.settings import Settings
from semsearch.store import MilvusStore
from semsearch.store.loading import LoadProgress, ProgressCallback

log = logging.getLogger(__name__)


class Engine:
    def __init__(self, settings: Settings, embedder: Embedder, store: MilvusStore) -> None:
        self.settings = settings
        self._reports = Reports()
        self.embedder = observed(embedder, self._reports)
        self.store = observed(store, self._reports)
        self._batcher: QueryBatcher | None = None
        self._batcher_lock = threading.Lock()
        self._closed = False
        #: The engine a tenant's view (`for_tenant`) was made from: it owns the batcher, the reranker and the store.
        self._parent: Engine | None = None
        #: Hybrid fusion for requests that name none: the collection's saved one, else the built-in (BUILT_IN_FUSION).
        self.default_fusion = load_default_fusion(store)

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        create: bool,
        embedder: Embedder | None = None,
        load: bool = True,
        on_progress: ProgressCallback | None = None,
        recorded: bool = False,
        keep: Collection[str] = (),
    ) -> Engine:
        """Connect to Milvus first (fails fast, before the slow model load), then load and check the model, then
        load the collection (as long as that takes: `on_progress` hears how far it is). With `load` False the
        collection is checked but not loaded: the caller loads it (`store.load`) while it already answers, as the
        API does, and `store.loaded` says when searches can run.

        With `recorded`, an existing collection is opened with the model, prompts and settings it records
        (`semsearch.collection_settings`), whatever `settings` say, except those named in `keep` (given explicitly):
        what the doors do. Without it `settings` are
        taken as they are, and a collection recording another model or prompts is refused
        (CollectionModelMismatch). A new collection records `settings` either way."""
        started = time.perf_counter()

        def report(progress: LoadProgress) -> None:
            log.info("%s", progress)  # the same steps a spinner shows, in the log of a server
            if on_progress:
                on_progress(progress)

        report(LoadProgress(f"connecting to Milvus at {settings.milvus_uri}"))
        store = MilvusStore.connect(settings)
        try:
            if recorded:
                settings = collection_settings.recorded(settings, store.record(), keep)
            if embedder is None:
                report(LoadProgress(f"loading the model {settings.model}"))
                embedder = Embedder.load(settings)
            report(LoadProgress(f"opening collection {settings.collection!r}"))
            store.open(
                embedder.model_id,
                embedder.dim,
                create=create,
                load=load,
                on_progress=on_progress,
                prompts=(embedder.prompts.query, embedder.prompts.document),
                settings=collection_settings.to_record(settings),
            )
        except BaseException:
            store.close()
            raise
        log.info(
            "collection %r open with model %s (%d dimensions) in %.1f s",
            settings.collection,
            embedder.model_id,
            embedder.dim,
            time.perf_counter() - started,
        )
        return cls(settings=settings, embedder=embedder, store=store)

    def reload_default_fusion(self) -> bool:
        """Read the collection's saved fusion again (another process may have saved one); True if it changed.
        A running API on a server does this with every alias check (`search_api/follow.py`)."""
        found = load_default_fusion(self.store)
        changed = found != self.default_fusion
        self.default_fusion = found
        return changed

    def for_tenant(self, tenant: str) -> Engine:
        """This engine confined to one tenant of its multi-tenant collection (`MilvusStore.for_tenant`): every
        search, write and delete through it sees that tenant's chunks only. It shares this engine's model, query
        batcher, reranker and connection, so it costs nothing to make per request; closing it closes nothing.
        InvalidTenant for a collection that is not multi-tenant; Forbidden from a tenant's view for another tenant
        (a tenant's knowledge base cannot reach past its tenant)."""
        if self._parent is not None:
            if tenant != self.tenant:
                raise Forbidden(f"this knowledge base is confined to tenant {self.tenant!r}, not {tenant!r}")
            return self
        owner = self
        view = copy.copy(owner)
        view.store = observed(owner.store.for_tenant(tenant), owner._reports)
        view._parent = owner
        return view

    @property
    def tenant(self) -> str | None:
        """The tenant this engine is confined to (`for_tenant`); None for the whole collection."""
        return self.store.tenant

    @property
    def observer(self) -> EngineObserver | None:
        """Who hears about this engine's model and Milvus time; one at a time, None for nobody."""
        return self._reports.observer

    @observer.setter
    def observer(self, observer: EngineObserver | None) -> None:
        self._reports.observer = observer

    @property
    def indexer(self) -> Indexer:
        return Indexer(self.store, self.embedder, self.settings)

    @property
    def searcher(self) -> Searcher:
        return Searcher(
            self.store,
            self.embedder,
            self.settings,
            reranker=lambda: self.reranker,
            embed_query=self.embed_query,
            default_fusion=self.default_fusion.fusion,
        )

    @property
    def query_batcher(self) -> QueryBatcher:
        """Query embeddings for every search of this engine: cached, and batched across concurrent requests where the
        model gains from batches (`semsearch.batcher`). One per engine, made on first use; after `close()` there is
        none (BackendUnavailable)."""
        if self._parent is not None:
            return self._parent.query_batcher
        with self._batcher_lock:
            if self._closed:
                raise BackendUnavailable("the search engine is closed")
            if self._batcher is None:
                embed, batching = self.embedder.embed_queries, not self.embedder.queries_run_alone
                self._batcher = QueryBatcher(embed, batching=batching)
            return self._batcher

    def embed_query(self, query: str) -> np.ndarray:
        """The query's unit vector through the batcher (read-only)."""
        return self.query_batcher.embed(query)

    @functools.cached_property
    def reranker(self) -> Reranker | None:
        """The CrossEncoder named by SEMSEARCH_RERANK_MODEL, loaded on first use; None when not configured."""
        if self._parent is not None:
            return self._parent.reranker
        if not self.settings.rerank_model:
            return None
        return Reranker(self.settings.rerank_model, self.settings.device)

    def close(self) -> None:
        """Stop the query batcher (queries already queued are answered) and close the store. Idempotent. A tenant's
        view closes nothing: the engine it was made from does."""
        if self._parent is not None:
            return
        with self._batcher_lock:
            self._closed = True
            batcher, self._batcher = self._batcher, None
        if batcher is not None:
            batcher.close()
        self.store.close()
