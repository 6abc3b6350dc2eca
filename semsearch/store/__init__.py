"""The Milvus store: the only package that talks to pymilvus.

It presents a few verbs over one chunk collection, so the same code runs on Milvus Lite (a local `.db`) and on a
Milvus server (a URI), and so that every Milvus call follows one timeout and retry policy (`milvus_calls`).
"""

from semsearch.store.capabilities import Capabilities
from semsearch.store.chunks import Hit
from semsearch.store.loading import LoadProgress, ProgressCallback
from semsearch.store.milvus_store import MilvusStore

#: The Milvus client libraries' loggers: they log every failed call with a traceback at ERROR, while the store
#: turns each failure into one engine error that the doors report themselves.
MILVUS_LOGGERS = ("pymilvus", "milvus_lite")

__all__ = ["MILVUS_LOGGERS", "Capabilities", "Hit", "LoadProgress", "MilvusStore", "ProgressCallback"]
