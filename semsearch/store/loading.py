"""Loading a collection for search, watched rather than timed out: a load takes as long as the collection is big.

Milvus searches only a loaded collection, and loading one grows with its size (about 20 s for 200,000 chunks on
Milvus Lite here, minutes at a million), so no fixed deadline fits every legitimate load. The load call therefore
runs without a deadline in a thread, while the caller polls Milvus's own load state and progress with short
serving-path reads, reports them (`LoadProgress`) and gives up only when Milvus stops answering those reads for
`SEMSEARCH_MILVUS_TIMEOUT` seconds (`BUSY_PATIENCE` times that while the reads only time out): a Milvus that is
really gone is reported within seconds, a slow load never.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from semsearch.errors import BackendUnavailable, SemsearchError
from semsearch.store.milvus_calls import Connection, is_deadline

log = logging.getLogger("semsearch.store")

#: Rows per second Milvus Lite 2.5.1 loads on one core of this machine (200,000 chunks in about 20 s): for the
#: estimate a one-shot command prints before a long load (`benchmarks/startup.py` measures it).
LITE_LOAD_ROWS_PER_S = 10_000
#: Seconds between two looks at a load in progress.
POLL_SECONDS = 0.5
#: How many SEMSEARCH_MILVUS_TIMEOUTs a load may go on while its progress reads time out, before it is reported:
#: a Milvus that answers too late is there but busy (on a machine at load average 18, Milvus Lite left a progress
#: read of a 100k load unanswered for over 10 s, `benchmarks/tables.py`), while one that refuses the connection is
#: gone, and is reported after one.
BUSY_PATIENCE = 12


@dataclass(frozen=True)
class LoadProgress:
    """Where a start-up stands, for a spinner, a log line or `/ready`.

    `what` is a sentence for a person ("loading collection 'documents' (200,000 chunks)"); `percent` is Milvus's
    own loading progress, 0..100, or None where Milvus does not say (or the step is not a load); `rows` is the
    collection's row count when known; `done` is True once the collection can be searched.
    """

    what: str
    percent: int | None = None
    rows: int | None = None
    elapsed_s: float = 0.0
    done: bool = False

    def __str__(self) -> str:
        parts = [self.what]
        if self.percent is not None and not self.done:
            parts.append(f"{self.percent}%")
        if self.elapsed_s >= 1:
            parts.append(f"{self.elapsed_s:.0f} s")
        return ", ".join(parts)


#: Who hears about start-up progress: a CLI spinner, the API's loader, nobody (None).
ProgressCallback = Callable[[LoadProgress], None]


def estimate_seconds(rows: int, lite: bool) -> float | None:
    """About how long loading `rows` takes on Milvus Lite (None for a server: that depends on its query nodes)."""
    return rows / LITE_LOAD_ROWS_PER_S if lite else None


def wait_loaded(milvus: Connection, name: str, on_progress: ProgressCallback | None = None) -> None:
    """Load collection `name` and return once it can be searched, reporting progress to `on_progress`.

    Raises the engine error of the load call if Milvus refuses it, and BackendUnavailable once Milvus has not
    answered a progress read for `SEMSEARCH_MILVUS_TIMEOUT` seconds."""
    report = on_progress or (lambda progress: None)
    started = time.monotonic()
    rows = _row_count(milvus, name)
    what = f"loading collection {name!r}" + (f" ({rows:,} chunks)" if rows is not None else "")
    if is_loaded(milvus, name):
        report(LoadProgress(f"collection {name!r} is loaded", 100, rows, 0.0, done=True))
        return
    log.info("%s", what)
    report(LoadProgress(what, 0, rows))
    failure: list[SemsearchError] = []

    def load() -> None:
        try:
            milvus.write(
                "load_collection", name, what=f"load {name!r}", unfinished=f"{name!r} is not loaded", bounded=False
            )
        except SemsearchError as exc:
            failure.append(exc)

    loader = threading.Thread(target=load, name=f"load-{name}", daemon=True)
    loader.start()
    silent_since: float | None = None
    while loader.is_alive():
        loader.join(POLL_SECONDS)
        if not loader.is_alive():
            break
        try:
            percent = _progress(milvus, name)
            silent_since = None
        except SemsearchError as exc:
            silent_since = silent_since or time.monotonic()
            patience = BUSY_PATIENCE if _busy(exc) else 1
            if time.monotonic() - silent_since > milvus.policy.write_timeout * patience:
                raise BackendUnavailable(f"Milvus stopped answering while {what}: {exc}") from exc
            continue
        report(LoadProgress(what, percent, rows, time.monotonic() - started))
    if failure:
        raise failure[0]
    elapsed = time.monotonic() - started
    log.info("collection %r loaded in %.1f s", name, elapsed)
    report(LoadProgress(f"collection {name!r} is loaded", 100, rows, elapsed, done=True))


def _busy(exc: SemsearchError) -> bool:
    """Whether a failed read ran out of time (Milvus there but slow) rather than found no Milvus."""
    return exc.__cause__ is not None and is_deadline(exc.__cause__)


def _row_count(milvus: Connection, name: str) -> int | None:
    """Rows Milvus holds for `name`, loaded or not (its statistics need no load); None if it does not say."""
    try:
        return int(milvus.read("get_collection_stats", name).get("row_count", 0))
    except (SemsearchError, TypeError, ValueError):
        return None


def is_loaded(milvus: Connection, name: str) -> bool:
    state = milvus.read("get_load_state", name).get("state")
    return getattr(state, "name", str(state)) == "Loaded"


def _progress(milvus: Connection, name: str) -> int | None:
    """Milvus's loading progress of `name` in percent (None if it does not say while loading)."""
    answer = milvus.read("get_load_state", name)
    if getattr(answer.get("state"), "name", "") == "Loaded":
        return 100
    progress = answer.get("progress")
    return int(progress) if isinstance(progress, int | float) else None
