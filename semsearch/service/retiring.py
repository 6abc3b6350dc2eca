"""Collections the service closed to make room: released from Milvus's memory and closed, off the requests' threads.

A release is a Milvus call, and an engine may still be in a request's hands when the service closes it, so each
retirement runs in a timer thread: at once for an engine nobody holds, `retire_after` s later for one lent
without a lease (`Service`'s docstring says which is which).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from semsearch.engine import Engine
from semsearch.errors import SemsearchError

log = logging.getLogger("semsearch.service")


class Retirements:
    """Pending retirements; `still_closed(name)` says, when one runs, whether the collection is still closed (not
    opened again meanwhile, the service not closing): only then is it released from Milvus. Its engine is closed
    either way."""

    def __init__(self, still_closed: Callable[[str], bool]) -> None:
        self._still_closed = still_closed
        self._timers: list[threading.Timer] = []
        self._lock = threading.Lock()

    def schedule(self, name: str, engine: Engine, after: float) -> None:
        once = threading.Lock()  # a retirement runs once, from its timer or from `flush`, whichever comes first
        timer = threading.Timer(after, self._retire, (name, engine, once))
        timer.daemon = True
        with self._lock:
            self._timers = [pending for pending in self._timers if pending.is_alive()]
            self._timers.append(timer)
        timer.start()

    def flush(self) -> None:
        """Run every pending retirement now (the service is closing)."""
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
            timer.function(*timer.args)

    def _retire(self, name: str, engine: Engine, once: threading.Lock) -> None:
        if not once.acquire(blocking=False):
            return
        try:
            if self._still_closed(name):
                engine.store.collections.release(engine.store.target)
        except SemsearchError as exc:
            log.warning("releasing collection %r failed: %s", name, exc)
        finally:
            engine.close()
