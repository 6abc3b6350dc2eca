"""The shared engine: settings, embedder, chunking and the Milvus store.

`ingest/` (the write door) and `search_api/` (the read door) both build on this package; it imports neither.
"""
