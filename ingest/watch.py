"""`semsearch ingest DIR... --watch`: keep a collection in sync with folders as they change.

After the first ingest, every debounced batch of file-system events (watchfiles: inotify on Linux) is applied as
one small sync: the arguments are discovered again (a walk, no file is read), the changed files that are still
selected are ingested (unchanged chunks cost a hash compare), and the arguments' scopes are pruned exactly as an
ingest prunes them (`ingest.sync`). So a create or edit embeds only what changed, a delete removes the document, a
rename writes the new id with the old vectors and then removes the old id, and a file newly excluded by a changed
`.gitignore` is removed (a changed `.gitignore` makes the batch ingest every selected file, so one newly included
comes in). An argument that disappears is reported and skipped until it is back; its documents are kept.
"""

from __future__ import annotations

import glob
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import watchfiles

from ingest.ignore import IGNORE_FILE
from ingest.loaders import TableOptions
from ingest.pipeline import IngestReport, ingest_files
from ingest.sinks import FileSink, Sink
from ingest.sources import discover, source_id
from ingest.sync import prune, scopes, split_glob

#: Quiet time (ms) that ends a batch of events: an editor's save or a `git checkout` arrives as one batch.
DEBOUNCE_MS = 500
#: How long (ms) the watcher waits for events before it says it is still there: its first such wake-up is when
#: `on_ready` is called, since the watches are set by then.
WAKE_MS = 250


@dataclass
class WatchSession:
    """What a watch applied, batch after batch, for the summary printed when it stops."""

    batches: int = 0
    total: IngestReport = field(default_factory=IngestReport)

    def add(self, report: IngestReport) -> None:
        self.batches += 1
        self.total.files += report.files
        self.total.stats.add(report.stats)
        self.total.failures += report.failures
        self.total.removed_documents += report.removed_documents


def watch_roots(args: Sequence[str]) -> list[Path]:
    """What to watch for each argument: a directory itself, a glob's fixed leading directory, a file's directory."""
    roots: list[Path] = []
    for arg in args:
        if glob.has_magic(arg):
            root, _ = split_glob(arg)
        else:
            root = Path(arg) if Path(arg).is_dir() else Path(arg).parent
        if root.resolve() not in {r.resolve() for r in roots}:
            roots.append(root)
    return roots


def apply_changes(
    args: Sequence[str],
    changed: set[Path],
    sink: Sink | FileSink,
    table: TableOptions,
    exclude: Sequence[str] = (),
    prune_missing: bool = True,
) -> tuple[IngestReport, list[str]]:
    """One sync for a batch of changed paths; returns its report and the arguments that are gone (skipped). With
    `prune_missing` False (`--no-prune`) deletes and renames leave the old documents, as an ingest does."""
    present = [arg for arg in args if glob.has_magic(arg) or Path(arg).exists()]
    gone = [arg for arg in args if arg not in present]
    selection = discover(present, exclude) if present else None
    files = selection.files if selection else []
    everything = any(path.name == IGNORE_FILE for path in changed)
    resolved = {path.resolve() for path in changed}
    touched = files if everything else [path for path in files if path.resolve() in resolved]
    report = ingest_files(touched, sink, table)
    if prune_missing:
        kept = {source_id(path, table.base) for path in files}
        report.removed_documents, deleted = prune(sink, scopes(present, table.base), kept)
        report.stats.deleted += deleted
    return report, gone


def watch(
    args: Sequence[str],
    sink: Sink | FileSink,
    table: TableOptions,
    exclude: Sequence[str] = (),
    on_batch: Callable[[IngestReport, list[str]], None] | None = None,
    stop: threading.Event | None = None,
    prune_missing: bool = True,
    on_ready: Callable[[], None] | None = None,
) -> WatchSession:
    """Apply changes until Ctrl-C (or `stop` is set); returns what was applied. In the main thread Ctrl-C only sets
    the stop event, so a batch being written is finished, never cut in the middle of a Milvus write. `on_ready` is
    called once the file-system watches are set: a change made after it is seen (one made before may not be)."""
    session = WatchSession()
    stop = stop or threading.Event()
    roots = [root for root in watch_roots(args) if root.exists()]
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    ready = False
    try:
        for changes in watchfiles.watch(
            *roots,
            debounce=DEBOUNCE_MS,
            stop_event=stop,
            raise_interrupt=False,
            ignore_permission_denied=True,
            rust_timeout=WAKE_MS,
            yield_on_timeout=True,
        ):
            if not ready:  # the first wake-up or batch: the watches were set when the generator started
                ready = True
                if on_ready:
                    on_ready()
            if not changes:
                continue
            report, gone = apply_changes(args, {Path(path) for _, path in changes}, sink, table, exclude, prune_missing)
            session.add(report)
            if on_batch:
                on_batch(report, gone)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return session
