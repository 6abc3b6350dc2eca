"""Milvus Lite's own search time by metric and index type, and its fixed cost per call: the floor under `/search`.

Why: `/search` p50 on Milvus Lite is mostly Milvus's dense search, so its metric and index are worth choosing by
measurement. Collections of `--n` random unit vectors (what a vector means does not change brute-force cost) are
searched one query at a time, top 10, straight through pymilvus (no HTTP, no model), after inserting in batches of
1,000 as ingest does. `primary-key query` is a lookup by id: the round trip with almost no search in it.

    .venv/bin/python benchmarks/milvus_search.py [--n 20000] [--queries 300]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _common import RESULTS, percentiles, print_table, write_json
from pymilvus import DataType, MilvusClient

DIM = 384
BATCH = 1_000
WARMUP = 20
#: (metric, index type, build params, search params); Milvus Lite 2.5 accepts FLAT, IVF_FLAT and AUTOINDEX.
VARIANTS = [
    ("COSINE", "FLAT", {}, {}),
    ("IP", "FLAT", {}, {}),
    ("IP", "IVF_FLAT", {"nlist": 128}, {"nprobe": 8}),
    ("IP", "AUTOINDEX", {}, {}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="vectors per collection")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--json", type=Path, default=RESULTS / "milvus_search.json")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    vectors = _unit(rng.standard_normal((args.n, DIM), dtype=np.float32))
    queries = _unit(rng.standard_normal((args.queries + WARMUP, DIM), dtype=np.float32))
    client = MilvusClient(str(Path(tempfile.mkdtemp(prefix="semsearch-milvus-search-")) / "bench.db"))
    rows = []
    for metric, index, build, search in VARIANTS:
        name = f"{metric}_{index}".lower()
        _create(client, name, metric, index, build, vectors)
        params = {"metric_type": metric, "params": search}
        for when in ("fresh", "reloaded"):
            if when == "reloaded":  # sealed segments, loaded from disk: where an index is actually built
                client.flush(name)
                client.release_collection(name)
                client.load_collection(name)
            times = _time(_searcher(client, name, params), queries)
            rows.append({"search": f"{metric} {index}", "rows": when, **times})
    times = _time(lambda _: client.query("ip_flat", filter="id == 7", output_fields=["id"]), queries)
    rows.append({"search": "primary-key query", "rows": "reloaded", **times})
    client.close()
    write_json(args.json, {"n": args.n, "dim": DIM, "queries": args.queries, "rows": rows})
    print(f"Milvus Lite search, {args.n:,} x {DIM} unit vectors, top 10, {args.queries} queries each")
    print_table(["search", "rows", "p50 ms", "p95 ms", "p99 ms"], (row.values() for row in rows))


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _searcher(client: MilvusClient, name: str, params: dict) -> Callable[[np.ndarray], object]:
    return lambda query: client.search(name, data=[query.tolist()], limit=10, search_params=params)


def _create(client: MilvusClient, name: str, metric: str, index: str, build: dict, vectors: np.ndarray) -> None:
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    index_params = client.prepare_index_params()
    index_params.add_index(field_name="vector", index_type=index, metric_type=metric, params=build)
    client.create_collection(name, schema=schema, index_params=index_params)
    for start in range(0, len(vectors), BATCH):
        batch = vectors[start : start + BATCH]
        client.insert(name, [{"id": start + i, "vector": v.tolist()} for i, v in enumerate(batch)])


def _time(call: Callable[[np.ndarray], object], queries: np.ndarray) -> dict[str, float]:
    ms = []
    for query in queries:
        start = time.perf_counter()
        call(query)
        ms.append((time.perf_counter() - start) * 1000)
    return percentiles(ms[WARMUP:])


if __name__ == "__main__":
    sys.exit(main())
