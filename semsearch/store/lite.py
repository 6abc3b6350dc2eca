"""Milvus Lite runs an embedded server per `.db`, locked to one process: detect who holds it, release it on close,
and keep its output out of ours."""

from __future__ import annotations

import fcntl
import os
import subprocess
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

#: Open stores per Milvus Lite `.db` in this process: the embedded server stops when the last one closes.
_users: Counter[str] = Counter()


def opened(db: Path) -> str:
    """Count one more store on this `.db`; returns the resolved path to pass to `closed`."""
    path = str(db.expanduser().resolve())
    _users[path] += 1
    return path


def closed(path: str) -> None:
    """The last store on a `.db` in this process also stops its embedded server, so that another process
    (e.g. `semsearch serve` after an ingest) can open the file."""
    _users[path] -= 1
    if _users[path] <= 0:
        del _users[path]
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(path)


def held_by_another_process(db: Path) -> bool:
    """True if another process holds milvus-lite's lock on this `.db` (its `.NAME.db.lock` beside it).

    Checked before connecting, because milvus-lite itself, on failing to lock, deletes the holder's lock file.
    On Linux /proc/locks is read, which takes no lock: taking and releasing one from this process would drop a
    lock that this process's own milvus-lite server holds on the same file.
    """
    lock = _lock_file(db)
    if not lock.exists():
        return False
    if Path("/proc/locks").exists():
        holder = lock_holder(db)
        return holder is not None and holder != os.getpid()
    with open(lock, "a") as handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.lockf(handle, fcntl.LOCK_UN)
    return False


def lock_holder(db: Path) -> int | None:
    """The id of the process holding milvus-lite's lock on this `.db`, from /proc/locks (Linux); None if nobody
    holds it or this system does not say. Lets a one-shot command check that a `semsearch serve` which says it
    serves the `.db` is the process that holds it (`semsearch_cli/running.py`)."""
    lock, locks = _lock_file(db), Path("/proc/locks")
    if not lock.exists() or not locks.exists():
        return None
    inode = lock.stat().st_ino
    for line in locks.read_text().splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[1] == "POSIX" and fields[5].split(":")[-1] == str(inode):
            return int(fields[4])
    return None


def _lock_file(db: Path) -> Path:
    return db.expanduser().resolve().parent / f".{db.name}.lock"


def quiet_server_output() -> None:
    """Send the output of every Milvus Lite server this process starts to `server_log(db)` instead of our stdout.

    The server is a child process that inherits our stdout and stderr and prints on them (e.g. "Invalid sparse
    row: NaN or Inf" for a keyword search of an empty collection), which breaks `--json` answers and JSON logs.
    milvus-lite has no option for this, so the `subprocess` name its server module starts the process through is
    replaced by one whose `Popen` redirects; nothing else in this process is affected. Idempotent."""
    with warnings.catch_warnings():  # milvus-lite 2.5 imports the deprecated pkg_resources
        warnings.simplefilter("ignore", UserWarning)
        import milvus_lite.server as server

    if server.subprocess is subprocess:
        server.subprocess = _RedirectedSubprocess()  # type: ignore[assignment]


def server_log(db: Path) -> Path:
    """Where a Lite server's own output goes: `.NAME.db.log` beside the `.db`, next to milvus-lite's lock file."""
    return db.parent / f".{db.name}.log"


class _RedirectedSubprocess:
    """The `subprocess` module, except that `Popen` appends the child's stdout and stderr to the server log (or
    discards them where the log cannot be opened: the server must start regardless)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    @staticmethod
    def Popen(args: list[Any], **kwargs: Any) -> subprocess.Popen:  # the name milvus-lite calls
        try:
            log = server_log(Path(args[1]))  # args: [binary, db file, socket, ...]
            with log.open("ab") as output:  # the child holds its own copy of the descriptor
                return subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT, **kwargs)
        except (OSError, IndexError):
            return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
