"""Where an ingest goes: straight into Milvus through the engine (`EngineSink`: the pipeline reads the files and
hands it documents), or to a running API that reads the files itself (a `FileSink`: `ingest.api_sink.ApiSink`,
for `semsearch ingest --api`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from semsearch.engine import Engine
from semsearch.indexer import Document, IndexPlan, IndexStats
from semsearch.store.documents import prefix_expr

if TYPE_CHECKING:
    from ingest.loaders import TableOptions
    from ingest.pipeline import IngestReport


class Sink(Protocol):
    """Three steps the ingest pipeline runs in separate threads: `prepare` (chunk, compare; no writes, may raise
    DocumentRejected), `embed` (the model, several prepared batches at once) and `write` (may raise
    DocumentRejected too, e.g. when an API refuses the batch)."""

    def prepare(self, docs: list[Document]) -> Any: ...

    def embed(self, batches: list[Any]) -> None: ...

    def write(self, batch: Any) -> IndexStats: ...

    def prune_source(self, source: str, keep: set[str]) -> int:
        """Delete the documents of `source` that are not in `keep` (rows removed from a table)."""
        ...

    def documents_under(self, prefix: str) -> Iterator[tuple[str, str]]:
        """(doc_id, source) of every stored document whose source starts with `prefix`, read page by page."""
        ...

    def remove(self, doc_ids: list[str]) -> int:
        """Delete these documents; returns the chunks deleted."""
        ...


class EngineSink:
    def __init__(self, engine: Engine) -> None:
        self.indexer = engine.indexer
        self.store = engine.store

    def prepare(self, docs: list[Document]) -> IndexPlan:
        return self.indexer.plan(docs)

    def embed(self, batches: list[IndexPlan]) -> None:
        self.indexer.embed(batches)

    def write(self, batch: IndexPlan) -> IndexStats:
        return self.indexer.write(batch)

    def prune_source(self, source: str, keep: set[str]) -> int:
        gone = self.store.doc_ids_for_source(source) - keep
        return self.store.delete_documents(sorted(gone)) if gone else 0

    def documents_under(self, prefix: str) -> Iterator[tuple[str, str]]:
        for row in self.store.document_heads(prefix_expr("source", prefix), ["doc_id", "source"]):
            yield row["doc_id"], row["source"]

    def remove(self, doc_ids: list[str]) -> int:
        return self.store.delete_documents(doc_ids)


@runtime_checkable
class FileSink(Protocol):
    """A sink that takes files, not documents: it reads them itself (a running API, through `POST /files`), so
    the pipeline hands it the files as they are. Listing and removing serve pruning, as for a `Sink`."""

    def send_files(
        self, files: list[Path], table: TableOptions, on_file: Callable[[Path, IngestReport], None] | None
    ) -> IngestReport: ...

    def documents_under(self, prefix: str) -> Iterator[tuple[str, str]]: ...

    def remove(self, doc_ids: list[str]) -> int: ...
