"""`VectorStores`: OpenAI's vector stores as this product's collections, with their files, batches and search.

    stores = VectorStores.of(service, FileStore.of(settings), queue, settings)
    view = stores.create(name="handbook", file_ids=["file-..."])      # a new collection `vs_<hex>`
    stores.attach(view.id, "file-...", {"year": 2024})                 # read in a job; attributes filterable
    stores.search(view.id, "parental leave", top_k=5, filter={"year": {"$gte": 2020}})

A vector store is a collection created through `Service` (its chunking is the collection's recorded chunk size);
its name, metadata and file records are the `Registry`'s. Files are read by the one upload path (`reading`), into
documents whose id is the file id. The door (`search_api/routes/openai_*.py`) turns OpenAI's shapes into these
verbs and back.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Sequence
from typing import Any

from semsearch.errors import CollectionNotFound, NotFound
from semsearch.file_store import FileStore
from semsearch.knowledge_base import KnowledgeBase
from semsearch.service import Service
from semsearch.settings import Settings
from semsearch.store.catalog import NAME_PATTERN
from semsearch.uploads import JobNotFound, JobQueue
from semsearch.vector_stores import reading
from semsearch.vector_stores.records import (
    REGISTRY_NAME,
    Attributes,
    Batch,
    FileStatus,
    Registry,
    StoreFile,
    VectorStoreRecord,
)
from semsearch.vector_stores.views import Chunking, ChunkingRefused, Found, StoreView, VectorStoreNotFound

PREFIX = "vs_"
#: Documents of one file whose text `content` returns (a table is one document per row).
CONTENT_MAX_DOCUMENTS = 1000


class VectorStores:
    def __init__(self, service: Service, files: FileStore, queue: JobQueue, registry: Registry) -> None:
        self.service = service
        self.files = files
        self.queue = queue
        self.registry = registry

    @classmethod
    def of(cls, service: Service, files: FileStore, queue: JobQueue, settings: Settings) -> VectorStores:
        return cls(service, files, queue, Registry(settings.files_folder / REGISTRY_NAME))

    # -- vector stores ----------------------------------------------------------------------------------------------

    def create(
        self,
        *,
        name: str | None = None,
        metadata: dict[str, str] | None = None,
        file_ids: Sequence[str] = (),
        chunking: Chunking | None = None,
        expires_after: dict[str, Any] | None = None,
    ) -> StoreView:
        """A new vector store (a collection with `chunking`, else the service's chunk size), its files queued."""
        for file_id in file_ids:
            self.files.get(file_id)  # an unknown file refuses the request before anything is made
        vs_id = f"{PREFIX}{uuid.uuid4().hex}"
        chosen = {"chunk_tokens": chunking.max_tokens, "chunk_overlap": chunking.overlap} if chunking else {}
        self.service.create(vs_id, **chosen)
        now = int(time.time())
        with self.registry.changing() as records:
            records[vs_id] = VectorStoreRecord(vs_id, name or "", now, dict(metadata or {}), expires_after, now)
        if file_ids:
            self._attach(vs_id, [(file_id, {}) for file_id in dict.fromkeys(file_ids)], None)
        return self.get(vs_id)

    def list(self) -> list[StoreView]:
        """Every vector store, oldest first (records whose collection is gone are forgotten)."""
        names = {name for name in self.service.names() if name.startswith(PREFIX)}
        with self.registry.reading() as records:
            gone = set(records) - names
            for vs_id in gone:
                del records[vs_id]
            if gone:
                self.registry.save()
        views = [self.get(vs_id) for vs_id in names]
        return sorted(views, key=lambda view: (view.record.created_at, view.id))

    def get(self, vs_id: str) -> StoreView:
        record = self._record(vs_id)
        stored = self.service.catalog.find(vs_id)
        if stored is None:
            self._forget(vs_id)
            raise VectorStoreNotFound(f"no vector store with id {vs_id!r}")
        settings = self.service.settings_for(stored)
        files = self._settled(record)
        in_progress = any(f.status == "in_progress" for f in files)
        return StoreView(
            record,
            reading.counts(files),
            "in_progress" if in_progress else "completed",
            sum(f.usage_bytes for f in files),
            Chunking(settings.chunk_tokens, settings.chunk_overlap),
        )

    def update(
        self,
        vs_id: str,
        *,
        name: str | None = None,
        metadata: dict[str, str] | None = None,
        expires_after: dict[str, Any] | None = None,
    ) -> StoreView:
        """Change what is given (None: kept); metadata is replaced whole, as OpenAI does."""
        self._record(vs_id)
        with self.registry.changing() as records:
            record = records[vs_id]
            record.name = name if name is not None else record.name
            record.metadata = dict(metadata) if metadata is not None else record.metadata
            record.expires_after = expires_after if expires_after is not None else record.expires_after
            record.last_active_at = int(time.time())
        return self.get(vs_id)

    def delete(self, vs_id: str) -> None:
        """Drop the vector store's collection (every chunk) and its record; its jobs not finished are cancelled."""
        record = self._record(vs_id)
        for file in record.files.values():
            self._cancel(file, "the vector store was deleted", whole_job=True)  # its jobs read only its files
        with contextlib.suppress(CollectionNotFound):  # dropped another way meanwhile: gone is what was asked
            self.service.drop(vs_id)
        self._forget(vs_id)

    # -- files ------------------------------------------------------------------------------------------------------

    def attach(
        self, vs_id: str, file_id: str, attributes: Attributes | None = None, chunking: Chunking | None = None
    ) -> StoreFile:
        """Attach a kept file: read it in a job (status in_progress, then completed or failed with `last_error`)."""
        self.check_chunking(vs_id, chunking)
        self._attach(vs_id, [(file_id, dict(attributes or {}))], None)
        return self.file(vs_id, file_id)

    def attached(self, vs_id: str, status: FileStatus | None = None) -> list[StoreFile]:
        """The vector store's files (with `status`, those in it), in the order they were attached."""
        files = self._settled(self._record(vs_id))
        return [f for f in files if status is None or f.status == status]

    def file(self, vs_id: str, file_id: str) -> StoreFile:
        record = self._record(vs_id)
        found = record.files.get(file_id)
        if found is None:
            raise NotFound(f"vector store {vs_id!r} has no file {file_id!r}")
        self._settled(record)
        return found

    def set_attributes(self, vs_id: str, file_id: str, attributes: Attributes) -> StoreFile:
        """Replace a file's attributes: it is read again with them (nothing is embedded again: same chunks)."""
        self.file(vs_id, file_id)
        self.files.get(file_id)  # it must still be kept, to be read again
        self._attach(vs_id, [(file_id, dict(attributes))], None)
        return self.file(vs_id, file_id)

    def detach(self, vs_id: str, file_id: str) -> int:
        """Remove a file from the vector store and its chunks from the collection; returns the chunks removed."""
        found = self.file(vs_id, file_id)
        self._cancel(found, "the file was removed from the vector store")
        with self.queue.write_lock:
            removed = self._kb(vs_id).delete_file(file_id)
        with self.registry.changing() as records:
            records[vs_id].files.pop(file_id, None)
        return removed

    def content(self, vs_id: str, file_id: str) -> list[str]:
        """The file's text as stored (rebuilt from its chunks): one string per document (a table: per row)."""
        self.file(vs_id, file_id)
        kb = self._kb(vs_id)
        texts = []
        for number, info in enumerate(kb.documents(filter={"source": file_id})):
            if number == CONTENT_MAX_DOCUMENTS:
                break
            texts.append(kb.document(info.doc_id).text)
        return texts

    def check_chunking(self, vs_id: str, chunking: Chunking | None) -> None:
        """Refuse a file's own chunking unless it is the vector store's: one collection chunks all alike."""
        if chunking is None:
            return
        current = self.get(vs_id).chunking
        if chunking != current:
            raise ChunkingRefused(
                f"vector store {vs_id!r} chunks every file with max_chunk_size_tokens={current.max_tokens}, "
                f"chunk_overlap_tokens={current.overlap} (set when it was created); leave chunking_strategy out or "
                "give those values"
            )

    # -- batches ----------------------------------------------------------------------------------------------------

    def create_batch(self, vs_id: str, files: Sequence[tuple[str, Attributes]]) -> Batch:
        self._record(vs_id)
        wanted = list(dict(files).items())
        batch = Batch(f"vsfb_{uuid.uuid4().hex}", int(time.time()), [file_id for file_id, _ in wanted])
        with self.registry.changing() as records:
            records[vs_id].batches[batch.id] = batch
        self._attach(vs_id, wanted, batch.id)
        return batch

    def batch(self, vs_id: str, batch_id: str) -> tuple[Batch, list[StoreFile]]:
        """The batch and its files (those still attached through it)."""
        record = self._record(vs_id)
        batch = record.batches.get(batch_id)
        if batch is None:
            raise NotFound(f"vector store {vs_id!r} has no file batch {batch_id!r}")
        files = [f for f in self._settled(record) if f.batch_id == batch_id]
        return batch, files

    def cancel_batch(self, vs_id: str, batch_id: str) -> tuple[Batch, list[StoreFile]]:
        batch, files = self.batch(vs_id, batch_id)
        for file in files:
            self._cancel(file, "the file batch was cancelled", whole_job=True)  # its jobs read only its files
        with self.registry.changing():
            batch.cancelled = True
        return self.batch(vs_id, batch_id)

    # -- search -----------------------------------------------------------------------------------------------------

    def search(
        self,
        vs_id: str,
        query: str,
        *,
        top_k: int = 10,
        mode: str | None = None,
        filter: dict[str, Any] | None = None,
        min_score: float | None = None,
    ) -> tuple[list[Found], bool]:
        """The best chunks of the vector store's files for `query`, and whether more than `top_k` matched. Chunks of
        a file no longer attached (removed while its job ran) are left out."""
        record = self._record(vs_id)
        answer = self._kb(vs_id).search(query, top_k=top_k + 1, mode=mode, filter=filter, min_score=min_score)
        found = [Found(hit, record.files[hit.source]) for hit in answer.results if hit.source in record.files]
        record.last_active_at = int(time.time())
        return found[:top_k], len(found) > top_k

    # -- inside -----------------------------------------------------------------------------------------------------

    def _record(self, vs_id: str) -> VectorStoreRecord:
        """The vector store's record; one made for a `vs_` collection created another way (`/collections`)."""
        if not vs_id.startswith(PREFIX) or not NAME_PATTERN.fullmatch(vs_id):
            raise VectorStoreNotFound(f"no vector store with id {vs_id!r}")
        with self.registry.reading() as records:
            record = records.get(vs_id)
        if record is not None:
            return record
        if self.service.catalog.find(vs_id) is None:
            raise VectorStoreNotFound(f"no vector store with id {vs_id!r}")
        with self.registry.changing() as records:
            return records.setdefault(vs_id, VectorStoreRecord(vs_id, "", 0))

    def _kb(self, vs_id: str) -> KnowledgeBase:
        try:
            return self.service.open(vs_id)
        except CollectionNotFound as exc:
            self._forget(vs_id)
            raise VectorStoreNotFound(f"no vector store with id {vs_id!r}") from exc

    def _forget(self, vs_id: str) -> None:
        with self.registry.changing() as records:
            records.pop(vs_id, None)

    def _settled(self, record: VectorStoreRecord) -> list[StoreFile]:
        with self.registry.reading():
            files = list(record.files.values())
            if reading.settle(files, self.queue, lambda file_id: self._stored(record.id, file_id)):
                self.registry.save()
        return files

    def _stored(self, vs_id: str, file_id: str) -> bool:
        """Whether the vector store holds any chunk of the file (asked only for a job lost in a restart)."""
        return next(iter(self._kb(vs_id).documents(filter={"source": file_id})), None) is not None

    def _attach(self, vs_id: str, wanted: Sequence[tuple[str, Attributes]], batch_id: str | None) -> None:
        kept = [(self.files.get(file_id), attributes) for file_id, attributes in wanted]
        kb = self._kb(vs_id)
        now = int(time.time())
        attached = [
            StoreFile(stored.id, stored.filename, now, stored.bytes, dict(attributes), batch_id=batch_id)
            for stored, attributes in kept
        ]
        reading.submit(kb, self.files, self.queue, attached)
        with self.registry.changing() as records:
            record = records[vs_id]
            for file in attached:
                record.files.pop(file.id, None)  # attached again: it moves to the end
                record.files[file.id] = file
            record.last_active_at = now

    def _cancel(self, file: StoreFile, reason: str, whole_job: bool = False) -> None:
        """Stop the job reading `file` if it reads nothing else, or `whole_job` (else it is left to finish)."""
        if file.status != "in_progress" or file.job_id is None:
            return
        try:
            job = self.queue.get(file.job_id)
        except JobNotFound:
            return
        if whole_job or all(state.doc_id == file.id for state in job.files):
            self.queue.cancel(job.id, reason)
