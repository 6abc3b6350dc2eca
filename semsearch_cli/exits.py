"""The one mapping from engine error families to exit codes, and the one way a command fails.

Exit codes: 0 all went in, 1 some inputs failed (the rest landed), 2 the input was refused (usage, or it conflicts
with what exists), 3 the knowledge base is unavailable (Milvus unreachable or locked, collection missing, model
mismatch), 4 not found (a document, a named collection), 5 an unexpected internal error (a bug: the message names it,
no traceback), 130 interrupted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click
import typer
from rich.console import Console
from rich.markup import escape
from typer.exceptions import TyperException

from semsearch.errors import Conflict, DatabaseLocked, NotFound, Refused, SemsearchError, Unavailable
from semsearch.logs import quiet_libraries

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_BACKEND, EXIT_NOT_FOUND, EXIT_INTERNAL = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130

#: Families, not classes: a new engine error joins a family and gets its exit code here at once.
EXIT_BY_FAMILY: dict[type[SemsearchError], int] = {
    Refused: EXIT_USAGE,
    Unavailable: EXIT_BACKEND,
    NotFound: EXIT_NOT_FOUND,
    Conflict: EXIT_USAGE,
}

stderr = Console(stderr=True)


def fail(message: str, code: int) -> NoReturn:
    """Print `message` as typed (no Rich markup: a filter such as `[a]` stays visible) and exit with `code`."""
    stderr.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def exit_code(exc: SemsearchError) -> int:
    return next((code for family, code in EXIT_BY_FAMILY.items() if isinstance(exc, family)), EXIT_BACKEND)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn every failure into a one-line message and its exit code; never a traceback."""
    quiet_libraries()
    try:
        yield
    except (
        typer.Exit,
        typer.Abort,
        TyperException,
        click.exceptions.Exit,
        click.exceptions.Abort,
        click.ClickException,
    ):
        raise  # typer's own exits and usage errors carry their codes already
    except DatabaseLocked as exc:
        from semsearch_cli.running import locked_hint  # reads the serve file only when the .db is held

        fail(f"{exc}; {locked_hint(exc.path)}" if exc.path else str(exc), exit_code(exc))
    except SemsearchError as exc:
        fail(str(exc), exit_code(exc))
    except KeyboardInterrupt:
        fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:  # a bug, not the user's doing: say what broke, in one line, with its own code
        fail(f"internal error ({type(exc).__name__}): {exc}", EXIT_INTERNAL)
