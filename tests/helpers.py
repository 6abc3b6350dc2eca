"""What the tests share that is not a fixture: paths, sample queries, a stored row, the real `semsearch` command.

Test modules import these from here; conftest.py holds the fixtures (and imports from here too).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest
from fastapi import FastAPI

from semsearch.engine import Engine
from semsearch.knowledge_base import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "sample_data"
SAMPLE_QUERIES = json.loads((Path(__file__).parent / "sample_queries.json").read_text())


def stored_row(chunk_id: str, doc_id: str, embedding: list[float]) -> dict:
    """A minimal chunk row as the store writes it, for tests that drive MilvusStore below the indexer."""
    return {
        "id": chunk_id,
        "doc_id": doc_id,
        "chunk_index": 0,
        "text": "t",
        "source": "s",
        "char_start": 0,
        "char_end": 1,
        "content_hash": "h",
        "metadata": {},
        "embedding": embedding,
    }


def free_port(taken: frozenset[int] = frozenset()) -> int:
    """A port free to listen on now, picked outside the kernel's ephemeral range: a port `bind(0)` hands out is
    one the kernel may also give an outgoing connection (a gRPC channel, the other test worker's HTTP client)
    before our server binds it, which once failed a whole worker's Milvus server tests. Where that range leaves
    too few ports outside it, anywhere from 10000 up."""
    low, high = _ephemeral_range()
    outside = [*range(10000, low), *range(high + 1, 65536)]
    candidates = outside if len(outside) >= 1000 else range(10000, 65536)
    while True:
        port = random.choice(candidates)
        if port in taken:
            continue
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[:2]
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def semsearch_bin() -> str:
    found = shutil.which("semsearch", path=str(Path(sys.executable).parent))
    assert found, "semsearch console script not installed (pip install -e .)"
    return found


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess:
    """Run the real `semsearch` command in a subprocess."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [semsearch_bin(), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def borrow_engine(app: FastAPI, engine: Engine) -> FastAPI:
    """Give the app an already open engine that the app must not close (a fixture owns it)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = engine
        yield

    app.router.lifespan_context = lifespan
    return app


def answers_200(response: httpx.Response) -> bool:
    return response.status_code == 200


@contextmanager
def semsearch_server(
    *args: str,
    cwd: Path,
    env: dict[str, str],
    path: str = "/ready",
    ready: Callable[[httpx.Response], bool] = answers_200,
    timeout: float = 120,
    log_to: Path | None = None,
) -> Iterator[str]:
    """`semsearch <args> --port N` as a real process on a free port, `env` laid over this process's environment.

    Yields the base URL once `GET <path>` gets a response that `ready` accepts; fails the test, quoting the
    server's output, if the process exits first or `timeout` seconds pass. The output is printed when the server
    stops, so pytest shows it with a test that failed; with `log_to` it is also kept in that file, to be read."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log_to.open("w+") if log_to else tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [semsearch_bin(), *args, "--port", str(port)],
            cwd=cwd,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + timeout
            while not _answers(base + path, ready):
                assert process.poll() is None, f"semsearch {args[0]} exited: {_read(log)}"
                if time.monotonic() > deadline:
                    pytest.fail(f"semsearch {args[0]} did not answer {path} in {timeout:.0f} s: {_read(log)}")
                time.sleep(0.3)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            print(_read(log), end="")


def _answers(url: str, ready: Callable[[httpx.Response], bool]) -> bool:
    try:
        return ready(httpx.get(url, timeout=1))
    except httpx.HTTPError:
        return False


def _read(log: IO[str]) -> str:
    log.seek(0)
    return log.read()


def doc_ids(kb: KnowledgeBase) -> list[str]:
    """Every stored document id, sorted: what folder-sync tests compare exactly."""
    return sorted(doc.doc_id for doc in kb.documents())
