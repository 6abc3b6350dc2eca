"""What a command waits for, shown as a spinner on stderr: the engine reports its steps through a callback
(`semsearch.store.LoadProgress`), and this module alone turns them into Rich output.

A one-shot command on a big Milvus Lite collection also says, once, that the load will take a while and that
`semsearch serve` pays it once for every later search.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from rich.console import Console
from rich.markup import escape

from semsearch.store import LoadProgress, ProgressCallback
from semsearch.store.loading import estimate_seconds
from semsearch_cli.output import shows_progress

#: A load estimated to take longer than this (seconds) is worth the hint to use `semsearch serve`.
LONG_LOAD_SECONDS = 10.0

stderr = Console(stderr=True)


@contextmanager
def spinner(first: str = "starting", *, lite: bool = False, one_shot: bool = False) -> Iterator[ProgressCallback]:
    """A spinner on stderr for the block; yields the callback that updates its text. With `one_shot`, a long
    Milvus Lite load is announced with its estimate and the advice to run `semsearch serve`."""
    hinted = False
    live = shows_progress(stderr)  # a spinner on a terminal only; the hint is said either way
    with stderr.status(escape(first), spinner="dots") if live else nullcontext() as status:

        def heard(progress: LoadProgress) -> None:
            nonlocal hinted
            if status is not None:
                status.update(escape(str(progress)))
            if one_shot and not hinted and not progress.done and progress.rows is not None:
                hinted = True
                estimate = estimate_seconds(progress.rows, lite)
                if estimate is not None and estimate > LONG_LOAD_SECONDS:
                    stderr.print(long_load_hint(progress.rows, estimate), highlight=False, soft_wrap=True)

        yield heard


def long_load_hint(rows: int, seconds: float) -> str:
    """What a one-shot command says before a long load: how long, and how to pay it only once."""
    return (
        f"note: loading {rows:,} chunks takes about {seconds:.0f} s on Milvus Lite, for every command that opens "
        "the .db. Run `semsearch serve` once instead: it loads them once, and `semsearch search` then goes "
        "through it by itself (answers in milliseconds)."
    )
