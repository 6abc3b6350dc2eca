"""Foundation numbers on sample_data/: ingest rate (vs raw model.encode on the same texts) and /search latency.

Runs the real pipeline: `semsearch ingest` code path into a fresh Milvus Lite .db, then `semsearch serve` as a
real uvicorn process, then N sequential POST /search requests over loopback. Prints one table, writes JSON.

    .venv/bin/python benchmarks/foundation.py [--queries 100] [--json benchmarks/results/foundation.json]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx
from _common import QUERIES, RESULTS, api_server, in_the_repo, percentiles, print_table, write_json

MODES = ("dense", "keyword", "hybrid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--json", type=Path, default=RESULTS / "foundation.json")
    args = parser.parse_args()
    in_the_repo()

    from ingest.loaders import TableOptions
    from ingest.pipeline import ingest_files
    from ingest.sinks import EngineSink
    from ingest.sources import discover
    from semsearch.engine import Engine
    from semsearch.settings import Settings

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
        results |= {f"search_{mode}_{key}": value for key, value in percentiles(values).items()}
    write_json(args.json, results)
    print_table(["metric", "value"], results.items())


def _search_latencies(uri: str, collection: str, n: int, modes: tuple[str, ...]) -> dict[str, list[float]]:
    with (
        api_server({"SEMSEARCH_MILVUS_URI": uri, "SEMSEARCH_COLLECTION": collection}) as api,
        httpx.Client(base_url=api.base, timeout=30) as client,
    ):
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


if __name__ == "__main__":
    main()
