"""One collection being opened (or open) by the service: the open and the load run in a thread, so that a door can
answer "loading, retry after N s" for this collection while every other one keeps answering.

A small collection opens in well under a second, so a door waits a moment (`Opening.wait`) before it answers 503:
only a big load, or a model's first load, is ever seen as "loading".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from semsearch.engine import Engine
from semsearch.errors import BackendUnavailable, CollectionLoading, SemsearchError
from semsearch.store import LoadProgress

log = logging.getLogger("semsearch.service")


class Opening:
    """The engine of collection `name`, opened by `open_engine` in a daemon thread; `last_used` orders evictions."""

    def __init__(self, name: str, open_engine: Callable[[Callable[[LoadProgress], None]], Engine]) -> None:
        self.name = name
        self.engine: Engine | None = None
        self.error: SemsearchError | None = None
        self.progress = LoadProgress(f"opening collection {name!r}")
        self.last_used = time.monotonic()
        #: Leases running now (`Service.lease`); `lent`: the engine was handed out without one at least once.
        self.leases = 0
        self.lent = False
        #: Closed by the service to make room: released once nobody holds it (`Service._evict`).
        self.closed = False
        self._done = threading.Event()
        self._open_engine = open_engine
        self._thread = threading.Thread(target=self._run, name=f"open-{name}"[:64], daemon=True)

    @classmethod
    def of(cls, name: str, engine: Engine) -> Opening:
        """An already open engine (a collection the service has just created)."""
        opening = cls(name, lambda _: engine)
        opening.engine = engine
        opening._done.set()
        return opening

    def hold(self, leased: bool) -> None:
        """Count a lease, or note a loan without one (called under the service's lock)."""
        if leased:
            self.leases += 1
        else:
            self.lent = True

    def start(self) -> Opening:
        self._thread.start()
        return self

    @property
    def ready(self) -> bool:
        return self.engine is not None

    @property
    def finished(self) -> bool:
        """Opened, or failed: nothing is running any more."""
        return self._done.is_set()

    def wait(self, seconds: float | None) -> Engine:
        """The engine, once open (None: however long that takes); CollectionLoading if it is not open within
        `seconds`, or the error the open ended with."""
        self._done.wait(seconds)
        self.last_used = time.monotonic()
        if self.engine is not None:
            return self.engine
        if self.error is not None:
            raise self.error
        raise CollectionLoading(f"{self.progress}; try again shortly", retry_after=self.retry_after)

    @property
    def retry_after(self) -> int:
        """Seconds worth waiting: the rest of an estimated load when Milvus says how far it is, else 2."""
        percent, elapsed = self.progress.percent, self.progress.elapsed_s
        if percent and 0 < percent < 100 and elapsed > 0:
            return max(1, min(30, round(elapsed * (100 - percent) / percent)))
        return 2

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            self.engine = self._open_engine(self._heard)
            log.info("collection %r open in %.2f s", self.name, time.perf_counter() - started)
        except SemsearchError as exc:
            self.error = exc
        except Exception as exc:  # a bug: reported as one line, the service keeps serving the others
            log.exception("opening collection %r failed", self.name)
            self.error = BackendUnavailable(f"opening collection {self.name!r} failed ({type(exc).__name__}): {exc}")
        finally:
            self._done.set()

    def _heard(self, progress: LoadProgress) -> None:
        self.progress = progress
