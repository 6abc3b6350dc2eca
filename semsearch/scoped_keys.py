"""API keys scoped to what they may touch: some collections, read or read-write, and in a multi-tenant collection
one tenant. Beside the admin and read keys of the environment (SEMSEARCH_API_KEY, SEMSEARCH_READ_API_KEY).

Keys live in a JSON file (SEMSEARCH_KEYS_FILE, default `keys.json` beside the .db), written by `semsearch keys
create/revoke` and read by a running API, which notices a changed file on the next request (its mtime), so a key
works, or stops working, without a restart. The file holds no key: only each key's id, scope and SHA-256 hash. A key
is 32 random bytes, so a fast hash is as good as a slow one (nothing to guess from a dictionary); the id in front of
the key finds its entry, and the hashes are compared with `hmac.compare_digest`.

Who may do what is `Principal.check` and `Principal.confine` (the one rule): outside its collections a key gets
`CollectionNotFound` (404: it may not know the collection exists), an action it may not do `Forbidden` (403), a
missing tenant where the key or the collection needs one `TenantRequired` (400), another tenant than the key's
`Forbidden` (403).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from semsearch.errors import CollectionNotFound, Forbidden, KeysFileUnreadable, NotFound, Refused, TenantRequired
from semsearch.store.tenants import check_tenant

Access = Literal["admin", "write", "read"]
Action = Literal["read", "write", "admin"]
#: What a key's `access` lets it do: a write key reads too; only admin does what is no one collection's (metrics).
ALLOWED: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "write", "admin"}),
    "write": frozenset({"read", "write"}),
    "read": frozenset({"read"}),
}
PREFIX = "ssk_"
_KEY = re.compile(r"^ssk_([0-9a-f]{12})_[A-Za-z0-9_\-]{43}$")
_ID = re.compile(r"^[0-9a-f]{12}$")
FILE_VERSION = 1


@dataclass(frozen=True)
class Principal:
    """Who a request speaks for: `access`, on `collections` (None: every one), confined to `tenant` (None: any)."""

    name: str
    access: Access
    collections: frozenset[str] | None = None
    tenant: str | None = None

    def check(self, collection: str, action: Action) -> None:
        """Raise unless this principal may do `action` on `collection`."""
        if self.collections is not None and collection not in self.collections:
            raise CollectionNotFound(f"collection {collection!r} not found")
        if action not in ALLOWED[self.access]:
            raise Forbidden(f"this key may not {_verb(action)} {collection!r}: {self.describe()}")

    def confine(self, tenant: str | None) -> None:
        """Raise unless a request naming `tenant` (None: none) stays inside this principal's tenant."""
        if self.tenant is None:
            return
        if tenant is None:
            raise TenantRequired(f"this key is confined to tenant {self.tenant!r}: send `tenant`")
        if tenant != self.tenant:
            raise Forbidden(f"this key is confined to tenant {self.tenant!r}, not {tenant!r}")

    def describe(self) -> str:
        where = "every collection" if self.collections is None else ", ".join(sorted(self.collections))
        return f"{self.name} key ({self.access} on {where}" + (f", tenant {self.tenant})" if self.tenant else ")")


ADMIN = Principal("admin", "admin")
READER = Principal("read", "read")
#: The caller of an API with no key set at all (none in the environment, none in the keys file): open, as before keys.
ANYONE = Principal("anyone", "admin")


@dataclass(frozen=True)
class ScopedKey:
    """One key's entry in the keys file: everything but the key itself, which only its hash stands for."""

    id: str
    hash: str
    access: Literal["read", "write"]
    collections: tuple[str, ...]
    tenant: str | None = None
    created: str = ""
    label: str = ""

    @property
    def principal(self) -> Principal:
        return Principal(f"scoped {self.id}", self.access, frozenset(self.collections), self.tenant)

    def public(self) -> dict[str, Any]:
        """What `keys list` shows: no hash."""
        return {k: v for k, v in asdict(self).items() if k != "hash"}


