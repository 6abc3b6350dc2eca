"""Every failure of a command is one line on stderr and an exit code chosen by error family, never a traceback."""

from __future__ import annotations

import pytest
import typer

from semsearch.errors import (
    CollectionMissing,
    DatabaseLocked,
    DocumentNotFound,
    InvalidFilter,
    MilvusFailed,
    SemsearchError,
    UnsupportedOperation,
)
from semsearch_cli.exits import (
    EXIT_BACKEND,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    cli_errors,
)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidFilter("colour", "unknown field"), EXIT_USAGE),
        (UnsupportedOperation("reindex needs aliases"), EXIT_USAGE),
        (DatabaseLocked("held by another process"), EXIT_BACKEND),
        (CollectionMissing("ingest some documents first"), EXIT_BACKEND),
        (MilvusFailed("Milvus said no"), EXIT_BACKEND),
        (DocumentNotFound("no document with id 'x'"), EXIT_NOT_FOUND),
        (SemsearchError("outside every family"), EXIT_BACKEND),
        (ZeroDivisionError("division by zero"), EXIT_INTERNAL),
        (KeyboardInterrupt(), EXIT_INTERRUPTED),
    ],
)
def test_each_error_family_has_its_exit_code_and_one_line(
    error: BaseException, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as exited, cli_errors():
        raise error
    assert exited.value.exit_code == code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 or len(err) > 80  # one message (Rich may wrap a long line)


def test_an_unexpected_error_is_named_as_internal_not_as_failed_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as exited, cli_errors():
        {}["missing"]
    assert exited.value.exit_code == EXIT_INTERNAL != 1
    assert "internal error (KeyError)" in capsys.readouterr().err


def test_markup_in_a_message_prints_as_typed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit), cli_errors():
        raise InvalidFilter("[bold]tags[/bold]", "unknown field")
    assert "'[bold]tags[/bold]'" in capsys.readouterr().err


def test_typer_exits_pass_through_unchanged() -> None:
    with pytest.raises(typer.Exit) as exited, cli_errors():
        raise typer.Exit(1)
    assert exited.value.exit_code == 1
