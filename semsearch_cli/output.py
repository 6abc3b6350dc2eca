"""Where a command's output goes, and how wide it is: the one place commands get their Rich consoles.

stdout carries the answer. On a terminal, tables fit its width; anywhere else (a pipe, a file, a CI log) nothing is
cut or wrapped, because a cut id or path (`documen…`) is a wrong answer to a script, not a shorter one. stderr
carries progress (spinners, bars) only when it is a terminal: in a log, a redrawn bar is noise.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

#: Columns a table may take when stdout is not a terminal: wide enough that no value is ever cut or folded.
UNWRAPPED = 100_000


def stdout_console(**options: Any) -> Console:
    """The console a command prints its answer on: the terminal's width, or unlimited when stdout is not one."""
    console = Console(**options)
    if not console.is_terminal:
        console = Console(width=UNWRAPPED, **options)
    return console


def stderr_console() -> Console:
    """The console for progress and notes on stderr."""
    return Console(stderr=True)


def shows_progress(console: Console) -> bool:
    """Progress bars and spinners only on a terminal."""
    return console.is_terminal
