"""The Milvus store: the only package that talks to pymilvus.

It presents a few verbs over one chunk collection, so the same code runs on Milvus Lite (a local `.db`) and on a
Milvus server (a URI), and so that every Milvus call follows one timeout and retry policy (`milvus_calls`).
"""

import os

# gRPC's C core reads its log level once, when pymilvus first imports it (below), and writes to stderr by itself:
# e.g. `too_many_pings` when a server rejects the client's keepalive pings, which the client survives by
# reconnecting. The store turns every failure into one engine error, so these lines are noise; a user's own
# GRPC_VERBOSITY still wins. (semsearch/logs.py handles the Python side.)
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

from semsearch.store.capabilities import Capabilities
from semsearch.store.chunks import Hit
from semsearch.store.loading import LoadProgress, ProgressCallback
from semsearch.store.milvus_store import MilvusStore

#: The Milvus client libraries' loggers: they log every failed call with a traceback at ERROR, while the store
#: turns each failure into one engine error that the doors report themselves.
MILVUS_LOGGERS = ("pymilvus", "milvus_lite")

__all__ = ["MILVUS_LOGGERS", "Capabilities", "Hit", "LoadProgress", "MilvusStore", "ProgressCallback"]
