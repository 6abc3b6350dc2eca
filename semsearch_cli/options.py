"""Options every command shares, and settings built from the environment with the command line on top."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import ValidationError

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


def load_settings(**overrides: Any) -> Settings:
    """Settings from env and `.env`, with CLI options (those not None) taking precedence."""
    try:
        settings = Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        fail(f"invalid settings: {problems}", EXIT_USAGE)
    configure_logging(settings.log_level, settings.log_format)  # before anything slow, so its progress shows
    return settings


def api_key(settings: Settings, *, reading: bool = False) -> str | None:
    """The key a command sends to a running API (`--api`): the same SEMSEARCH_API_KEY the API checks; a command
    that only reads falls back to SEMSEARCH_READ_API_KEY."""
    key = settings.api_key or (settings.read_api_key if reading else None)
    return key.get_secret_value() if key else None
