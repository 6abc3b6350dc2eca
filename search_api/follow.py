"""A running API follows `semsearch reindex`: when the collection's alias moves to a collection built with another
model, it opens that collection with that model and swaps the engine for the next requests. Each check also reads
the collection's saved default fusion again, so a `semsearch eval --tune --save` reaches a running API.

The engine a request got stays whole for that request (store and model always match); the old engine is closed a
while later, once its in-flight requests are done. Milvus Lite has no aliases, so nothing is followed there.
"""

from __future__ import annotations

import logging
import threading
import time

from fastapi import FastAPI

from semsearch.engine import Engine
from semsearch.errors import SemsearchError

log = logging.getLogger("search_api")

#: Seconds an engine that was swapped out stays open for requests that still use it.
RETIRE_AFTER = 30.0


class AliasFollower:
    def __init__(self, app: FastAPI, interval: float) -> None:
        self.app = app
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._retired: list[tuple[float, Engine]] = []
        self._failed: set[str] = set()

    def start(self) -> None:
        engine: Engine | None = self.app.state.engine
        if engine is not None and engine.store.capabilities.aliases:
            self._thread = threading.Thread(target=self._run, name="alias-follower", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for _, engine in self._retired:
            engine.close()
        self._retired.clear()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check_once()
            except Exception:  # a failed check must not end the follower; the next one tries again
                log.exception("checking the collection alias failed")

    def check_once(self) -> bool:
        """Swap in the collection the alias names now, if it moved; True if it did."""
        self._close_retired(time.monotonic() - RETIRE_AFTER)
        engine: Engine = self.app.state.engine
        try:
            if engine.reload_default_fusion():
                default = engine.default_fusion
                log.warning(
                    "collection %r: default fusion now %s (%s)",
                    engine.store.collection,
                    default.fusion.describe(),
                    default.source,
                )
            target = engine.store.resolve()
            if target is None or target == engine.store.target or target in self._failed:
                return False
            record = engine.store.collections.describe(target, fail_fast=True).record
        except SemsearchError:
            return False  # Milvus unreachable: /ready reports it
        model = record.model if record else engine.embedder.model_id
        settings = engine.settings.model_copy(update={"model": model})
        same_model = model == engine.embedder.model_id
        log.warning("collection %r moved to %r: opening it with model %r", engine.store.collection, target, model)
        try:
            new = Engine.open(settings, create=False, embedder=engine.embedder if same_model else None)
        except Exception:
            log.exception("cannot open %r with model %r; still serving %r", target, model, engine.store.target)
            self._failed.add(target)
            return False
        new.observer = engine.observer  # measured from its first request, in the same app's metrics
        self.app.state.engine = new
        self._retired.append((time.monotonic(), engine))
        return True

    def _close_retired(self, before: float) -> None:
        keep = []
        for retired_at, engine in self._retired:
            if retired_at < before:
                engine.close()
            else:
                keep.append((retired_at, engine))
        self._retired = keep
