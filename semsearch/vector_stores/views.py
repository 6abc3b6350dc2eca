"""What the vector store verbs answer (`semsearch.vector_stores.VectorStores`), and the errors they raise."""

from __future__ import annotations

from dataclasses import dataclass

from semsearch.errors import NotFound, Refused
from semsearch.store import Hit
from semsearch.vector_stores.records import StoreFile, VectorStoreRecord


class VectorStoreNotFound(NotFound):
    """No vector store has this id (never created, or deleted)."""


class ChunkingRefused(Refused):
    """A chunking strategy this vector store cannot honour (it chunks every file alike, as created)."""


@dataclass(frozen=True)
class Chunking:
    """Chunk size and overlap in tokens, as OpenAI's static strategy gives them; the engine caps the size at the
    model's window and the overlap at half the size."""

    max_tokens: int
    overlap: int


@dataclass
class StoreView:
    """A vector store as `retrieve` answers it: its record, file counts, status, bytes used and chunking."""

    record: VectorStoreRecord
    file_counts: dict[str, int]
    status: str
    usage_bytes: int
    chunking: Chunking

    @property
    def id(self) -> str:
        return self.record.id


@dataclass
class Found:
    """One search result: the chunk, and the file it belongs to."""

    hit: Hit
    file: StoreFile
