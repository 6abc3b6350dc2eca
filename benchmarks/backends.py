"""`POST /search` latency on Milvus Lite vs a Milvus server, over the same 20k-chunk collection.

Both collections get identical rows, written through the store (MilvusStore.upsert_chunks): 20,000 chunks of real
sample_data text, each with a random unit vector (embedding 20k chunks would take ~15 min on 2 cores, and search
latency depends on the collection's size and index, not on what the vectors mean). The API runs as a real uvicorn
process (`python -m search_api`) per backend, both up at once and queried alternately (dense mode: the 2.3 server
has no BM25); queries are embedded by the real model in each API process. `milvus_p50_ms` times the store's
dense search alone (no HTTP, no model), Milvus's own share of a request. The server is
Milvus standalone 2.3.5 from the `milvus` package (`milvus-server`), started here on free ports, or `--server-uri`.

    .venv/bin/python benchmarks/backends.py [--chunks 20000] [--queries 200] [--server-uri http://host:19530]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import ExitStack, nullcontext
from pathlib import Path

import httpx
import numpy as np
from _common import QUERIES, RESULTS, ROOT, api_server, in_the_repo, milvus_server, percentiles, print_table, write_json

COLLECTION = "bench_backends"
#: Searches sent straight through the store (no HTTP, no model): Milvus's own share of a /search.
QUERY_PROBES = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--server-uri", default=None, help="Use this Milvus server instead of starting one.")
    parser.add_argument("--json", type=Path, default=RESULTS / "backends.json")
    args = parser.parse_args()
    in_the_repo()
    workdir = Path(tempfile.mkdtemp(prefix="semsearch-backends-"))
    rows = _rows(args.chunks)
    with nullcontext(args.server_uri) if args.server_uri else milvus_server(workdir / "milvus") as server_uri:
        uris = {"milvus-lite": str(workdir / "bench.db"), "milvus-server": server_uri}
        results = {backend: _load(uri, rows) for backend, uri in uris.items()}
        latencies = _search_latencies(uris, args.queries)
    for backend, values in latencies.items():
        results[backend]["queries"] = len(values)
        results[backend] |= {f"dense_{key}": value for key, value in percentiles(values).items()}
    write_json(args.json, results)
    keys = list(next(iter(results.values())))
    print_table(
        ["backend", *keys], ([backend, *(values.get(key, "-") for key in keys)] for backend, values in results.items())
    )


def _rows(n: int) -> list[dict]:
    from semsearch.chunking import storage_key

    texts = [
        paragraph.strip()
        for path in sorted((ROOT / "sample_data").rglob("*.md"))
        for paragraph in path.read_text().split("\n\n")
        if len(paragraph.strip()) > 40
    ]
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [
        {
            "id": storage_key(f"doc-{i // 4}", i % 4),
            "doc_id": f"doc-{i // 4}",
            "chunk_index": i % 4,
            "text": texts[i % len(texts)][:2000],
            "source": "bench",
            "char_start": 0,
            "char_end": len(texts[i % len(texts)][:2000]),
            "content_hash": "bench",
            "metadata": {"format": ("md", "txt", "html")[i % 3]},
            "embedding": vectors[i].tolist(),
        }
        for i in range(n)
    ]


def _load(uri: str, rows: list[dict]) -> dict[str, float | int | str]:
    from semsearch.engine import Engine
    from semsearch.settings import Settings

    engine = Engine.open(Settings(milvus_uri=uri, collection=COLLECTION, _env_file=None), create=True)
    started = time.perf_counter()
    engine.store.upsert_chunks(rows)
    insert_s = time.perf_counter() - started
    capabilities = engine.store.capabilities
    probes = np.random.default_rng(11).standard_normal((QUERY_PROBES, 384)).astype(np.float32)
    for vector in probes[:10]:  # warm-up
        engine.store.dense_search(vector / np.linalg.norm(vector), 10)
    store_ms = []
    for vector in probes:
        started = time.perf_counter()
        engine.store.dense_search(vector / np.linalg.norm(vector), 10)
        store_ms.append((time.perf_counter() - started) * 1000)
    result = {
        "version": capabilities.version,
        "index": capabilities.dense_index,
        "chunks": engine.store.count(),
        "insert_s": round(insert_s, 2),
        "milvus_p50_ms": round(statistics.median(store_ms), 2),
    }
    engine.close()  # Milvus Lite: the API process opens the .db next
    return result


def _search_latencies(uris: dict[str, str], n: int) -> dict[str, list[float]]:
    """Dense /search over both APIs at once, alternating request by request, so that load from anything else on
    the machine falls on both backends alike (dense is the one mode both have: the 2.3 server lacks BM25)."""
    with ExitStack() as stack:
        clients = {}
        for backend, uri in uris.items():
            api = stack.enter_context(api_server({"SEMSEARCH_MILVUS_URI": uri, "SEMSEARCH_COLLECTION": COLLECTION}))
            clients[backend] = stack.enter_context(httpx.Client(base_url=api.base, timeout=30))
        for client in clients.values():
            for query in QUERIES:  # warm-up
                client.post("/search", json={"query": query, "mode": "dense"}).raise_for_status()
        latencies: dict[str, list[float]] = {backend: [] for backend in uris}
        for i in range(n):
            body = {"query": f"{QUERIES[i % len(QUERIES)]} {i}", "top_k": 10, "mode": "dense"}
            for backend, client in clients.items():
                started = time.perf_counter()
                client.post("/search", json=body).raise_for_status()
                latencies[backend].append((time.perf_counter() - started) * 1000)
        return latencies


if __name__ == "__main__":
    main()
