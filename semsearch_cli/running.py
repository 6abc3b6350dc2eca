"""How one-shot commands find the `semsearch serve` that holds a Milvus Lite `.db`: the server leaves a small
file beside the `.db` (`.NAME.db.serve.json`: its URL, process id and collection) while it runs.

Milvus Lite lets one process open a `.db`, so while `semsearch serve` runs, `semsearch search` cannot open it; with
this file it sends the search to that server instead. The file is trusted only while it tells the truth: its
process is the one holding the `.db`'s lock (`/proc/locks`). It serves every collection of the `.db`: its default
collection at its unprefixed routes, any other under `/collections/{name}/`. A file left by
a server that was killed (no `finally`) is stale: ignored, and removed. It holds no secret: a server with an API
key says only that it needs one, and the command sends its own `SEMSEARCH_API_KEY`.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semsearch.settings import Settings
from semsearch.store import LoadProgress, ProgressCallback
from semsearch.store.lite import lock_holder


@dataclass(frozen=True)
class RunningServer:
    """A `semsearch serve` holding the `.db`, as its file describes it."""

    url: str
    pid: int
    collection: str
    needs_api_key: bool


def serve_file(db: str | Path) -> Path:
    """`.NAME.db.serve.json` beside the `.db` (beside milvus-lite's own `.NAME.db.lock`)."""
    path = Path(db).expanduser().resolve()
    return path.parent / f".{path.name}.serve.json"


def local_url(host: str, port: int) -> str:
    """The URL a command on this machine reaches a server bound to `host` at (a wildcard means loopback)."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextmanager
def advertised(settings: Settings, host: str, port: int) -> Iterator[None]:
    """Write the serve file for the block (a Lite `.db`, a known port); remove it after, if it is still ours."""
    if not settings.is_lite or port == 0:
        yield
        return
    path = serve_file(settings.milvus_uri)
    record = {
        "url": local_url(host, port),
        "pid": os.getpid(),
        "collection": settings.collection,
        "needs_api_key": settings.api_key is not None,
    }
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(record) + "\n")
    temporary.replace(path)  # atomic: a reader sees the old file or the whole new one
    # uvicorn stops gracefully on SIGTERM, then raises the signal again with the handler it found: the default one
    # would end the process before `finally`, so for the block that handler exits as SIGTERM does (143), cleanly.
    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        if previous == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, previous)
        if (found := _read(path)) is not None and found.pid == os.getpid():
            path.unlink(missing_ok=True)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def find_server(settings: Settings) -> RunningServer | None:
    """The `semsearch serve` that holds this `.db`, if its file says so truly (it serves all its collections)."""
    if not settings.is_lite:
        return None
    return holder(settings.milvus_uri)


def holder(db: str | Path) -> RunningServer | None:
    """The `semsearch serve` holding this `.db` (whatever collection it serves), if its file says so truly."""
    path = serve_file(db)
    server = _read(path)
    if server is None:
        return None
    if lock_holder(Path(db)) != server.pid:
        if not _alive(server.pid):
            with suppress(OSError):
                path.unlink()  # stale: its server is gone
        return None
    return server


def locked_hint(db: str | Path) -> str:
    """What a command refused a held `.db` can do instead: the URL of the `semsearch serve` holding it, read from its
    serve file (a server on port 8811 is named as such), or how to find one."""
    server = holder(db)
    if server is None:
        return "if it is a `semsearch serve`, run this command with --api and that server's URL"
    collection = f" (collection {server.collection!r})" if server.collection else ""
    where = f"`semsearch serve` (process {server.pid}) holds it at {server.url}{collection}"
    return f"{where}: run this command with --api {server.url}"


def _read(path: Path) -> RunningServer | None:
    try:
        record = json.loads(path.read_text())
        return RunningServer(
            url=str(record["url"]),
            pid=int(record["pid"]),
            collection=str(record["collection"]),
            needs_api_key=bool(record.get("needs_api_key", False)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing, half-written by something else, or not ours: as if there were none


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_until_loaded(url: str, key: str | None, on_progress: ProgressCallback, connect_seconds: float = 5.0) -> None:
    """Wait while the API at `url` loads its collection (`/ready` 503 "loading"), reporting its progress; return
    as soon as it is ready, answers anything else, or cannot be reached for `connect_seconds` (a server that has
    just written its file may not listen yet): the request that follows reports those cases itself."""
    import httpx

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    started = time.monotonic()
    while True:
        try:
            answer = httpx.get(f"{url.rstrip('/')}/ready", headers=headers, timeout=5)
        except httpx.HTTPError:
            if time.monotonic() - started > connect_seconds:
                return
            time.sleep(0.25)
            continue
        if answer.status_code != 503 or _field(answer, "status") != "loading":
            return
        on_progress(LoadProgress(str(_field(answer, "detail") or "the server is loading its collection")))
        time.sleep(min(2.0, float(answer.headers.get("Retry-After", "1"))))


def _field(answer: Any, name: str) -> object:
    try:
        return answer.json().get(name)
    except ValueError:
        return None
