"""Which dense index: recall@10 against exact search, and Milvus's own search p50, per index and size.

The collections are `benchmarks/scale.py`'s (built here if missing, cached under benchmarks/results/scale/): real
sample_data text with vectors near real embeddings (`_corpus.py`: a paragraph's all-MiniLM-L6-v2 embedding plus
noise), because uniformly random vectors are the worst case for clustering indexes and would undersell IVF. The
queries are 200 more such vectors with fresh noise: near real rows, never copies of one. The exact top 10 is computed
in numpy over the same vectors. Each variant drops the collection's dense index, builds its own (timed: `build s`
includes the load), and sends the queries one at a time straight through pymilvus (no HTTP, no model); the
collection gets the product's default index (`SEMSEARCH_INDEX=auto`) back at the end. Search-parameter sweeps (ef,
nprobe) reuse one build.

    .venv/bin/python benchmarks/indexes.py [--backends lite,server] [--sizes 20000,200000] [--queries 200]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

from _common import RESULTS, in_the_repo, print_table, write_json
from _corpus import exact_top, recall_queries, row_number

#: (index type, build params, [search params...]) per backend.
VARIANTS = {
    "lite": [
        ("FLAT", {}, [{}]),
        ("AUTOINDEX", {}, [{}]),
        ("IVF_FLAT", {"nlist": 1024}, [{"nprobe": 8}, {"nprobe": 32}, {"nprobe": 128}]),
    ],
    "server": [
        ("FLAT", {}, [{}]),
        ("HNSW", {"M": 16, "efConstruction": 200}, [{"ef": 16}, {"ef": 64}, {"ef": 128}]),
        ("IVF_FLAT", {"nlist": 1024}, [{"nprobe": 8}, {"nprobe": 32}, {"nprobe": 128}]),
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="lite,server")
    parser.add_argument("--sizes", default="20000,200000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--server-uri", default=None)
    parser.add_argument("--json", type=Path, default=RESULTS / "indexes.json")
    args = parser.parse_args()
    in_the_repo()
    from scale import build, lite_uri, the_server

    sizes = [int(size) for size in args.sizes.split(",")]
    queries = recall_queries(args.queries)
    results = []
    backends = args.backends.split(",")
    with the_server(backends, args.server_uri) as server_uri:
        for n in sizes:
            truth = exact_top(n, queries)
            for backend in backends:
                uri = lite_uri(n) if backend == "lite" else server_uri
                collection = build(backend, uri, n)
                for row in measure(uri, collection, backend, queries, truth):
                    results.append({"backend": backend, "chunks": n, **row})
                    print(results[-1], flush=True)
                    write_json(args.json, results)
    print_table(
        ["backend", "chunks", "index", "build params", "search params", "build + load s", "recall@10", "p50 ms"],
        (
            [r["backend"], f"{r['chunks']:,}", r["index"], r["build"], r["search"], r["build_s"], r["recall"], r["p50"]]
            for r in results
        ),
    )


def measure(uri: str, collection: str, backend: str, queries, truth: list[set[int]]) -> Iterator[dict]:
    """One row per variant and search parameters, yielded as measured (a big collection takes minutes each)."""
    from semsearch.settings import Settings
    from semsearch.store import MilvusStore
    from semsearch.store.indexes import choose

    store = MilvusStore.connect(Settings(milvus_uri=uri, collection=collection, milvus_timeout=3600, _env_file=None))
    client, target = store.client, store.resolve()
    try:
        for index, build_params, sweeps in VARIANTS[backend]:
            build_s = _rebuild(client, target, index, build_params)
            for params in sweeps:
                recall, p50 = _search(client, target, queries, truth, params)
                yield {"index": index, "build": build_params or "-", "search": params or "-", "build_s": build_s} | {
                    "recall": recall,
                    "p50": p50,
                }
        default = choose("auto", None, None, store.capabilities.backend)  # what the product would have built
        _rebuild(client, target, default.type, default.build)
    finally:
        store.close()


def _rebuild(client, target: str, index: str, params: dict) -> float:
    """Swap the dense index for `index`: release, drop, create, load; seconds until loaded."""
    from scale import unindexed

    from semsearch.store.schema import VECTOR_FIELD

    started = time.perf_counter()
    client.release_collection(target)
    client.drop_index(target, VECTOR_FIELD)
    index_params = client.prepare_index_params()
    index_params.add_index(field_name=VECTOR_FIELD, index_type=index, metric_type="IP", params=params)
    client.create_index(target, index_params)
    while unindexed(client.describe_index(target, VECTOR_FIELD)):
        time.sleep(1)
    client.load_collection(target, timeout=3600)
    return round(time.perf_counter() - started, 1)


def _search(client, target: str, queries, truth: list[set[int]], params: dict) -> tuple[float, float]:
    from semsearch.store.schema import VECTOR_FIELD

    search_params = {"metric_type": "IP", "params": params}
    kwargs = {"anns_field": VECTOR_FIELD, "limit": 10, "output_fields": ["doc_id", "chunk_index"]}
    for vector in queries[:10]:  # warm-up
        client.search(target, data=[vector.tolist()], search_params=search_params, **kwargs)
    found, ms = 0, []
    for vector, exact in zip(queries, truth, strict=True):
        started = time.perf_counter()
        hits = client.search(target, data=[vector.tolist()], search_params=search_params, **kwargs)[0]
        ms.append((time.perf_counter() - started) * 1000)
        found += len(exact & {row_number(h["entity"]["doc_id"], int(h["entity"]["chunk_index"])) for h in hits})
    return round(found / (10 * len(queries)), 3), round(statistics.median(ms), 2)


if __name__ == "__main__":
    main()
