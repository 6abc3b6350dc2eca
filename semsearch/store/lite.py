"""Milvus Lite runs an embedded server per `.db`, locked to one process: detect who holds it, release it on close."""

from __future__ import annotations

import fcntl
import os
from collections import Counter
from pathlib import Path

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
    lock = db.expanduser().resolve().parent / f".{db.name}.lock"
    if not lock.exists():
        return False
    locks = Path("/proc/locks")
    if locks.exists():
        inode = lock.stat().st_ino
        for line in locks.read_text().splitlines():
            fields = line.split()
            if len(fields) > 5 and fields[1] == "POSIX" and fields[5].split(":")[-1] == str(inode):
                return int(fields[4]) != os.getpid()
        return False
    with open(lock, "a") as handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.lockf(handle, fcntl.LOCK_UN)
    return False
