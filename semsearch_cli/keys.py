"""`semsearch keys create|list|revoke`: scoped API keys in the keys file (`semsearch.scoped_keys`).

A running API reads the file again when it changes, so a key works (or stops working) at once, no restart. The key is
printed once, by `create`; the file keeps only its hash.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from semsearch.scoped_keys import ScopedKey, create_key, list_keys, revoke_key
from semsearch_cli.exits import EXIT_USAGE, cli_errors, fail
from semsearch_cli.options import JsonOption, MilvusUriOption, load_settings

keys_app = typer.Typer(
    name="keys",
    help="API keys scoped to collections (and to one tenant), read-only or read-write.",
    no_args_is_help=True,
)
KeysFileOption = Annotated[
    str | None,
    typer.Option("--keys-file", help="The keys file (env SEMSEARCH_KEYS_FILE; default keys.json beside the .db)."),
]


@keys_app.command("create")
def create(
    collection: Annotated[
        list[str], typer.Option("--collection", help="A collection the key opens (repeat for several).")
    ],
    read: Annotated[bool, typer.Option("--read", help="Read-only: search, context, list and read documents.")] = False,
    write: Annotated[bool, typer.Option("--write", help="Read-write: also add and delete documents.")] = False,
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Confine the key to this tenant of a multi-tenant collection.")
    ] = None,
    label: Annotated[str, typer.Option("--label", help="A note to recognise the key by in `keys list`.")] = "",
    as_json: JsonOption = False,
    keys_file: KeysFileOption = None,
    milvus_uri: MilvusUriOption = None,
) -> None:
    """Create a key and print it, once: it is stored only as a hash."""
    if read == write:
        fail("give exactly one of --read and --write", EXIT_USAGE)
    settings = load_settings(milvus_uri=milvus_uri, keys_file=keys_file)
    with cli_errors():
        entry, key = create_key(settings.keys_path, collection, "write" if write else "read", tenant, label)
    if as_json:
        typer.echo(json.dumps({"key": key, **entry.public(), "keys_file": str(settings.keys_path)}))
        return
    typer.echo(key)
    typer.echo(f"{_line(entry)}; in {settings.keys_path}. Shown once: store it now.", err=True)


@keys_app.command("list")
def list_command(as_json: JsonOption = False, keys_file: KeysFileOption = None, milvus_uri: MilvusUriOption = None):
    """The keys in the keys file: id, access, collections, tenant, when made (never the key)."""
    settings = load_settings(milvus_uri=milvus_uri, keys_file=keys_file)
    with cli_errors():
        keys = list_keys(settings.keys_path)
    if as_json:
        typer.echo(json.dumps({"keys": [key.public() for key in keys], "keys_file": str(settings.keys_path)}))
        return
    for key in keys:
        typer.echo(_line(key))
    if not keys:
        typer.echo(f"no scoped keys in {settings.keys_path}", err=True)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `keys list`), or the key itself.")],
    as_json: JsonOption = False,
    keys_file: KeysFileOption = None,
    milvus_uri: MilvusUriOption = None,
) -> None:
    """Remove a key: a running API refuses it from its next request on."""
    settings = load_settings(milvus_uri=milvus_uri, keys_file=keys_file)
    with cli_errors():
        entry = revoke_key(settings.keys_path, key_id)
    typer.echo(json.dumps({"revoked": entry.public()}) if as_json else f"revoked {_line(entry)}")


def _line(key: ScopedKey) -> str:
    tenant = f", tenant {key.tenant}" if key.tenant else ""
    label = f" ({key.label})" if key.label else ""
    return f"{key.id}{label}: {key.access} on {', '.join(key.collections)}{tenant}, created {key.created}"
