"""What the benchmarks share: free ports, the API and a Milvus server as real processes, percentiles, the table.

Each benchmark is a script (`python benchmarks/x.py`), so Python puts benchmarks/ on sys.path and they import this
module as `_common`. It imports only the standard library at the top: `milvus_lite_engines.py` runs in bare venvs
that hold pymilvus and numpy alone; httpx and pymilvus are imported where a server is spoken to.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evaluation.beir import BeirSet
    from evaluation.tuning import Candidates

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
#: `python -m search_api`: the read door as the benchmarks start it unless told otherwise.
SEARCH_API = (sys.executable, "-m", "search_api")


def in_the_repo() -> None:
    """Work from the repo root with its packages importable (installed or not) and the libraries' logs quiet.

    Benchmarks call it first in main(), before they import the product."""
    os.chdir(ROOT)
    # First, even when PYTHONPATH already names it: benchmarks/ingest.py would otherwise shadow the ingest package.
    if str(ROOT) in sys.path:
        sys.path.remove(str(ROOT))
    sys.path.insert(0, str(ROOT))
    from semsearch.logs import quiet_libraries

    quiet_libraries()


def eval_candidates(directory: Path, milvus_uri: str, **settings: Any) -> tuple[BeirSet, dict[str, Candidates]]:
    """A BEIR set and each judged query's dense and keyword candidate lists (`evaluation.tuning.fetch_candidates`),
    from the collection `semsearch eval DIR` filled at `milvus_uri`; `settings` are what that collection was built
    with where they differ from the defaults (e.g. `chunk_tokens`)."""
    from evaluation.beir import load
    from evaluation.runner import scratch_collection
    from evaluation.tuning import fetch_candidates
    from semsearch.engine import Engine
    from semsearch.settings import Settings

    data = load(directory)
    engine = Engine.open(
        Settings(milvus_uri=milvus_uri, collection=scratch_collection(data.name), **settings), create=False
    )
    try:
        return data, fetch_candidates(engine, data)
    finally:
        engine.close()


def free_port() -> int:
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class RunningApi:
    base: str  # e.g. http://127.0.0.1:8123
    pid: int


#: Queries about sample_data/, for benchmarks that search it (each request adds a counter, so none repeats).
QUERIES = [
    "how do I make a copy of an object that does not share nested lists",
    "calculate money amounts without losing cents to rounding errors",
    "roll dice and flip coins in a simulation",
    "postpone a job until a chosen moment",
    "print a month as a grid of days",
    "read a compressed archive",
    "talk to a web server over the network",
    "measure how long a piece of code takes",
    "split a string into words",
    "store objects on disk and load them later",
]


@contextmanager
def api_server(
    env: dict[str, str], command: Sequence[str] = SEARCH_API, log_level: str = "warning", timeout: float = 300
) -> Iterator[RunningApi]:
    """The API as a real uvicorn process on a free port, `env` laid over this process's environment.

    Yields once `GET /ready` answers 200 (the model is loaded, Milvus is reachable); exits the benchmark if the
    process dies first or `timeout` seconds pass. Stops the process when the block ends."""
    import httpx

    port = free_port()
    argv = [*command, "--port", str(port), "--log-level", log_level]
    process = subprocess.Popen(argv, env={**os.environ, **env}, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{base}/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait_for(ready, "the API", timeout, process)
        yield RunningApi(base, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def milvus_server(data: Path, timeout: float = 120) -> Iterator[str]:
    """`milvus-server` (Milvus standalone, from the `milvus` package) on free ports, its data under `data`; yields
    its URI once it lists collections. It runs in its own process group, so stopping it stops its children too."""
    from pymilvus import MilvusClient, MilvusException

    port = free_port()
    command = [str(Path(sys.executable).parent / "milvus-server"), "--data", str(data), "--proxy-port", str(port)]
    command += ["--etcd-port", str(free_port())]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            MilvusClient(uri=uri, timeout=2).list_collections(timeout=2)
            return True
        except MilvusException:
            return False

    try:
        _wait_for(answers, "the Milvus server", timeout)
        yield uri
    finally:
        _stop_group(process)


def _wait_for(answers: Callable[[], bool], what: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Poll `answers` until it is true; exit the benchmark if `process` (when given) exits or `timeout` s pass."""
    deadline = time.monotonic() + timeout
    while not answers():
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{what} exited with code {process.returncode} before it answered")
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not answer within {timeout:.0f} s")
        time.sleep(0.25)


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the process group, SIGKILL whatever of it is left after 5 s."""
    os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        process.poll()
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def percentiles(ms: Sequence[float], digits: int = 2) -> dict[str, float]:
    """p50, p95 and p99 of latencies in milliseconds, rounded to `digits`.

    Every benchmark's percentiles come from here, so the tables compare: `statistics.quantiles` with its default
    (exclusive) method, which needs at least two samples."""
    cuts = statistics.quantiles(ms, n=100)
    return {
        "p50_ms": round(statistics.median(ms), digits),
        "p95_ms": round(cuts[94], digits),
        "p99_ms": round(cuts[98], digits),
    }


def print_table(header: Sequence[str], rows: Iterable[Iterable[object]]) -> None:
    """A Markdown table, columns padded to line up: what the README's "Measured" section pastes."""
    cells = [[str(cell) for cell in header], *([str(cell) for cell in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [[cell.ljust(width) for cell, width in zip(row, widths, strict=True)] for row in cells]
    lines.insert(1, ["-" * width for width in widths])
    for line in lines:
        print("| " + " | ".join(line) + " |")


def write_json(path: Path, result: object) -> None:
    """The benchmark's numbers as JSON at `path` (benchmarks/results/ is git-ignored)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
