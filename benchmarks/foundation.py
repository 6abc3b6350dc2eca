"""Foundation numbers on sample_data/: ingest rate (vs raw model.encode on the same texts) and /search latency.

Runs the real pipeline: `semsearch ingest` code path into a fresh Milvus Lite .db, then `semsearch serve` as a
real uvicorn process, then N sequential POST /search requests over loopback. Prints one table, writes JSON.

    .venv/bin/python benchmarks/foundation.py [--queries 100] [--json benchmarks/results/foundation.json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
MODES = ("dense", "keyword", "hybrid")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/foundation.json")
    args = parser.parse_args()
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))

    from ingest.loaders import TableOptions
    from ingest.pipeline import ingest_files
    from ingest.sinks import EngineSink
    from ingest.sources import discover
    from semsearch.engine import Engine
    from semsearch.logs import quiet_libraries
    from semsearch.settings import Settings

    quiet_libraries()
    workdir = Path(tempfile.mkdtemp(prefix="semsearch-bench-"))
    settings = Settings(milvus_uri=str(workdir / "bench.db"), collection="bench", _env_file=None)
    engine = Engine.open(settings, create=True)
    files = discover(["sample_data"]).files

    started = time.perf_counter()
    report = ingest_files(files, EngineSink(engine), TableOptions())
    ingest_s = time.perf_counter() - started
    chunk_texts = [row["text"] for row in engine.store.scan("", ["id", "text"])]
    started = time.perf_counter()
    engine.embedder.embed_documents(chunk_texts)
    encode_s = time.perf_counter() - started
    started = time.perf_counter()
    again = ingest_files(files, EngineSink(engine), TableOptions())
    reingest_s = time.perf_counter() - started
    engine.close()

    latencies = _search_latencies(settings.milvus_uri, settings.collection, args.queries, MODES)
    results = {
        "documents": report.stats.documents,
        "chunks": report.stats.chunks,
        "ingest_s": round(ingest_s, 2),
        "ingest_docs_per_s": round(report.stats.documents / ingest_s, 1),
        "ingest_chunks_per_s": round(report.stats.chunks / ingest_s, 1),
        "raw_encode_chunks_per_s": round(len(chunk_texts) / encode_s, 1),
        "ingest_vs_raw_encode": round((report.stats.chunks / ingest_s) / (len(chunk_texts) / encode_s), 2),
        "reingest_s": round(reingest_s, 2),
        "reingest_embedded": again.stats.embedded,
        "search_queries_per_mode": args.queries,
    }
    for mode, values in latencies.items():
        results[f"search_{mode}_p50_ms"] = round(statistics.median(values), 2)
        results[f"search_{mode}_p95_ms"] = round(statistics.quantiles(values, n=20)[18], 2)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    width = max(map(len, results))
    print(f"{'metric'.ljust(width)}  value")
    for key, value in results.items():
        print(f"{key.ljust(width)}  {value}")


def _search_latencies(uri: str, collection: str, n: int, modes: tuple[str, ...]) -> dict[str, list[float]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "SEMSEARCH_MILVUS_URI": uri, "SEMSEARCH_COLLECTION": collection}
    server = subprocess.Popen(
        [sys.executable, "-m", "search_api", "--port", str(port), "--log-level", "warning"], env=env, cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(600):
                try:
                    if client.get("/ready").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            for query in QUERIES:  # warm-up
                client.post("/search", json={"query": query, "top_k": 10}).raise_for_status()
            latencies: dict[str, list[float]] = {mode: [] for mode in modes}
            for mode in modes:
                for i in range(n):
                    body = {"query": QUERIES[i % len(QUERIES)] + f" {i}", "top_k": 10, "mode": mode}
                    started = time.perf_counter()
                    client.post("/search", json=body).raise_for_status()
                    latencies[mode].append((time.perf_counter() - started) * 1000)
            return latencies
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
