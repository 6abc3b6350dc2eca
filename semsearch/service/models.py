"""The models of one process: each loaded once, however many collections use it.

A model is the largest thing a knowledge base holds in memory (all-MiniLM-L6-v2 is ~90 MB of weights, and torch or
ONNX Runtime around it), while a collection's own state is a Milvus connection. So a service of a hundred
collections built with one model loads it once; collections with other prompts share its weights too, since the
prompts are only text put before each input (`dataclasses.replace` of the `Embedder` keeps its model).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from semsearch import prompts as model_prompts
from semsearch.embedder import Embedder, resolve_model_path
from semsearch.errors import Refused
from semsearch.observe import unwrapped
from semsearch.settings import Settings


class ModelNotInstalled(Refused):
    """A new collection names a model this machine does not have."""


#: What makes two loads of a model the same load: its name, where it runs, and its ONNX cache.
ModelKey = tuple[str, str, str | None, str]


def check_installed(model: str) -> None:
    """Refuse (ModelNotInstalled) a model that is neither a local directory, the shipped default, nor in the
    Hugging Face cache: nothing is downloaded at run time, and asking the hub for it would hold a request for
    minutes before failing."""
    path = resolve_model_path(model)
    if Path(path).expanduser().is_dir():
        return
    from huggingface_hub import try_to_load_from_cache

    repo = model if "/" in model else f"sentence-transformers/{model}"
    try:
        cached = try_to_load_from_cache(repo, "config.json")
    except ValueError:  # not a repository id at all
        cached = None
    if not isinstance(cached, str):
        raise ModelNotInstalled(
            f"model {model!r} is not installed here: name a local directory of a sentence-transformers model, or one "
            "in the Hugging Face cache (nothing is downloaded at run time)"
        )


def model_key(settings: Settings) -> ModelKey:
    return (settings.model, settings.backend, settings.device, str(settings.model_cache_dir))


class ModelRegistry:
    """Loaded models by `model_key`; `loads` counts the loads each key took (1, or 0 for an adopted model)."""

    def __init__(self) -> None:
        self._models: dict[ModelKey, Embedder] = {}
        self._loading: dict[ModelKey, threading.Lock] = {}
        self._lock = threading.Lock()
        self.loads: Counter[ModelKey] = Counter()

    def adopt(self, embedder: Any, settings: Settings) -> None:
        """Share a model loaded elsewhere (the API's default collection's) under the key of the `settings` that
        loaded it."""
        with self._lock:
            self._models.setdefault(model_key(settings), unwrapped(embedder))

    def embedder(self, settings: Settings) -> Embedder:
        """The model `settings` name, loaded on the first call for its key (one load at a time per key: a second
        collection asking meanwhile waits for the first load instead of starting its own), with the prompts
        `settings` resolve to."""
        key = model_key(settings)
        with self._lock:
            lock = self._loading.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                base = self._models.get(key)
            if base is None:
                base = Embedder.load(settings)
                with self._lock:
                    self._models[key] = base
                    self.loads[key] += 1
        path = resolve_model_path(settings.model)
        wanted = model_prompts.resolve(path, settings.query_prompt, settings.document_prompt)
        return base if wanted == base.prompts else dataclasses.replace(base, prompts=wanted)

    def loaded(self) -> list[str]:
        """The names of the models in memory."""
        with self._lock:
            return sorted({key[0] for key in self._models})
