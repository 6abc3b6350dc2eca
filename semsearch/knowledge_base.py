"""`KnowledgeBase`: the product as one object with verbs, for Python callers and for the doors.

The HTTP routes, MCP tools and CLI commands are thin callers of these verbs, so that every door answers a
question in the same way and with the same shape (`semsearch.answers`). The engine parts underneath (`Indexer`,
`Searcher`, `MilvusStore`) hold the algorithms; this facade holds none.

Layers: doors → knowledge base (this module) → readers (`ingest/`: files → documents) and engine → store. The
readers are a plain dependency of the knowledge base, so a local ingest, `add_files` and an HTTP upload
(`semsearch.uploads`) read a file through the same code; the engine itself imports no reader.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from ingest.loaders import TableOptions
from ingest.pipeline import IngestReport, ingest_files
from ingest.sinks import EngineSink
from ingest.sources import discover
from ingest.sync import sync_selection
from ingest.tags import checked
from semsearch import documents as stored
from semsearch import queries, transfer
from semsearch.answers import ContextAnswer, SearchAnswer
from semsearch.context import pack
from semsearch.documents import DocumentDetail, DocumentInfo, DocumentPage, Removal
from semsearch.engine import Engine
from semsearch.errors import DocumentRejected, InvalidRequest
from semsearch.indexer import Document, IndexStats, validate_batch
from semsearch.ranking import Fusion, Mode
from semsearch.searcher import SearchOptions
from semsearch.settings import Settings
from semsearch.store import ProgressCallback
from semsearch.transfer import TransferReport

#: Documents per indexing call of `add`: the ingest pipeline's batch size, so the model sorts and pads alike.
ADD_BATCH = 128


def open_settings(target: str | Path | Settings | None = None, **overrides: Any) -> Settings:
    """Settings for `target` (a Milvus Lite `.db` path, a server URI, or Settings), the environment beneath."""
    if isinstance(target, Settings):
        return target.model_copy(update=overrides) if overrides else target
    if target is not None:
        overrides["milvus_uri"] = str(target)
    return Settings(**overrides)


class KnowledgeBase:
    """A collection of documents you can add to, search and cite, on Milvus Lite or a Milvus server.

    Open one with `semsearch.open(...)`; use it as a context manager (or call `close()`): a Milvus Lite `.db`
    is held by one process while it is open. Errors are `semsearch.errors` families: `Refused` (your input),
    `Unavailable` (Milvus, the collection, the model), `NotFound`.
    """

    def __init__(self, engine: Engine, *, owned: bool = True, owner: Engine | None = None) -> None:
        self.engine = engine
        #: False for a knowledge base lent by a `Service`, which closes it itself: `close()` then does nothing.
        self.owned = owned
        #: What `close` closes: the engine itself, or the whole collection's engine behind a tenant's (`open`).
        self._owner = owner or engine

    @classmethod
    def open(
        cls,
        target: str | Path | Settings | None = None,
        *,
        create: bool = True,
        on_progress: ProgressCallback | None = None,
        keep: Iterable[str] = (),
        **settings: Any,
    ) -> KnowledgeBase:
        """Open (with `create`, make) the collection at `target`; keyword arguments are `Settings` fields
        (`collection=`, `model=`, ...), overriding the `SEMSEARCH_*` environment. Opening waits for the collection
        to load, however long that takes (minutes at a million chunks): `on_progress` hears each step and
        Milvus's load progress (`LoadProgress`), e.g. for a spinner. With `tenant=` (SEMSEARCH_TENANT) it is that
        tenant's knowledge base (`for_tenant`).

        An existing collection opens with the model, prompts and settings it was created with
        (`semsearch.collection_settings`), whatever the environment says; a keyword argument here wins (another
        `model=` than the collection's is refused, `chunk_tokens=` applies to this knowledge base's writes), and so
        do the settings `keep` names (the command line's options, in a `target` Settings). For
        several collections in one process, use `semsearch.Service`: it loads each model once for all of them."""
        keep = {*keep, *settings}
        wanted = open_settings(target, **settings)
        opened = Engine.open(wanted, create=create, on_progress=on_progress, recorded=True, keep=keep)
        if wanted.tenant is None:
            return cls(opened)
        try:
            return cls(opened.for_tenant(wanted.tenant), owner=opened)
        except BaseException:
            opened.close()
            raise

    @property
    def settings(self) -> Settings:
        return self.engine.settings

    # -- writes ---------------------------------------------------------------------------------------------------

    def add(self, documents: Iterable[Document | Mapping[str, Any]]) -> IndexStats:
        """Chunk, embed and store documents (`Document`s or mappings with `id`, `text`, optional `source` and
        `metadata`). Unchanged chunks are not embedded again; a document sent again replaces its old chunks. Every
        document is checked before any is stored; for a corpus too large to hold in memory, use `add_files` or call
        `add` once per part."""
        docs = [item if isinstance(item, Document) else _document(item) for item in documents]
        validate_batch(docs)  # all refused before any is written, as one request of the API is
        stats = IndexStats()
        for start in range(0, len(docs), ADD_BATCH):
            stats.add(self.engine.indexer.index(docs[start : start + ADD_BATCH]))
        return stats

    def add_files(
        self,
        paths: Sequence[str | Path],
        *,
        text_column: str | None = None,
        id_column: str | None = None,
        metadata_columns: Sequence[str] | None = None,
        base: str | Path | None = None,
        prune: bool = True,
        metadata: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        on_file: Callable[[Path, IngestReport], None] | None = None,
    ) -> IngestReport:
        """Ingest files, directories (recursive) and globs as `semsearch ingest` does; a file that cannot be read
        is reported in the result's `failures` while the rest goes in; one read with a problem to fix (a broken
        front-matter block) in its `warnings`. File ids are relative to `base` (default
        `Settings.base`, else the file's git work tree, else absolute; see `ingest.sources.source_id`). With `prune`,
        documents an earlier ingest took from under a directory or glob given here whose files are gone are
        removed (`removed_documents`). `metadata` tags every document of the run (over its own); `exclude` are
        gitignore-style patterns to leave out, as `.gitignore` files under a directory are; what is left out is
        pruned too. Raises `Refused` for a path that matches nothing or a metadata key that cannot be stored."""
        args = [str(path) for path in paths]
        table = TableOptions.of(self.settings, text_column, id_column, metadata_columns, checked(metadata), base)
        sink = EngineSink(self.engine)
        return sync_selection(args, discover(args, exclude=exclude), sink, table, prune_missing=prune, on_file=on_file)

    def add_named_files(
        self,
        files: Mapping[Path, str],
        *,
        text_column: str | None = None,
        id_column: str | None = None,
        metadata_columns: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        on_file: Callable[[Path, IngestReport], None] | None = None,
    ) -> IngestReport:
        """Ingest files (path → id) under the ids given, not ids made from their paths: what an upload does
        (`semsearch.uploads`), whose files sit in a temporary folder. Read as `add_files` reads them, by the same
        readers and checks; nothing is pruned but the rows gone from a table read again. A file that cannot be
        read is in the result's `failures`."""
        table = TableOptions.of(self.settings, text_column, id_column, metadata_columns, checked(metadata))
        table = replace(table, file_ids=dict(files))
        return ingest_files(list(files), EngineSink(self.engine), table, on_file=on_file)

    def delete(self, *doc_ids: str | Iterable[str]) -> int:
        """Remove every chunk of these documents; returns the number of chunks removed (0: none existed).

        Ids as `add` takes documents, in a list (`delete(["a", "b"])`), or one by one (`delete("a", "b")`)."""
        ids = [doc_id for item in doc_ids for doc_id in ((item,) if isinstance(item, str) else item)]
        if not all(isinstance(doc_id, str) for doc_id in ids):
            raise InvalidRequest(f"document ids must be strings, got {ids!r}")
        return self.engine.indexer.delete_documents(ids)

    def delete_file(self, file_id: str) -> int:
        """Remove a file's documents: the one with this id and, for a table, every row read from it (their source is
        the file's id). Returns the chunks removed (0: no such file; an id with a line break or NUL never is one:
        the store's id lookups leave such ids out, `semsearch.filters.in_list`)."""
        doc_ids = sorted(self.engine.store.doc_ids_for_source(file_id) | {file_id})
        batch = stored.DOCUMENT_BATCH
        return sum(self.delete(*doc_ids[start : start + batch]) for start in range(0, len(doc_ids), batch))

    def delete_where(
        self,
        *,
        doc_ids: Sequence[str] = (),
        source_prefix: str | None = None,
        filter: Mapping[str, Any] | None = None,
        all: bool = False,
    ) -> Removal:
        """Delete the documents named (`missing` lists those not stored), or every document whose source starts
        with `source_prefix` and/or that matches `filter`. A selection matching every document is refused
        (`Refused`) unless `all=True`."""
        return stored.delete_selection(
            self.engine.store, doc_ids=doc_ids, source_prefix=source_prefix, filter=filter, everything=all
        )

    def import_from(self, path: str | Path) -> TransferReport:
        """Load a `semsearch export` file into this collection: with the same model and vectors in the file the
        chunks are written as they are (0 embedded), else each document is rebuilt from its chunks and embedded with
        this collection's model. Upserts only, so running it again after a failure completes it without duplicates.
        Raises `NotAnExport` (a `Refused`) naming the first bad line; what came before it is in."""
        return transfer.import_from(self.engine, Path(path))

    # -- reads ----------------------------------------------------------------------------------------------------

    def documents(
        self, *, source_prefix: str | None = None, filter: Mapping[str, Any] | None = None
    ) -> Iterator[DocumentInfo]:
        """Every stored document (source, title, chunk count, metadata) whose source starts with `source_prefix`
        and that matches `filter`, read in pages (for 100k documents as for ten), in storage order."""
        return stored.every(self.engine.store, stored.selection_expr(self.engine.store, source_prefix, filter))

    def documents_page(
        self,
        *,
        source_prefix: str | None = None,
        filter: Mapping[str, Any] | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> DocumentPage:
        """One page (1..1000) of `documents`; continue with `after=page.next` until it is None (`GET /documents`)."""
        expr = stored.selection_expr(self.engine.store, source_prefix, filter)
        return stored.page(self.engine.store, expr, after, limit)

    def document(self, doc_id: str) -> DocumentDetail:
        """One document as stored: text rebuilt from its chunks, metadata, chunk spans. `DocumentNotFound` if none."""
        return stored.detail(self.engine.store, doc_id)

    def status(self) -> dict[str, Any]:
        """Collection, model, dim, backend and capabilities, documents, chunks, metadata fields, where data lives."""
        return stored.status(self.engine)

    def search(
        self,
        query: str,
        *,
        top_k: int = 10,
        offset: int = 0,
        mode: Mode | str | None = None,
        filter: Mapping[str, Any] | None = None,
        fusion: Fusion | None = None,
        min_score: float | None = None,
        group_by_document: bool = False,
        rerank: bool = False,
    ) -> SearchAnswer:
        """The best chunks for `query`, best first, each with `score` in 0..1 (higher is better).

        `mode`: dense, keyword (BM25) or hybrid (default where the backend has BM25); `filter`: e.g.
        `{"format": "md", "year": {"$gte": 2020}}`; `offset` pages; `group_by_document` keeps each document's best
        chunk; `rerank` reorders with SEMSEARCH_RERANK_MODEL; `fusion` (hybrid) None: the collection's default
        (`engine.default_fusion`: saved by `semsearch eval --tune --save`, else the built-in calibrated 0.8/0.2).
        Arguments out of range (an empty query, `top_k` outside 1..100) raise `InvalidRequest` as `POST /search`
        answers 422 (`semsearch.queries`)."""
        started = time.perf_counter()
        asked = queries.search_request(query=query, top_k=top_k, offset=offset, mode=mode, min_score=min_score)
        options = SearchOptions(
            top_k=asked.top_k,
            offset=asked.offset,
            mode=asked.mode,
            fusion=fusion,
            filters=filter,
            min_score=asked.min_score,
            group_by_document=group_by_document,
            rerank=rerank,
        )
        result = self.engine.searcher.search(query, options)
        return SearchAnswer(query, result.mode, result.hits, _ms_since(started))

    def context(
        self,
        query: str,
        *,
        token_budget: int = 1500,
        candidates: int = 30,
        mode: Mode | str | None = None,
        filter: Mapping[str, Any] | None = None,
        fusion: Fusion | None = None,
        rerank: bool = False,
    ) -> ContextAnswer:
        """RAG context: the best `candidates` chunks merged into passages and packed into `token_budget` tokens
        (counted with the model's tokenizer), as one citable string plus the passages with their sources.
        `rerank` chooses the candidates as `search(rerank=True)` does: the CrossEncoder reorders the first stage's
        top SEMSEARCH_RERANK_CANDIDATES (or `candidates`, if more) and the best `candidates` of those are packed.
        Arguments out of range raise `InvalidRequest` as `POST /context` answers 422."""
        started = time.perf_counter()
        asked = queries.context_request(query=query, token_budget=token_budget, candidates=candidates, mode=mode)
        options = SearchOptions(top_k=asked.candidates, mode=asked.mode, fusion=fusion, filters=filter, rerank=rerank)
        result = self.engine.searcher.search(query, options)
        with self.engine.embedder.borrowed_tokenizer() as tokenizer:
            packed = pack(result.hits, tokenizer, asked.token_budget)
        return ContextAnswer.of(query, result.mode, packed, asked.token_budget, _ms_since(started))

    def export(self, path: str | Path, *, vectors: bool = True) -> TransferReport:
        """Write every chunk (ids, text, offsets, source, metadata, content hash and, with `vectors`, the vector) to
        `path` as JSON Lines behind a header with the model record (`semsearch.transfer`), streamed page by page."""
        return transfer.export(self.engine, Path(path), vectors=vectors)

    def count(self) -> int:
        """Chunks stored, counting every write acknowledged so far (by any process)."""
        return self.engine.store.count()

    # -- tenants (a collection created with `multi_tenant=True`) ----------------------------------------------------

    def for_tenant(self, tenant: str) -> KnowledgeBase:
        """This knowledge base confined to one tenant: every verb on the result (add, search, context, documents,
        delete, export, count) sees and changes that tenant's documents only, and two tenants may use the same
        document ids. The collection must be multi-tenant (`InvalidTenant` otherwise); on one, every verb of the
        whole knowledge base but `count`, `status` and `tenants` raises `TenantRequired`. Cheap: it shares the model
        and the connection, and closing it closes nothing."""
        return KnowledgeBase(self.engine.for_tenant(tenant))

    @property
    def multi_tenant(self) -> bool:
        """Whether the collection keeps tenants apart (then every read and write names one: `for_tenant`)."""
        return self.engine.store.multi_tenant

    @property
    def tenant(self) -> str | None:
        """The tenant this knowledge base is confined to (`for_tenant`); None for the whole collection."""
        return self.engine.tenant

    def tenants(self) -> list[str]:
        """Every tenant with at least one document, sorted ([] for a collection that is not multi-tenant)."""
        return self.engine.store.tenants()

    def delete_tenant(self, tenant: str) -> int:
        """Delete every document of `tenant`; returns how many chunks it had (0: none)."""
        return self.engine.for_tenant(tenant).store.delete_tenant()

    # -- lifetime -------------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Release Milvus (and a Lite `.db`, for another process to open) and the query batcher; nothing for a
        knowledge base a `Service` lent (closing the service closes it) or one from `for_tenant` (the one it came
        from does); one from `open(tenant=...)` closes all."""
        if self.owned:
            self._owner.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KnowledgeBase({self.settings.milvus_uri!r}, collection={self.engine.store.collection!r})"


def _document(item: Mapping[str, Any]) -> Document:
    unknown = set(item) - {"id", "text", "source", "metadata"}
    if unknown or "id" not in item or "text" not in item:
        raise DocumentRejected(
            f"a document is a mapping with 'id' and 'text' (and optional 'source', 'metadata'); got keys {sorted(item)}"
        )
    return Document(
        id=item["id"], text=item["text"], source=item.get("source", "api"), metadata=dict(item.get("metadata") or {})
    )


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
