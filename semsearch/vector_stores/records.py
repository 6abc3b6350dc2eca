"""What a vector store knows beyond its collection: its name, metadata, files (with their status and attributes)
and file batches, kept in one JSON file (`vector_stores.json` in the files folder).

A vector store IS a collection (`semsearch.Service`): whether it exists, its chunks and its chunking are the
collection's. Its name and metadata can change (`POST /v1/vector_stores/{id}`), which a collection's recorded
description cannot on Milvus Lite, so they live here, with the per-file records OpenAI's API reports (status,
`last_error`, attributes, when it was attached) that Milvus has no place for. A record whose collection is gone is
dropped when it is next read.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from semsearch.file_store import write_json

FileStatus = Literal["in_progress", "completed", "cancelled", "failed"]
Attributes = dict[str, str | int | float | bool]
REGISTRY_NAME = "vector_stores.json"


@dataclass
class StoreFile:
    """A file attached to a vector store. `id` is the file's id, which is also its document id in the collection
    (a table's rows are `<id>:<row>`, with the file's id as their source). `last_error` is OpenAI's
    `{"code", "message"}`; `job_id` the job that reads it (`semsearch.uploads.jobs`)."""

    id: str
    filename: str
    created_at: int
    usage_bytes: int
    attributes: Attributes = field(default_factory=dict)
    status: FileStatus = "in_progress"
    last_error: dict[str, str] | None = None
    job_id: str | None = None
    batch_id: str | None = None

    def fail(self, code: str, message: str, status: FileStatus = "failed") -> None:
        self.status, self.last_error = status, {"code": code, "message": message}


@dataclass
class Batch:
    """Files attached together; `cancelled` once a cancel was asked (the files not read by then are cancelled)."""

    id: str
    created_at: int
    file_ids: list[str]
    cancelled: bool = False


@dataclass
class VectorStoreRecord:
    id: str
    name: str
    created_at: int
    metadata: dict[str, str] = field(default_factory=dict)
    expires_after: dict[str, Any] | None = None
    last_active_at: int | None = None
    files: dict[str, StoreFile] = field(default_factory=dict)
    batches: dict[str, Batch] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VectorStoreRecord:
        files = {k: StoreFile(**v) for k, v in data.get("files", {}).items()}
        batches = {k: Batch(**v) for k, v in data.get("batches", {}).items()}
        return cls(**{**data, "files": files, "batches": batches})


class Registry:
    """Every vector store's record, by id, read from `path` on first use and written back whole after each change
    (`changing`). One lock: records are small and changes rare next to embedding."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._records: dict[str, VectorStoreRecord] | None = None

    @contextmanager
    def changing(self) -> Iterator[dict[str, VectorStoreRecord]]:
        """The records, locked; written back when the block ends without an error."""
        with self._lock:
            records = self._loaded()
            yield records
            self.save()

    @contextmanager
    def reading(self) -> Iterator[dict[str, VectorStoreRecord]]:
        """The records, locked; a change made in the block is written only if the block calls `save`."""
        with self._lock:
            yield self._loaded()

    def save(self) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_json(self.path, {k: asdict(v) for k, v in self._loaded().items()})

    def _loaded(self) -> dict[str, VectorStoreRecord]:
        if self._records is None:
            data = json.loads(self.path.read_text()) if self.path.exists() else {}
            self._records = {k: VectorStoreRecord.from_dict(v) for k, v in data.items()}
        return self._records
