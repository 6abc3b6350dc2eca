"""Time-to-ready of `semsearch serve` on a big Milvus Lite collection: when `/health` answers, what `/ready` says
while the collection loads, and when it answers 200 (or that the process died, with its last words).

The collection (cached between runs under benchmarks/results/) is written through the store as
`benchmarks/backends.py` does: real sample_data text, random unit vectors (what a load costs depends on the number
of rows and their size, not on what the vectors mean), in batches of 20,000 rows so the build stays small in memory.
The API runs as a real process (`python -m search_api`) with default settings, the benchmark's collection name aside.

    .venv/bin/python benchmarks/startup.py [--chunks 200000] [--timeout 900] [--db PATH]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import RESULTS, ROOT, SEARCH_API, free_port, in_the_repo, print_table, write_json

COLLECTION = "bench_startup"
BUILD_BATCH = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=200_000)
    parser.add_argument("--timeout", type=float, default=900, help="Give up waiting for /ready after this long.")
    parser.add_argument("--db", type=Path, default=None, help="Milvus Lite file (default: cached per size).")
    parser.add_argument("--build-only", action="store_true", help="Build (or check) the collection and stop.")
    parser.add_argument("--json", type=Path, default=RESULTS / "startup.json")
    args = parser.parse_args()
    in_the_repo()
    db = args.db or RESULTS / f"startup-{args.chunks}" / "milvus.db"
    build(db, args.chunks)
    if args.build_only:
        return
    result = {"chunks": args.chunks, "db_mb": round(_size(db) / 2**20)} | time_to_ready(db, args.timeout)
    write_json(args.json, result)
    print_table(list(result), [list(result.values())])


def build(db: Path, n: int) -> None:
    """The collection with `n` chunks in `db`, written unless it already holds them."""
    from semsearch.embedder import Embedder
    from semsearch.settings import Settings
    from semsearch.store import MilvusStore

    settings = Settings(milvus_uri=str(db), collection=COLLECTION, milvus_timeout=3600, _env_file=None)
    store = MilvusStore.connect(settings)
    try:
        embedder = Embedder.load(settings)
        store.open(embedder.model_id, embedder.dim, create=True)
        have = store.count()
        if have >= n:
            return
        started = time.perf_counter()
        for start in range(have, n, BUILD_BATCH):
            rows = _rows(start, min(start + BUILD_BATCH, n))  # ids follow the row number: a rerun resumes
            store.upsert_chunks(rows)
            print(f"built {start + len(rows)} chunks in {time.perf_counter() - started:.0f} s", flush=True)
    finally:
        store.close()


def _rows(start: int, stop: int) -> list[dict]:
    """Rows `start`..`stop` as `benchmarks/backends.py` writes them (four chunks per document, real text)."""
    import numpy as np

    from semsearch.chunking import storage_key

    texts = [
        paragraph.strip()[:2000]
        for path in sorted((ROOT / "sample_data").rglob("*.md"))
        for paragraph in path.read_text().split("\n\n")
        if len(paragraph.strip()) > 40
    ]
    vectors = np.random.default_rng(start).standard_normal((stop - start, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [
        {
            "id": storage_key(f"doc-{i // 4}", i % 4),
            "doc_id": f"doc-{i // 4}",
            "chunk_index": i % 4,
            "text": texts[i % len(texts)],
            "source": "bench",
            "char_start": 0,
            "char_end": len(texts[i % len(texts)]),
            "content_hash": "bench",
            "metadata": {"format": ("md", "txt", "html")[i % 3]},
            "embedding": vector.tolist(),
        }
        for i, vector in zip(range(start, stop), vectors, strict=True)
    ]


def time_to_ready(
    db: Path | str,
    timeout: float,
    collection: str = COLLECTION,
    then: Callable[[str, int], dict[str, object]] | None = None,
) -> dict[str, object]:
    """Start the API on `db` (a Lite file or a server URI) and poll it: seconds to the first /health 200 and to
    /ready 200, the last /ready body while loading, and the exit code and stderr tail if the process died first.
    Once ready, `then(base_url, pid)` (if given) measures the running API and its results join these."""
    import httpx

    port = free_port()
    env = {**os.environ, "SEMSEARCH_MILVUS_URI": str(db), "SEMSEARCH_COLLECTION": collection}
    for name in ("SEMSEARCH_MILVUS_TIMEOUT", "SEMSEARCH_MILVUS_READ_TIMEOUT"):
        env.pop(name, None)  # default settings
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([*SEARCH_API, "--port", str(port)], env=env, cwd=ROOT, stderr=log, stdout=log)
        base, started = f"http://127.0.0.1:{port}", time.monotonic()
        result: dict[str, object] = {"health_s": "-", "ready_s": "-", "loading_seen": 0, "last_loading": "-"}
        try:
            while time.monotonic() - started < timeout:
                if process.poll() is not None:
                    log.seek(0)
                    tail = log.read().decode(errors="replace").strip().splitlines()[-3:]
                    return result | {"exit_code": process.returncode, "died_after_s": _since(started), "log": tail}
                try:
                    if result["health_s"] == "-" and httpx.get(f"{base}/health", timeout=2).status_code == 200:
                        result["health_s"] = _since(started)
                    ready = httpx.get(f"{base}/ready", timeout=2)
                except httpx.HTTPError:
                    time.sleep(0.25)
                    continue
                if ready.status_code == 200:
                    result |= {"ready_s": _since(started)}
                    return result | (then(base, process.pid) if then else {})
                body = ready.json()
                if body.get("status") == "loading":
                    result["loading_seen"] = int(result["loading_seen"]) + 1  # type: ignore[call-overload]
                    result["last_loading"] = body.get("detail", "")
                time.sleep(0.25)
            return result | {"timed_out_s": timeout}
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=60)


def _since(started: float) -> float:
    return round(time.monotonic() - started, 1)


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


if __name__ == "__main__":
    main()
