"""Library log levels every door sets: the doors report failures themselves, once, in their own words."""

from __future__ import annotations

import logging
import os

from semsearch.store import MILVUS_LOGGERS

#: Libraries that log every failed call with a traceback (the Milvus client) or chatter at start-up.
NOISY_LIBRARIES = (*MILVUS_LOGGERS, "transformers", "sentence_transformers", "pypdf")


def quiet_libraries() -> None:
    """Silence the libraries' own logging: a Milvus failure reaches the user as one message from the door."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.CRITICAL)
