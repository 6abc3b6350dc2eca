"""What every CLI command shares: settings overrides, and the one mapping from engine errors to exit codes.

Exit codes: 0 all went in, 1 some inputs failed (the rest landed), 2 usage error, 3 backend/configuration error
(Milvus unreachable or locked, collection missing, model mismatch).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from semsearch.errors import (
    BackendUnavailable,
    CollectionMissing,
    CollectionModelMismatch,
    DocumentRejected,
    InvalidFilter,
    UnsupportedMode,
)
from semsearch.settings import Settings

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_BACKEND = 0, 1, 2, 3

stderr = Console(stderr=True)

MilvusUriOption = Annotated[
    str | None, typer.Option("--milvus-uri", help="Milvus Lite .db path or server URI [env SEMSEARCH_MILVUS_URI]")
]
CollectionOption = Annotated[
    str | None, typer.Option("--collection", help="Collection name [env SEMSEARCH_COLLECTION]")
]
ModelOption = Annotated[
    str | None, typer.Option("--model", help="sentence-transformers model name or path [env SEMSEARCH_MODEL]")
]
ApiOption = Annotated[
    str | None,
    typer.Option("--api", help="Use a running semsearch API at this URL instead of opening Milvus directly."),
]


def fail(message: str, code: int) -> NoReturn:
    stderr.print(f"[bold red]error:[/bold red] {message}", highlight=False)
    raise typer.Exit(code)


def load_settings(**overrides: Any) -> Settings:
    """Settings from env and `.env`, with CLI options (those not None) taking precedence."""
    try:
        return Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        fail(f"invalid settings: {problems}", EXIT_USAGE)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn engine errors into a one-line message and the matching exit code; never a traceback."""
    quiet_libraries()
    try:
        yield
    except (InvalidFilter, DocumentRejected, UnsupportedMode) as exc:
        fail(str(exc), EXIT_USAGE)
    except (BackendUnavailable, CollectionMissing, CollectionModelMismatch) as exc:
        fail(str(exc), EXIT_BACKEND)


def quiet_libraries() -> None:
    """pymilvus logs every failed RPC with a traceback at ERROR; we report failures ourselves."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for name in ("pymilvus", "milvus_lite", "transformers", "sentence_transformers", "pypdf"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
