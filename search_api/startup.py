"""The API answers while its collection loads: the load runs in a thread, `/ready` and every request that needs the
collection say how far it is (503 with `Retry-After`), and the log says what is loading.

A big collection takes minutes to load (`semsearch.store.loading`), longer than any orchestrator waits for a
process to start listening, so the process listens at once (`/health`) and becomes ready later (`/ready`). A load
that fails (Milvus went away during it) is reported the same way and tried again, so the API recovers by itself
when Milvus comes back.
"""

from __future__ import annotations

import logging
import threading
import time

from semsearch.engine import Engine
from semsearch.errors import BackendUnavailable, CollectionLoading, SemsearchError
from semsearch.store import LoadProgress

#: uvicorn's own logger: its lines are the ones a `semsearch serve` prints (startup, errors).
log = logging.getLogger("uvicorn.error")

#: Seconds between a failed load and the next attempt.
RETRY_SECONDS = 5.0
#: Seconds between two progress lines in the log during a long load.
LOG_EVERY = 10.0


class CollectionLoader:
    """Loads one engine's collection in a daemon thread; `check()` raises while it cannot be searched."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.progress = LoadProgress(f"waiting to load collection {engine.store.collection!r}")
        self.error: SemsearchError | None = None
        self._stop = threading.Event()
        self._logged_at = 0.0
        self._thread = threading.Thread(target=self._run, name="collection-loader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop retrying; a load in progress is abandoned (its thread is a daemon, and closing the store ends it)."""
        self._stop.set()

    @property
    def loaded(self) -> bool:
        return bool(self.engine.store.loaded)

    def check(self) -> None:
        """Return if the collection can be searched; otherwise raise CollectionLoading (still loading) or the
        error the last attempt ended with."""
        if self.loaded:
            return
        if self.error is not None:
            raise BackendUnavailable(f"collection {self.engine.store.collection!r} is not loaded: {self.error}")
        raise CollectionLoading(f"{self.progress}; try again shortly", retry_after=self.retry_after)

    @property
    def retry_after(self) -> int:
        """Seconds worth waiting: the rest of an estimated load when Milvus says how far it is, else 2."""
        percent, elapsed = self.progress.percent, self.progress.elapsed_s
        if percent and 0 < percent < 100 and elapsed > 0:
            return max(1, min(30, round(elapsed * (100 - percent) / percent)))
        return 2

    def _run(self) -> None:
        while not self._stop.is_set() and not self.loaded:
            self.error = None
            try:
                self.engine.store.load(self._heard)
            except SemsearchError as exc:
                self.error = exc
                log.error("loading collection %r failed: %s", self.engine.store.collection, exc)
            except Exception as exc:  # a bug: report it as one line, and keep the API answering
                self.error = BackendUnavailable(f"internal error ({type(exc).__name__}): {exc}")
                log.exception("loading collection %r failed", self.engine.store.collection)
            if not self.loaded:
                self._stop.wait(RETRY_SECONDS)

    def _heard(self, progress: LoadProgress) -> None:
        self.progress = progress
        now = time.monotonic()
        if progress.done or progress.elapsed_s == 0 or now - self._logged_at >= LOG_EVERY:
            self._logged_at = now
            log.info("%s", progress)
