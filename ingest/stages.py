"""Stages of the ingest run, each in its own thread, joined by bounded queues: a full queue blocks the stage before
it (back-pressure), and a failure in one stage stops them all and is re-raised by the caller."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

#: Batches waiting between two stages.
QUEUE_DEPTH = 2
_DONE = object()


def stage(run: Callable[[], None], out: queue.Queue, stop: threading.Event, errors: list[BaseException]) -> None:
    """Run one stage; an error stops the whole run and is re-raised by the caller. Always ends with _DONE."""
    try:
        run()
    except _Stopped:
        pass
    except BaseException as exc:
        errors.append(exc)
        stop.set()
    finally:
        put(out, _DONE, stop, force=True)


def put(q: queue.Queue, item: Any, stop: threading.Event, force: bool = False) -> None:
    """Put with back-pressure; give up when the run is stopping (unless `force`: the end marker must arrive)."""
    while True:
        if stop.is_set() and not force:
            raise _Stopped
        try:
            q.put(item, timeout=0.1)
            return
        except queue.Full:
            if stop.is_set() and force:
                _clear(q)


def drain(q: queue.Queue, stop: threading.Event) -> Iterator[Any]:
    """Items until the end marker; stops early when another stage failed."""
    while True:
        item = q.get()
        if item is _DONE or stop.is_set():
            return
        yield item


def _clear(q: queue.Queue) -> None:
    try:
        while True:
            q.get_nowait()
    except queue.Empty:
        pass


class _Stopped(Exception):
    """Raised inside a stage when another stage failed; not an error of its own."""
