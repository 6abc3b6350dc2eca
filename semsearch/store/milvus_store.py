"""The store as the engine holds it: one chunk collection in one Milvus, connected, opened and closed.

`ChunkCollection` (in `chunks`) has the reads and writes; this class adds the lifecycle that gets there: connect,
resolve the configured name to a physical collection, create it, check its model, load it. `collections` has the
same lifecycle verbs by name, for `semsearch reindex` and the API's alias follower.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from semsearch.errors import (
    CollectionMissing,
    CollectionModelMismatch,
    DatabaseLocked,
    Forbidden,
    InvalidTenant,
    TenantRequired,
)
from semsearch.settings import Settings
from semsearch.store import lite, saved
from semsearch.store.capabilities import physical_name
from semsearch.store.chunks import ID_PAGE, ChunkCollection
from semsearch.store.collections import Collections
from semsearch.store.indexes import DenseIndex, choose
from semsearch.store.loading import ProgressCallback
from semsearch.store.milvus_calls import Connection
from semsearch.store.schema import (
    DENSE_METRIC,
    KEYWORD_FIELD,
    SPARSE_FIELD,
    TENANT_FIELD,
    VECTOR_FIELD,
    ModelRecord,
    keys_collection,
)
from semsearch.store.tenants import TenantConnection, check_tenant


@dataclass
class MilvusStore(ChunkCollection):
    """One chunk collection in one Milvus. Build with `MilvusStore.connect`, then `open` or `create`.

    `collection` is the name users configure. On a server it is an alias of the physical collection `target`
    (`<collection>__<collection-slug>`), which `open` resolves once: this store keeps using that physical collection
    even when `semsearch reindex` moves the alias, so its vectors always match its model. On Milvus Lite (no
    aliases) and for a legacy plain collection, `target == collection`.
    """

    #: Resolved `.db` path when this store runs on Milvus Lite (embedded in this process).
    lite_path: str | None = None
    #: True once `target` is loaded and can be searched (`open(load=False)` leaves it to the caller).
    loaded: bool = False
    #: SEMSEARCH_INDEX, SEMSEARCH_INDEX_PARAMS and SEMSEARCH_SEARCH_PARAMS: the index of a collection this store
    #: creates, and the search parameters it sends.
    index_settings: tuple[str, dict | None, dict | None] = ("auto", None, None)
    #: SEMSEARCH_MULTI_TENANT: whether a collection this store creates is multi-tenant. Once open, whether the open
    #: one is (read from its schema, whatever the setting says).
    multi_tenant: bool = False
    #: The tenant this store's reads and writes are confined to (`for_tenant`); None for the whole collection.
    tenant: str | None = None
    #: False for a tenant's view (`for_tenant`): it shares its parent's connection, which the parent closes.
    owns_connection: bool = True

    @classmethod
    def connect(cls, settings: Settings) -> MilvusStore:
        """Connect to the configured Milvus; raise BackendUnavailable / DatabaseLocked with a clear message."""
        uri = settings.milvus_uri
        if settings.is_lite:
            Path(uri).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
            lite.quiet_server_output()
            if lite.held_by_another_process(Path(uri)):
                raise DatabaseLocked(
                    f"the Milvus Lite database {uri} is open in another process (a running `semsearch serve`?); "
                    "Milvus Lite allows one process per .db file. Stop that process, or send the work to it "
                    "through its HTTP API",
                    path=uri,
                )
        milvus = Connection.open(settings)
        lite_path = lite.opened(Path(uri)) if settings.is_lite else None
        index_settings = (settings.index, settings.index_params, settings.search_params)
        return cls(
            milvus=milvus,
            collection=settings.collection,
            lite_path=lite_path,
            index_settings=index_settings,
            multi_tenant=settings.multi_tenant,
        )

    def close(self) -> None:
        """Close the connection; the last store on a Lite `.db` in this process also stops its embedded server,
        so that another process (e.g. `semsearch serve` after an ingest) can open the file. A tenant's view closes
        nothing: its parent store does."""
        if not self.owns_connection:
            return
        self.milvus.close()
        if self.lite_path is not None:
            lite.closed(self.lite_path)

    @property
    def collections(self) -> Collections:
        """Lifecycle verbs by collection name, on this store's connection and policy."""
        return Collections(self.milvus)

    def pinned_to(self, target: str, settings: Settings | None = None) -> MilvusStore:
        """Another store on this connection, on the physical collection `target` whatever the alias names (reindex
        fills one the alias does not name yet). Close this store, not that one: they share the connection. With
        `settings`, a collection it creates gets their index and tenancy instead of this store's."""
        index_settings, multi_tenant = self.index_settings, self.multi_tenant
        if settings is not None:
            index_settings = (settings.index, settings.index_params, settings.search_params)
            multi_tenant = settings.multi_tenant
        return MilvusStore(
            milvus=self.milvus,
            collection=self.collection,
            target=target,
            index_settings=index_settings,
            multi_tenant=multi_tenant,
        )

    def exists(self) -> bool:
        return self.collections.has(self.target, fail_fast=True)

    def resolve(self) -> str | None:
        """The physical collection `collection` names now: an alias's target, or a plain collection; None if none."""
        target = self.collections.alias_target(self.collection)
        if target is not None:
            return target
        return self.collection if self.collections.has(self.collection, fail_fast=True) else None

    def open(
        self,
        model_id: str,
        dim: int,
        create: bool,
        resolve: bool = True,
        *,
        load: bool = True,
        on_progress: ProgressCallback | None = None,
        prompts: tuple[str, str] = ("", ""),
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Check the collection was built with this model and these (query, document) `prompts` (or create it);
        load it for search. With `resolve` False
        the store opens its `target` as it is (reindex fills a physical collection the alias does not name yet).
        With `load` False the caller loads it later (`load`), e.g. while its API already answers `/health`.
        `settings` are recorded with a collection this creates (`ModelRecord.settings`)."""
        self.new_index()  # a SEMSEARCH_INDEX this Milvus does not build is refused whether or not one is created
        target = self.resolve() if resolve else self.target
        wanted = ModelRecord(model_id, dim, *prompts, settings=settings)
        if target is None:
            if not create:
                raise CollectionMissing(
                    f"collection {self.collection!r} does not exist yet: ingest some documents first"
                )
            target = self.create(wanted)
            if self.capabilities.aliases:
                self.collections.create_alias(self.collection, target)
        self.target = target
        described = self.collections.describe(self.target, fail_fast=True)
        record = described.record
        if record is not None and (record.model, record.dim) == (model_id, dim) and not record.serves(wanted):
            raise CollectionModelMismatch(
                f"collection {self.collection!r} was built with model {record.model!r} and prompts "
                f"{_prompts(record)}, but the configured prompts are {_prompts(wanted)}. Set SEMSEARCH_QUERY_PROMPT "
                "and SEMSEARCH_DOCUMENT_PROMPT to the collection's, or rebuild it with `semsearch reindex`."
            )
        if record is not None and (record.model != model_id or record.dim != dim):
            raise CollectionModelMismatch(
                f"collection {self.collection!r} was built with model {record.model!r} ({record.dim}-d vectors), "
                f"but the configured model is {model_id!r} ({dim}-d). Use the model it was built with "
                "(SEMSEARCH_MODEL), or another collection (SEMSEARCH_COLLECTION), or switch the collection to "
                "the new model with `semsearch reindex --model NAME` (Milvus server)."
            )
        if load:
            self.load(on_progress)
        else:
            self.loaded = self.collections.is_loaded(self.target)  # new or already loaded: nothing to wait for
        self._scope_tenants(TENANT_FIELD in described.fields)
        self._has_sparse = SPARSE_FIELD in described.fields
        self._has_keyword_text = KEYWORD_FIELD in described.fields
        described_index = self.collections.describe_index(self.target, VECTOR_FIELD)
        self._dense_metric = str(described_index.get("metric_type", DENSE_METRIC))
        self.dense_index = DenseIndex.from_described(described_index, self.index_settings[2])
        keys = keys_collection(self.collection)
        if self.collections.has(keys):  # a restarted server reloads collections in the background, and until it
            self.collections.load(keys)  # has, the small companion's queries fail with "collection not loaded"
            self.refresh_metadata_keys(patient=True)

    def record(self) -> ModelRecord | None:
        """What the collection `collection` names now records (model, prompts, settings); None if it does not
        exist or was not made by semsearch. Read before opening, to open it with what it was built with."""
        target = self.resolve()
        return None if target is None else self.collections.describe(target, fail_fast=True).record

    def saved_default(self, name: str) -> dict[str, Any] | None:
        """A value saved with this collection (`save_default`), None if there is none. Kept with the name users
        configure, not the physical collection, so it survives `semsearch reindex` (`store.saved` says why)."""
        return saved.read_saved(self.milvus, keys_collection(self.collection), name)

    def save_default(self, name: str, value: dict[str, Any] | None) -> None:
        """Save a JSON-able value with this collection for every later `open` (None removes it)."""
        keys = keys_collection(self.collection)
        self.collections.ensure_keys(keys)
        saved.write_saved(self.milvus, keys, name, value)

    def load(self, on_progress: ProgressCallback | None = None) -> None:
        """Load `target` for search; returns once Milvus can search all of it (see `Collections.load`)."""
        self.collections.load(self.target, on_progress)
        self.loaded = True

    def new_index(self) -> DenseIndex:
        """The dense index a collection created now gets (`indexes.choose`); UnsupportedIndex if not offered."""
        return choose(*self.index_settings, backend=self.capabilities.backend)

    def create(self, record: ModelRecord) -> str:
        """Create the physical collection for this model (and the metadata-keys companion); returns its name.
        On a server it is `<collection>__<collection-slug>`, for the alias `collection` to point at."""
        target = physical_name(self.collection, record.model) if self.capabilities.aliases else self.collection
        index = self.new_index()
        # Creating a collection returns once Milvus has loaded it. A server takes 2-3 s for that however empty the
        # collection is (its query coordinator looks once a second), so there the two collections load side by
        # side: a new knowledge base (a vector store, a collection) is ready in half the time. Milvus Lite creates
        # in milliseconds and gets one call at a time.
        with ThreadPoolExecutor(
            max_workers=2 if self.capabilities.backend == "milvus-server" else 1, thread_name_prefix="create"
        ) as pool:
            chunks = pool.submit(self.collections.create_chunks, target, record, index, multi_tenant=self.multi_tenant)
            keys = pool.submit(self.collections.ensure_keys, keys_collection(self.collection))
            for created in (chunks, keys):
                created.result()
        return target

    # -- tenants (`store.tenants`) ---------------------------------------------------------------------------------

    def _scope_tenants(self, multi_tenant: bool) -> None:
        """From now on every data call on a multi-tenant collection goes through the tenant scope, which refuses
        it until a tenant is named (`for_tenant`)."""
        self.multi_tenant = multi_tenant
        if multi_tenant and not isinstance(self.milvus, TenantConnection):
            exempt = [keys_collection(self.collection)]
            self.milvus = TenantConnection(self.milvus, self.collection, None, exempt=exempt)

    def for_tenant(self, tenant: str) -> MilvusStore:
        """This open store confined to one tenant's chunks: every read, write and delete through it sees and
        touches that tenant's only. InvalidTenant if the collection is not multi-tenant or the name is not valid;
        Forbidden from a tenant's view for another tenant."""
        if self.tenant is not None and tenant != self.tenant:
            raise Forbidden(f"this store is confined to tenant {self.tenant!r}, not {tenant!r}")
        if not self.multi_tenant:
            raise InvalidTenant(
                f"collection {self.collection!r} is not multi-tenant, so it takes no tenant ({tenant!r}); "
                "create a collection with SEMSEARCH_MULTI_TENANT=true (`multi_tenant`) to keep tenants apart"
            )
        assert isinstance(self.milvus, TenantConnection)
        view = replace(self, tenant=check_tenant(tenant), owns_connection=False, lite_path=None)
        view.milvus = TenantConnection(self.milvus.inner, self.collection, tenant, exempt=self.milvus.exempt)
        return view

    def tenants(self) -> list[str]:
        """Every tenant that has a document, sorted: a scan of the documents' first chunks of the whole collection
        (one row a document), so it costs what listing every document does. [] for a single-tenant collection."""
        if not self.multi_tenant:
            return []
        heads = self.whole_collection().scan("chunk_index == 0", [TENANT_FIELD], page=ID_PAGE)
        return sorted({row[TENANT_FIELD] for row in heads})

    def _count(self, consistency: str) -> int:
        """Chunks (`count`, `serving_count`); in a multi-tenant collection the tenant's (`for_tenant`), or every
        tenant's from the whole collection's store: a number, not a tenant's content, which /ready and `status`
        report."""
        return ChunkCollection._count(self.whole_collection() if self.tenant is None else self, consistency)

    def count_where(self, expr: str) -> int:
        """Rows matching `expr`, as `count` (every tenant's, for the whole multi-tenant collection)."""
        return ChunkCollection.count_where(self.whole_collection() if self.tenant is None else self, expr)

    def whole_collection(self) -> MilvusStore:
        """Every tenant's chunks, past the tenant scope: only for what is the collection's and no tenant's content
        (`tenants`, counts, which metadata keys some chunk still has). Itself for a single-tenant collection."""
        if not self.multi_tenant:
            return self
        assert isinstance(self.milvus, TenantConnection)
        whole = replace(self, owns_connection=False, lite_path=None, multi_tenant=False, tenant=None)
        whole.milvus = self.milvus.inner
        return whole

    def delete_tenant(self) -> int:
        """Delete every chunk of this store's tenant (`for_tenant`); returns how many there were."""
        if self.tenant is None:
            raise TenantRequired(f"name the tenant whose chunks to delete from {self.collection!r}")
        keys = {key for row in self.scan("", ["metadata"], page=ID_PAGE) for key in row.get("metadata") or {}}
        chunks = self.count()
        self.milvus.write("delete", self.target, filter="", what=f"delete of tenant {self.tenant!r}")
        self.forget_unused_keys(keys)  # those no other tenant's chunk has either
        return chunks


def _prompts(record: ModelRecord) -> str:
    if record.document_prompt is None:
        return "(none recorded: documents embedded without one)"
    return f"query {record.query_prompt!r}, document {record.document_prompt!r}"
