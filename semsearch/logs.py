"""Library log levels every door sets: the doors report failures themselves, once, in their own words."""

from __future__ import annotations

import logging
import os

#: Libraries that log every failed call with a traceback (pymilvus at ERROR) or chatter at start-up.
NOISY_LIBRARIES = ("pymilvus", "milvus_lite", "transformers", "sentence_transformers", "pypdf")


def quiet_libraries() -> None:
    """Silence the libraries' own logging: a Milvus failure reaches the user as one message from the door."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.CRITICAL)
