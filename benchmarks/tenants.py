"""Tenants in one collection: what a tenant's search costs against an unfiltered one, on the Milvus 2.3.5 server.

`--tenants` tenants of `--per-tenant` chunks each (rows from `_corpus.py`: real sample_data text, vectors near real
embeddings) are written twice: into a multi-tenant collection (the tenant is Milvus's partition key on a server, a
plain field on Milvus Lite; every call goes through the store's tenant scope, `semsearch/store/tenants.py`), and
into an ordinary collection with the tenant in each chunk's metadata. Then `--queries` dense top-10 searches,
through the store as the engine makes them (no model: the query vectors are made like the rows), each for a random
tenant, which has `--per-tenant` >= 10 chunks, so a search that finds fewer than 10 hits missed some:
- `tenant (scope)`: the multi-tenant collection, through `store.for_tenant(t)`: `tenant == "t"` and the key space;
- `unfiltered`: the ordinary collection, no filter (every tenant's chunks: what a single-tenant collection costs);
- `metadata filter`: the ordinary collection, `{"tenant": t}` as a metadata filter (tenants without the feature).
The server is Milvus standalone 2.3.5 (`milvus-server`, started here on free ports) unless `--server-uri`.

    .venv/bin/python benchmarks/tenants.py [--backends server,lite] [--tenants 1000] [--per-tenant 20]
        [--queries 300]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from contextlib import nullcontext
from datetime import date
from pathlib import Path

from _common import RESULTS, in_the_repo, milvus_server, percentiles, print_table, write_json
from _corpus import chunk_rows, recall_queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="server")
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--per-tenant", type=int, default=20)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--server-uri", default=None)
    parser.add_argument("--json", type=Path, default=RESULTS / "tenants.json")
    args = parser.parse_args()
    in_the_repo()
    workdir = Path(tempfile.mkdtemp(prefix="semsearch-tenants-"))
    results: dict[str, dict] = {}
    try:
        wants_server = "server" in args.backends.split(",") and not args.server_uri
        with milvus_server(workdir / "milvus") if wants_server else nullcontext(args.server_uri) as server_uri:
            for backend in args.backends.split(","):
                uri = str(workdir / "tenants.db") if backend == "lite" else server_uri
                results[backend] = measure(uri, args.tenants, args.per_tenant, args.queries)
                write_json(args.json, results)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    n = args.tenants * args.per_tenant
    print(f"{date.today()}: {args.tenants:,} tenants x {args.per_tenant} chunks = {n:,} chunks; dense top 10, ms")
    rows = []
    for backend, figures in results.items():
        for name, stats in figures["searches"].items():
            row = [backend, name, stats["p50_ms"], stats["p95_ms"], stats["hits_per_query"], figures["load_average"]]
            rows.append(row)
    print_table(["backend", "search", "p50 ms", "p95 ms", "hits of 10", "load average (1 min)"], rows)
    print_table(
        ["backend", "writing the multi-tenant collection s", "writing the ordinary one s"],
        ([b, f["write_s"]["multi_tenant"], f["write_s"]["ordinary"]] for b, f in results.items()),
    )


def measure(uri: str, tenants: int, per_tenant: int, queries: int) -> dict:
    """Build both collections at `uri`, search them, drop them (on a server); the figures."""
    from semsearch.engine import Engine
    from semsearch.filters import compile_filter
    from semsearch.settings import Settings

    names = [f"t{number:05d}" for number in range(tenants)]
    rows = chunk_rows(0, tenants * per_tenant)
    for number, row in enumerate(rows):
        row["metadata"] = {**row["metadata"], "tenant": names[number // per_tenant]}
    base = {"milvus_uri": uri, "milvus_timeout": 600, "_env_file": None}
    multi = Engine.open(Settings(collection="bench_tenants", multi_tenant=True, **base), create=True, load=True)
    ordinary = Engine.open(Settings(collection="bench_tenants_flat", **base), create=True, load=True)
    try:
        started = time.perf_counter()
        for number, name in enumerate(names):
            multi.store.for_tenant(name).insert_chunks(rows[number * per_tenant : (number + 1) * per_tenant])
        written_multi = time.perf_counter() - started
        started = time.perf_counter()
        ordinary.store.insert_chunks(rows)
        written_ordinary = time.perf_counter() - started
        assert multi.store.count() == ordinary.store.count() == len(rows)
        vectors = recall_queries(queries)
        picks = random.Random(7).choices(names, k=queries)
        keys = ordinary.store.refresh_metadata_keys()
        searches = {
            "tenant (scope)": lambda v, t: multi.store.for_tenant(t).dense_search(v, 10),
            "unfiltered": lambda v, t: ordinary.store.dense_search(v, 10),
            "metadata filter": lambda v, t: ordinary.store.dense_search(v, 10, compile_filter({"tenant": t}, keys)),
        }
        for search in searches.values():  # warm: the first searches of a loaded collection are slower
            for vector, tenant in zip(vectors[:20], picks[:20], strict=True):
                search(vector, tenant)
        figures = {}
        for name, search in searches.items():
            times, found = [], 0
            for vector, tenant in zip(vectors, picks, strict=True):
                began = time.perf_counter()
                hits = search(vector, tenant)
                times.append((time.perf_counter() - began) * 1000)
                found += len(hits)
                if name != "unfiltered":
                    assert all(hit.metadata["tenant"] == tenant for hit in hits), (name, tenant)
            figures[name] = {**percentiles(times), "hits_per_query": round(found / queries, 2)}
            print(f"{uri} {name}: {figures[name]}", flush=True)
        return {
            "searches": figures,
            "write_s": {"multi_tenant": round(written_multi, 1), "ordinary": round(written_ordinary, 1)},
            "load_average": round(os.getloadavg()[0], 1),
        }
    finally:
        for engine in (multi, ordinary):
            if not uri.endswith(".db"):
                engine.store.client.drop_alias(engine.store.collection)
                engine.store.client.drop_collection(engine.store.target)
                engine.store.client.drop_collection(f"{engine.store.collection}__keys")
            engine.close()


if __name__ == "__main__":
    main()
