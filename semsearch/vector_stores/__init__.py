"""OpenAI's vector stores on this product's collections: `VectorStores` (the verbs), the `Registry` of what a vector
store records beyond its collection, and how its files are read (`reading`)."""

from semsearch.vector_stores.records import Attributes, Batch, Registry, StoreFile, VectorStoreRecord
from semsearch.vector_stores.stores import VectorStores
from semsearch.vector_stores.views import Chunking, ChunkingRefused, Found, StoreView, VectorStoreNotFound

__all__ = [
    "Attributes",
    "Batch",
    "Chunking",
    "ChunkingRefused",
    "Found",
    "Registry",
    "StoreFile",
    "StoreView",
    "VectorStoreNotFound",
    "VectorStoreRecord",
    "VectorStores",
]
