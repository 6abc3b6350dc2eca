"""Where a dense `/search`'s time goes on a built server collection: HTTP, the model's query embedding, Milvus.

Why: `scale.py` measures dense p50 over HTTP, which is the sum of the client and HTTP, the API's own work, the
query's embedding and Milvus's search, all on a machine other work shares. This splits it, on the collection
`scale.py` built and indexed (built here only if its cache has none; nothing is rebuilt). Per query, one after
the other so every part meets the same machine load:
- `HTTP /search`: a real `python -m search_api` (default settings) on the collection, timed at the client;
  `took_ms` is what the API reports for the same request (embedding and Milvus, no HTTP);
- `model alone`: the same kind of unique query text embedded in this process (`Embedder.embed_queries`, one text,
  as the API's batcher sends a lone request);
- `Milvus alone, ef E`: one query vector near real rows (`_corpus.recall_queries`) searched through the product's
  store (`dense_search`: its output fields and consistency), top 10, for each `--ef`; recall@10 against the exact
  top 10 (numpy).
The load average is read before and after.

    .venv/bin/python benchmarks/dense_parts.py [--sizes 1000000] [--queries 200] [--ef 64,128] [--server-uri URI]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from _common import QUERIES, RESULTS, api_server, in_the_repo, percentiles, print_table, write_json
from _corpus import exact_top, recall_queries, row_number

WARMUP = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef", default="64,128")
    parser.add_argument("--server-uri", default=None)
    parser.add_argument("--json", type=Path, default=RESULTS / "dense_parts.json")
    args = parser.parse_args()
    in_the_repo()
    os.environ.setdefault("SEMSEARCH_MODEL_CACHE", str(Path("data/models").resolve()))
    from scale import build, the_server

    efs = [int(ef) for ef in args.ef.split(",")]
    vectors = recall_queries(args.queries)
    results = {}
    with the_server(["server"], args.server_uri) as uri:
        for n in [int(size) for size in args.sizes.split(",")]:
            # scale.py's cached collection, built and indexed whole only if it has none. No flush here: right after
            # a restart Milvus 2.3.5 refuses one ("node not match") until its channels are reassigned.
            collection = build("server", uri, n)
            results[n] = measure(uri, collection, vectors, exact_top(n, vectors), efs, args.queries)
            write_json(args.json, results)
    for n, parts in results.items():
        print(f"\nserver 2.3.5, {n:,} chunks, {args.queries} queries ({time.strftime('%Y-%m-%d %H:%M')})")
        print_table(["part", "p50 ms", "p95 ms", "recall@10"], ([name, *row] for name, row in parts["parts"].items()))
        print(f"load average before {parts['load before']}, after {parts['load after']}, {os.cpu_count()} cores")


def measure(uri: str, collection: str, vectors, truth: list[set[int]], efs: list[int], queries: int) -> dict:
    """Each part's p50/p95 (and recall for Milvus), the parts taken in turn for every query."""
    import httpx

    from semsearch.engine import Engine
    from semsearch.settings import Settings

    engine = Engine.open(
        Settings(milvus_uri=uri, collection=collection, milvus_timeout=3600, _env_file=None), create=False
    )
    embedder, store = engine.embedder, engine.store
    ms: dict[str, list[float]] = {"HTTP /search": [], "took_ms (API)": [], "model alone": []}
    ms |= {f"Milvus alone, ef {ef}": [] for ef in efs}
    found = dict.fromkeys(efs, 0)
    env = {"SEMSEARCH_MILVUS_URI": uri, "SEMSEARCH_COLLECTION": collection}
    load_before = _load()
    try:
        with api_server(env, timeout=1800) as api, httpx.Client(base_url=api.base, timeout=60) as http:
            for i in range(WARMUP):
                http.post("/search", json={"query": f"warm {i} {QUERIES[i % len(QUERIES)]}", "mode": "dense"})
                embedder.embed_queries([f"warm {i}"])
                _milvus(store, vectors[i % len(vectors)], efs[-1])
            for i, (vector, exact) in enumerate(zip(vectors, truth, strict=True)):
                text = f"{QUERIES[i % len(QUERIES)]} parts {i}"
                started = time.perf_counter()
                response = http.post("/search", json={"query": text, "top_k": 10, "mode": "dense"})
                ms["HTTP /search"].append(_since(started))
                ms["took_ms (API)"].append(float(response.json()["took_ms"]))
                started = time.perf_counter()
                embedder.embed_queries([f"{text} alone"])
                ms["model alone"].append(_since(started))
                for ef in efs:
                    started = time.perf_counter()
                    hits = _milvus(store, vector, ef)
                    ms[f"Milvus alone, ef {ef}"].append(_since(started))
                    found[ef] += len(exact & {row_number(hit.doc_id, hit.chunk_index) for hit in hits})
    finally:
        engine.close()
    parts = {}
    for name, values in ms.items():
        cut = percentiles(values, digits=1)
        ef = int(name.rsplit(" ", 1)[1]) if name.startswith("Milvus") else None
        recall = round(found[ef] / (10 * queries), 3) if ef else "-"
        parts[name] = [cut["p50_ms"], cut["p95_ms"], recall]
    return {"parts": parts, "load before": load_before, "load after": _load()}


def _milvus(store, vector, ef: int) -> list:
    """One top-10 search through the product's store (its output fields and consistency) with HNSW's `ef`."""
    from semsearch.store.indexes import DenseIndex

    store.dense_index = DenseIndex("HNSW", search={"ef": ef})
    return store.dense_search(vector, 10)


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