def new_key() -> tuple[str, str]:
    """(key id, key): `ssk_<12 hex id>_<43 url-safe characters: 32 random bytes>`."""
    key_id = secrets.token_hex(6)
    return key_id, f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def key_hash(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


@dataclass
class KeyRing:
    """The keys file as a running API sees it: read again whenever it changed on disk (mtime, size, inode).

    A file that exists but cannot be read or parsed raises KeysFileUnreadable naming it: at start-up the API refuses
    to start, and later every scoped key is refused (the env keys still work) until the file is fixed, rather than
    serving keys that a failed revoke meant to remove."""

    path: Path
    _keys: dict[str, ScopedKey] = field(default_factory=dict)
    _seen: tuple[int, int, int] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.refresh()

    def refresh(self) -> dict[str, ScopedKey]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._keys, self._seen = {}, None
            return self._keys
        except OSError as exc:
            raise KeysFileUnreadable(f"cannot read the keys file {self.path}: {exc}") from exc
        seen = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._lock:
            if seen != self._seen:
                self._keys = {key.id: key for key in read_keys(self.path)}
                self._seen = seen
            return self._keys

    def __len__(self) -> int:
        return len(self.refresh())

    def find(self, key: str) -> Principal | None:
        """The principal of `key`, None if it is no (longer a) key of this file."""
        match = _KEY.fullmatch(key)
        if match is None:
            return None
        entry = self.refresh().get(match[1])
        if entry is None or not hmac.compare_digest(key_hash(key).encode(), entry.hash.encode()):
            return None
        return entry.principal


def read_keys(path: Path) -> list[ScopedKey]:
    """Every entry of the keys file; KeysFileUnreadable naming it if it cannot be read as one."""
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or data.get("version") != FILE_VERSION:
            raise ValueError(f"not a semsearch keys file (version {FILE_VERSION})")
        return [_entry(item) for item in data["keys"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeysFileUnreadable(f"cannot read the keys file {path}: {exc}") from exc


def _entry(item: dict[str, Any]) -> ScopedKey:
    key = ScopedKey(
        id=str(item["id"]),
        hash=str(item["hash"]),
        access=item["access"],
        collections=tuple(str(c) for c in item["collections"]),
        tenant=item.get("tenant"),
        created=str(item.get("created", "")),
        label=str(item.get("label", "")),
    )
    if not _ID.fullmatch(key.id) or key.access not in ("read", "write") or not key.hash.startswith("sha256:"):
        raise ValueError(f"bad entry {key.id!r}")
    return key


@contextlib.contextmanager
def _editing(path: Path) -> Iterator[list[ScopedKey]]:
    """The file's entries, to change in place; written back atomically (temp file, fsync, rename) with mode 0600,
    under a lock beside it, so two `keys create` at once both land."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        keys = read_keys(path) if path.exists() else []
        yield keys
        data = {"version": FILE_VERSION, "keys": [asdict(key) for key in keys]}
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)


def create_key(
    path: Path, collections: Sequence[str], access: Literal["read", "write"], tenant: str | None = None, label: str = ""
) -> tuple[ScopedKey, str]:
    """Add a key to the file; returns its entry and the key, which is shown this once and stored nowhere."""
    if not collections:
        raise Refused("a scoped key names at least one collection (--collection)")
    if tenant is not None:
        check_tenant(tenant)
    key_id, key = new_key()
    entry = ScopedKey(
        id=key_id,
        hash=key_hash(key),
        access=access,
        collections=tuple(dict.fromkeys(collections)),
        tenant=tenant,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        label=label,
    )
    with _editing(path) as keys:
        keys.append(entry)
    return entry, key


def revoke_key(path: Path, key_id: str) -> ScopedKey:
    """Remove a key by its id (or by the key itself); NotFound if the file has no such key."""
    match = _KEY.fullmatch(key_id)
    wanted = match[1] if match else key_id
    with _editing(path) as keys:
        found = next((key for key in keys if key.id == wanted), None)
        if found is None:
            raise NotFound(f"no key {key_id!r} in {path}")
        keys.remove(found)
    return found


def list_keys(path: Path) -> list[ScopedKey]:
    return read_keys(path) if path.exists() else []


def _verb(action: str) -> str:
    return {"read": "read", "write": "write to", "admin": "administer"}.get(action, action)
