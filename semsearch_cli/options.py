"""Options every command shares, and settings built from the environment with the command line on top."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from semsearch.errors import CollectionMissing, CollectionNotFound
from semsearch.logs import configure_logging
from semsearch.settings import Settings
from semsearch_cli.exits import EXIT_USAGE, fail

MilvusUriOption = Annotated[
    str | None, typer.Option("--milvus-uri", help="Milvus Lite .db path or server URI (env SEMSEARCH_MILVUS_URI)")
]
CollectionOption = Annotated[
    str | None, typer.Option("--collection", help="Collection name (env SEMSEARCH_COLLECTION)")
]
ModelOption = Annotated[
    str | None, typer.Option("--model", help="sentence-transformers model name or path (env SEMSEARCH_MODEL)")
]
ApiOption = Annotated[
    str | None,
    typer.Option("--api", help="Use a running semsearch API at this URL instead of opening Milvus directly."),
]
LogLevelOption = Annotated[
    str | None,
    typer.Option("--log-level", help="debug, info, warning, error or critical (env SEMSEARCH_LOG_LEVEL)"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")]
TenantOption = Annotated[
    str | None, typer.Option("--tenant", help="The tenant, in a multi-tenant collection (env SEMSEARCH_TENANT).")
]


#: Levels from most to least verbose; `-v` and `-q` move one step along it.
LEVELS = ("debug", "info", "warning", "error", "critical")
#: Steps toward quieter set by the main command's `-v` (-1 each) and `-q` (+1 each): `semsearch -v ingest ...`.
verbosity = {"steps": 0}


def log_level(settings: Settings, *, server: bool) -> str:
    """The level a command logs at: `SEMSEARCH_LOG_LEVEL` / `--log-level`, else the door's default (info for a
    server, warning for a one-shot command), moved by `-v` / `-q`."""
    base = LEVELS.index(settings.log_level_for(server=server))
    return LEVELS[min(max(base + verbosity["steps"], 0), len(LEVELS) - 1)]


def load_settings(*, server: bool = False, **overrides: Any) -> Settings:
    """Settings from env and `.env`, with CLI options (those not None) taking precedence; logging configured for a
    `server` or for a one-shot command."""
    try:
        settings = Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        fail(f"invalid settings: {problems}", EXIT_USAGE)
    configure_logging(log_level(settings, server=server), settings.log_format)  # before anything slow
    return settings


def api_key(settings: Settings, *, reading: bool = False) -> str | None:
    """The key a command sends to a running API (`--api`): the same SEMSEARCH_API_KEY the API checks; a command
    that only reads falls back to SEMSEARCH_READ_API_KEY."""
    key = settings.api_key or (settings.read_api_key if reading else None)
    return key.get_secret_value() if key else None


def given(**options: Any) -> set[str]:
    """The settings the command line names (options not None): they win over what a collection records
    (`Engine.open(keep=...)`), where the environment does not."""
    return {name for name, value in options.items() if value is not None}


def api_url(api: str, collection: str | None) -> str:
    """The base URL of a running API for one collection: `--collection NAME` is `/collections/NAME` under it (every
    route answers there); without it, the API's default collection (its unprefixed routes)."""
    return f"{api.rstrip('/')}/collections/{collection}" if collection else api.rstrip("/")


@contextmanager
def named(collection: str | None) -> Iterator[None]:
    """A collection the command line names (`--collection`) that does not exist is not found (exit 4), where a
    default collection nothing was ingested into yet is unavailable (exit 3, "ingest some documents first")."""
    try:
        yield
    except CollectionMissing as exc:
        if collection is None:
            raise
        raise CollectionNotFound(f"no collection named {collection!r} (see `semsearch collections list`)") from exc
