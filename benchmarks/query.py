"""/search under load: a real uvicorn server, 1, 4 and 16 concurrent HTTP clients over loopback, fixed duration.

The collection holds 20,000 chunks: the SciFact corpus chunks (sample_data/ when SciFact is absent) plus synthetic
variants (the same texts under new ids, vectors nudged by small noise and renormalised), built once and cached in
benchmarks/results/query-db/. Every request's query is unique by default (a SciFact query plus its row and a
counter), so the query-embedding cache does not flatter the numbers; `--repeat-queries` measures the cached path.
`server took` is the `took_ms` the API reports (embedding and Milvus, no HTTP): the rest of a latency is HTTP,
FastAPI and the client.

    .venv/bin/python benchmarks/query.py [--seconds 15] [--clients 1,4,16] [--modes dense,hybrid]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

import httpx
from _common import RESULTS, ROOT, api_server, in_the_repo, percentiles, print_table, write_json

SCIFACT = ROOT.parent / "shared" / "beir" / "scifact"
#: The collection this benchmark builds (and extends to `--chunks`); any other is measured as it is.
BENCH_COLLECTION = "bench20k"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="per concurrency level and mode")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--modes", default="dense,hybrid")
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--repeat-queries", action="store_true", help="reuse the query texts (cache hits)")
    parser.add_argument("--db", type=Path, default=RESULTS / "query-db" / "milvus.db")
    parser.add_argument(
        "--collection",
        default=BENCH_COLLECTION,
        help="e.g. eval_scifact in a `semsearch eval` .db copy: any other collection is measured as is, never extended",
    )
    parser.add_argument("--json", type=Path, default=RESULTS / "query.json")
    args = parser.parse_args()
    in_the_repo()

    target = args.chunks if args.collection == BENCH_COLLECTION else 0  # only the benchmark's own is built
    chunks = _build_collection(args.db, args.collection, target)
    queries = _queries()
    env = {
        "SEMSEARCH_MILVUS_URI": str(args.db),
        "SEMSEARCH_COLLECTION": args.collection,
        "SEMSEARCH_MODEL_CACHE": str(RESULTS / "models"),
    }
    rows = []
    with api_server(env) as api:
        backend = _served_backend()
        for mode in args.modes.split(","):
            for clients in (int(c) for c in args.clients.split(",")):
                unique = "" if args.repeat_queries else f"{mode}{clients}-"  # no row reuses another row's texts
                stats = asyncio.run(_load(api.base, queries, mode, clients, args.seconds, unique))
                rows.append({"mode": mode, "clients": clients, **stats})
        server_rss = _peak_rss_mb(api.pid)
    write_json(args.json, {"chunks": chunks, "backend": backend, "server_peak_rss_mb": server_rss, "rows": rows})
    print(f"/search load: {chunks} chunks, backend {backend}, {args.seconds:.0f} s a row, server RSS {server_rss} MB")
    columns = ["mode", "clients", "requests", "qps", "p50_ms", "p95_ms", "p99_ms", "took_p50_ms", "errors"]
    header = ["mode", "clients", "requests", "QPS", "p50 ms", "p95 ms", "p99 ms", "server took p50 ms", "errors"]
    print_table(header, ([row[key] for key in columns] for row in rows))


def _build_collection(db: Path, collection: str, target: int) -> int:
    """The benchmark collection, built once: real chunks first, then synthetic variants up to `target` (0: use the
    collection as it is)."""
    import numpy as np

    from ingest.loaders import TableOptions
    from ingest.pipeline import ingest_files
    from ingest.sinks import EngineSink
    from ingest.sources import discover
    from semsearch.engine import Engine
    from semsearch.settings import Settings
    from semsearch.store.schema import VECTOR_FIELD

    db.parent.mkdir(parents=True, exist_ok=True)
    settings = Settings(milvus_uri=str(db), collection=collection, model_cache=str(RESULTS / "models"), _env_file=None)
    settings = settings.model_copy(update={"backend": os.environ.get("SEMSEARCH_BACKEND", "onnx-int8")})
    engine = Engine.open(settings, create=target > 0)
    try:
        count = engine.store.count()
        if count >= target:
            return count
        if count == 0:
            corpus = SCIFACT / "corpus.jsonl" if (SCIFACT / "corpus.jsonl").is_file() else ROOT / "sample_data"
            print(f"building the {target}-chunk collection from {corpus} (once)", file=sys.stderr)
            ingest_files(discover([str(corpus)]).files, EngineSink(engine), TableOptions())
        real = [row for row in engine.store.scan("", [*STATE, VECTOR_FIELD]) if "~v" not in row["doc_id"]]
        rng = np.random.default_rng(0)
        variant, count = 1, engine.store.count()
        while count < target:
            batch = []
            for row in real[: target - count]:
                vector = np.asarray(row[VECTOR_FIELD], dtype=np.float32) + rng.normal(0, 0.02, 384).astype(np.float32)
                doc_id = f"{row['doc_id']}~v{variant}"
                index = int(row["id"].rsplit(":", 1)[1])
                batch.append(_variant_row(row, doc_id, index, vector / np.linalg.norm(vector)))
            engine.store.upsert_chunks(batch)
            count, variant = engine.store.count(), variant + 1
        return count
    finally:
        engine.close()


STATE = ["id", "doc_id", "text", "source", "char_start", "char_end", "content_hash", "metadata"]


def _variant_row(row: dict, doc_id: str, index: int, vector) -> dict:
    from semsearch.chunking import storage_key

    return {
        "id": storage_key(doc_id, index),
        "doc_id": doc_id,
        "chunk_index": index,
        "text": row["text"],
        "source": row["source"],
        "char_start": row["char_start"],
        "char_end": row["char_end"],
        "content_hash": row["content_hash"],
        "metadata": row["metadata"],
        "embedding": vector.tolist(),
    }


def _queries() -> list[str]:
    path = SCIFACT / "queries.jsonl"
    if path.is_file():
        return [json.loads(line)["text"] for line in path.open()]
    return ["calculate money amounts without losing cents", "roll dice in a simulation", "read a compressed archive"]


async def _load(base: str, queries: list[str], mode: str, clients: int, seconds: float, unique: str) -> dict:
    """`clients` tasks, each sending one request after another until the time is up. With `unique` (a tag for this
    row), every query text is new, so the server's query-vector cache never answers."""
    latencies: list[float] = []
    took: list[float] = []  # the server's own time per request (`took_ms`: search and embed, no HTTP)
    errors = 0
    counter = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        for query in queries[:20]:  # warm-up
            await client.post("/search", json={"query": query, "top_k": 10, "mode": mode})
        deadline = time.perf_counter() + seconds

        async def one_client() -> None:
            nonlocal errors, counter
            while time.perf_counter() < deadline:
                counter += 1
                query = queries[counter % len(queries)] + (f" {unique}{counter}" if unique else "")
                started = time.perf_counter()
                try:
                    response = await client.post("/search", json={"query": query, "top_k": 10, "mode": mode})
                    ok = response.status_code == 200
                    if ok:
                        took.append(response.json()["took_ms"])
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - started) * 1000)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "qps": round(len(latencies) / elapsed, 1),
        **percentiles(latencies),
        "took_p50_ms": round(statistics.median(took), 2) if took else None,
        "errors": errors,
    }


def _served_backend() -> str:
    """The server's embedding backend: it inherits this environment and working directory, so its Settings match."""
    from semsearch.settings import Settings

    return Settings().backend


def _peak_rss_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


if __name__ == "__main__":
    main()
