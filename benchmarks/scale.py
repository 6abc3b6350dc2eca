"""Scale: 20k, 200k and 1M chunks on Milvus Lite and on the Milvus 2.3.5 server, one table per backend.

Each collection is built once through the store (`writes.write_steps`: real sample_data text, vectors near real
embeddings from `_corpus.py`, batches of 20,000 rows) with the write the product uses for new chunks: insert on
Milvus Lite (checked first in the product: `store_chunks`), upsert on a server. They are cached under
benchmarks/results/scale/ (git-ignored), with their build times, so a rerun only measures. Per size:
- `disk MB`: the Lite `.db` file (the server's data directory is shared by all sizes: n/a);
- `insert s`, `rows/s`: Milvus time of the build (no embedding);
- `ready s`: a fresh `python -m search_api` with default settings until `/ready` answers 200 (`startup.py`);
  `Milvus CPU s at ready`: the CPU time Milvus Lite (the API's child) had used by then, which on a shared machine
  says more about the load's cost than the wall time;
- `API RSS`, `Milvus RSS`: resident memory after the queries, of the API process (with Milvus Lite, which runs
  as its child, counted under Milvus) and of the Milvus server's processes;
- dense / keyword / hybrid p50 and p95 over HTTP, top 10, one client, every query text unique (no cache hits);
  the 2.3.5 server has no BM25 (n/a);
- `recall@10`: the default index with the product's search parameters (`store.dense_search`) against the exact
  top 10 (numpy), over 200 query vectors near real rows (`_corpus.recall_queries`).

    .venv/bin/python benchmarks/scale.py [--sizes 20000,200000,1000000] [--backends lite,server] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from _common import QUERIES, RESULTS, in_the_repo, milvus_server, percentiles, print_table, write_json
from _corpus import exact_top, recall_queries, row_number

SCALE = RESULTS / "scale"
SERVER_DATA = SCALE / "server"
LITE_COLLECTION = "scale"
#: Unmeasured queries per mode first: the first searches of a freshly loaded 1M collection page its vectors in
#: (dense p50 151 ms over the first 200 queries at 1M, against 60 ms for hybrid measured after them).
WARMUP = 100
#: The write the product makes for chunks known to be new (`ChunkCollection.store_chunks`).
BUILD_MODE = {"lite": "insert", "server": "upsert"}


def lite_uri(n: int) -> str:
    return str(SCALE / f"lite-{n}" / "milvus.db")


def collection_name(backend: str, n: int) -> str:
    return LITE_COLLECTION if backend == "lite" else f"scale_{n}"


def the_server(backends: list[str], uri: str | None) -> AbstractContextManager[str | None]:
    """The Milvus server to measure: `uri` if given, else one started on SERVER_DATA (the cache) if wanted."""
    return milvus_server(SERVER_DATA) if "server" in backends and not uri else nullcontext(uri)


def build(backend: str, uri: str, n: int) -> str:
    """The cached collection of `n` chunks (built unless its record says it is complete); returns its name."""
    from writes import write_steps

    collection, record = collection_name(backend, n), SCALE / f"{backend}-{n}.json"
    if not record.exists():
        if backend == "lite":
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
        steps = write_steps(uri, collection, BUILD_MODE[backend], n, step=100_000, keep=True)
        seconds = sum(step["seconds"] for step in steps)
        index_s = wait_indexed(uri, collection) if backend == "server" else 0.0
        result = {"mode": BUILD_MODE[backend], "insert_s": round(seconds, 1), "index_s": index_s, "steps": steps}
        write_json(record, result)
    return collection


def unindexed(described: dict) -> bool:
    """Whether rows still wait for the dense index (from `describe_index`; Milvus Lite reports none)."""
    pending = int(described.get("pending_index_rows", 0))
    return pending > 0 or int(described.get("indexed_rows", 0)) < int(described.get("total_rows", 0))


def wait_indexed(uri: str, collection: str) -> float:
    """Flush a server collection and wait until its dense index covers every row (the server builds HNSW on
    sealed segments in the background; until then it searches them by brute force). Seconds waited."""
    from semsearch.settings import Settings
    from semsearch.store import MilvusStore
    from semsearch.store.schema import VECTOR_FIELD

    store = MilvusStore.connect(Settings(milvus_uri=uri, collection=collection, milvus_timeout=3600, _env_file=None))
    started = time.perf_counter()
    try:
        target = store.resolve()
        store.client.flush(target, timeout=3600)
        while True:
            info = store.collections.describe_index(target, VECTOR_FIELD)
            if int(info.get("indexed_rows", 0)) >= int(info.get("total_rows", 0)) and not info.get(
                "pending_index_rows"
            ):
                return round(time.perf_counter() - started, 1)
            time.sleep(2)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,200000,1000000")
    parser.add_argument("--backends", default="lite,server")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=1800, help="Give up waiting for /ready after this long.")
    parser.add_argument("--server-uri", default=None)
    parser.add_argument("--skip-recall", action="store_true", help="Skip recall (it loads the collection twice).")
    parser.add_argument("--json", type=Path, default=RESULTS / "scale.json")
    args = parser.parse_args()
    in_the_repo()
    os.environ.setdefault("SEMSEARCH_MODEL_CACHE", str(Path("data/models").resolve()))
    sizes, backends = [int(size) for size in args.sizes.split(",")], args.backends.split(",")
    vectors = recall_queries(200)
    results: dict[str, list[dict]] = {backend: [] for backend in backends}
    server = (
        milvus_server(SERVER_DATA) if "server" in backends and not args.server_uri else nullcontext(args.server_uri)
    )
    with server as server_uri:
        for n in sizes:
            truth = [] if args.skip_recall else exact_top(n, vectors)
            for backend in backends:
                uri = lite_uri(n) if backend == "lite" else server_uri
                row = measure(backend, uri, n, vectors, truth, args)
                results[backend].append(row)
                print(json.dumps(row), flush=True)
                write_json(args.json, results)
    for backend, rows in results.items():
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        when = time.strftime("%Y-%m-%d %H:%M")
        print(f"\n{backend} ({when}, load average at the end {load} on {os.cpu_count()} cores)")
        keys = [key for key in rows[0] if key != "backend"]
        print_table(keys, ([row.get(key, "-") for key in keys] for row in rows))


def measure(backend: str, uri: str, n: int, vectors, truth: list[set[int]], args: argparse.Namespace) -> dict:
    from startup import time_to_ready

    collection = build(backend, uri, n)
    record = json.loads((SCALE / f"{backend}-{n}.json").read_text())
    row: dict[str, object] = {"backend": backend, "chunks": f"{n:,}"}
    row["disk MB"] = round(Path(uri).stat().st_size / 2**20) if backend == "lite" else "n/a"
    row["insert s"] = record["insert_s"]
    if backend == "server":
        row["index build s"] = record.get("index_s", "-")
    row["rows/s"] = f"{round(n / record['insert_s']):,}" if record["insert_s"] else "-"
    index, recall = ("-", "-") if args.skip_recall else default_recall(uri, collection, vectors, truth)
    modes = ["dense", "keyword", "hybrid"] if backend == "lite" else ["dense"]
    timed = time_to_ready(uri, args.timeout, collection, then=lambda base, pid: http_latencies(base, pid, modes, args))
    row["ready s"] = timed.get("ready_s", "-")
    for key in ("Milvus CPU s at ready", "API RSS MB", "Milvus RSS MB"):
        row[key] = timed.get(key, "-")
    if backend == "server":
        row["Milvus RSS MB"] = _rss_mb(_processes_mentioning(str(SERVER_DATA)))
    for mode in ("dense", "keyword", "hybrid"):
        row[f"{mode} p50/p95 ms"] = timed.get(mode, "n/a")
    row["errors"] = timed.get("errors", "-")
    row["index"], row["recall@10"] = index, recall
    if "exit_code" in timed or "timed_out_s" in timed:
        row["failed"] = {k: v for k, v in timed.items() if k in ("exit_code", "log", "timed_out_s")}
    return row


def default_recall(uri: str, collection: str, vectors, truth: list[set[int]]) -> tuple[str, float]:
    """The default index's recall@10 with the product's own search (index and search parameters as it sends them)."""
    from semsearch.engine import Engine
    from semsearch.settings import Settings

    settings = Settings(milvus_uri=uri, collection=collection, milvus_timeout=3600, _env_file=None)
    engine = Engine.open(settings, create=False)
    try:
        found = 0
        for vector, exact in zip(vectors, truth, strict=True):
            hits = engine.store.dense_search(vector, 10)
            found += len(exact & {row_number(hit.doc_id, hit.chunk_index) for hit in hits})
        dense = engine.store.dense_index
        params = dense.search_params(10)
        return f"{dense.type} {params}" if params else dense.type, round(found / (10 * len(vectors)), 3)
    finally:
        engine.close()


def http_latencies(base: str, pid: int, modes: list[str], args: argparse.Namespace) -> dict[str, object]:
    """p50/p95 of `POST /search` per mode (unique query texts), errors, and the API's and Lite's RSS after."""
    import httpx

    result: dict[str, object] = {"Milvus CPU s at ready": _cpu_seconds(_children(pid)) or "-"}
    errors = 0
    with httpx.Client(base_url=base, timeout=60) as client:
        for mode in modes:
            for i in range(WARMUP):  # these texts are never sent again; they page a big collection in
                client.post("/search", json={"query": f"warm {i} {QUERIES[i % len(QUERIES)]}", "mode": mode})
            ms = []
            for i in range(args.queries):
                body = {"query": f"{QUERIES[i % len(QUERIES)]} {mode} {i}", "top_k": 10, "mode": mode}
                started = time.perf_counter()
                response = client.post("/search", json=body)
                ms.append((time.perf_counter() - started) * 1000)
                errors += response.status_code != 200
            cut = percentiles(ms, digits=1)
            result[mode] = f"{cut['p50_ms']} / {cut['p95_ms']}"
    children = _children(pid)
    result["API RSS MB"] = _rss_mb([pid])
    result["Milvus RSS MB"] = _rss_mb(children) if children else "-"
    result["errors"] = errors
    return result


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found + [grandchild for child in found for grandchild in _children(child)]


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return pids


def _cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) these processes have used: what a load costs whatever else runs beside it."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return round(total / os.sysconf("SC_CLK_TCK"), 1)


def _rss_mb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return round(total / 1024)


if __name__ == "__main__":
    main()
