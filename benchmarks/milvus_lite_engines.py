"""Compare embedded Milvus Lite engines (C++ 2.5.x vs pure-Python 3.x) on insert, search and reload.

Why: the product pins one Milvus Lite line. Milvus Lite 3.x is a rewrite whose search on freshly
inserted (not yet flushed) rows was measured far slower than 2.5.1, so this script reproduces that
measurement in whatever venv it runs in. Run it once per engine, each in its own venv, e.g.

    python benchmarks/milvus_lite_engines.py --n 20000 --dim 384 --queries 100 --top-k 10

Uses only pymilvus, numpy and the standard library.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
from _common import RESULTS, percentiles, print_table, write_json
from pymilvus import DataType, MilvusClient

COLLECTION = "bench"
BATCH = 1000


def pkg_version(name: str) -> str:
    """Installed version of a distribution, or 'missing'."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "missing"


def unit_vectors(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    """n random float32 vectors of length 1."""
    vecs = rng.standard_normal((n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs


def create_collection(client: MilvusClient, dim: int) -> str:
    """Create the collection with AUTOINDEX/COSINE, falling back to FLAT; return the index type used."""
    errors: list[str] = []
    for index_type in ("AUTOINDEX", "FLAT"):
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        index_params = client.prepare_index_params()
        index_params.add_index(field_name="vector", index_type=index_type, metric_type="COSINE")
        try:
            client.create_collection(COLLECTION, schema=schema, index_params=index_params)
        except Exception as exc:
            errors.append(f"{index_type}: {type(exc).__name__}: {exc}")
            if client.has_collection(COLLECTION):
                client.drop_collection(COLLECTION)
            continue
        return index_type
    raise RuntimeError("no index type accepted: " + "; ".join(errors))


def ensure_loaded(client: MilvusClient) -> None:
    """Load the collection if the engine does not report it as loaded (needed after a reopen)."""
    try:
        state = str(client.get_load_state(COLLECTION).get("state", ""))
    except Exception:
        state = ""
    if "Loaded" not in state or "NotLoad" in state:
        client.load_collection(COLLECTION)


def search_once(client: MilvusClient, query: np.ndarray, top_k: int) -> tuple[float, int]:
    """One single-vector top-k search; return (milliseconds, number of hits)."""
    t0 = time.perf_counter()
    params = {"metric_type": "COSINE"}
    res = client.search(COLLECTION, data=[query.tolist()], limit=top_k, search_params=params)
    ms = (time.perf_counter() - t0) * 1000.0
    return ms, len(res[0])


def search_round(client: MilvusClient, queries: np.ndarray, top_k: int) -> dict[str, Any]:
    """Run every query once; return latency stats and how many searches returned fewer than top_k hits."""
    times: list[float] = []
    short = 0
    for q in queries:
        ms, hits = search_once(client, q, top_k)
        times.append(ms)
        short += hits != top_k
    return {**latency_stats(times), "short_results": short}


def latency_stats(times: list[float]) -> dict[str, float]:
    """p50 / p95 / p99 / mean / max in milliseconds."""
    return {
        **percentiles(times, digits=3),
        "mean_ms": round(statistics.fmean(times), 3),
        "max_ms": round(max(times), 3),
    }


def count_rows(client: MilvusClient) -> int:
    """Row count as the engine reports it."""
    return int(client.query(COLLECTION, filter="", output_fields=["count(*)"])[0]["count(*)"])


def phase_build(db_path: str, n: int, dim: int, n_queries: int, top_k: int, seed: int) -> dict[str, Any]:
    """Create + insert + search on fresh rows, then close and reopen in the same process and search again."""
    rng = np.random.default_rng(seed)
    data = unit_vectors(rng, n, dim)
    queries = unit_vectors(rng, n_queries, dim)

    t0 = time.perf_counter()
    client = MilvusClient(db_path)
    open_s = time.perf_counter() - t0
    index_type = create_collection(client, dim)

    t0 = time.perf_counter()
    for start in range(0, n, BATCH):
        rows = [{"id": i, "vector": data[i].tolist()} for i in range(start, min(start + BATCH, n))]
        client.insert(COLLECTION, rows)
    insert_s = time.perf_counter() - t0

    after_insert = search_round(client, queries, top_k)
    rows_after_insert = count_rows(client)
    client.close()

    # pymilvus' close() leaves the embedded engine running; this reopen reuses it (no real reload).
    t0 = time.perf_counter()
    client = MilvusClient(db_path)
    ensure_loaded(client)
    search_once(client, queries[0], top_k)
    same_process_reopen_s = time.perf_counter() - t0
    after_same_process_reopen = search_round(client, queries, top_k)
    client.close()
    return {
        "index_type": index_type,
        "open_s": round(open_s, 3),
        "insert_s": round(insert_s, 3),
        "insert_rows_per_s": round(n / insert_s, 1),
        "search_after_insert": after_insert,
        "rows_after_insert": rows_after_insert,
        "same_process_reopen_s": round(same_process_reopen_s, 3),
        "search_after_same_process_reopen": after_same_process_reopen,
    }


def phase_reload(db_path: str, n: int, dim: int, n_queries: int, top_k: int, seed: int) -> dict[str, Any]:
    """In a fresh process: time reopen + load + first search of the existing .db, then search again."""
    rng = np.random.default_rng(seed)
    unit_vectors(rng, n, dim)  # advance the generator so the queries match the build phase
    queries = unit_vectors(rng, n_queries, dim)

    t0 = time.perf_counter()
    client = MilvusClient(db_path)
    ensure_loaded(client)
    first_ms, first_hits = search_once(client, queries[0], top_k)
    reload_s = time.perf_counter() - t0

    after_reload = search_round(client, queries, top_k)
    rows_after_reload = count_rows(client)
    client.close()
    return {
        "reload_s": round(reload_s, 3),
        "reload_first_search_ms": round(first_ms, 3),
        "reload_first_search_hits": first_hits,
        "search_after_reload": after_reload,
        "rows_after_reload": rows_after_reload,
    }


PHASES = {"build": phase_build, "reload": phase_reload}


def run_phase_in_child(phase: str, db_path: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one phase in a fresh interpreter so the embedded engine really starts and stops with it."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--phase",
        phase,
        "--db",
        db_path,
        *("--n", str(args.n), "--dim", str(args.dim), "--queries", str(args.queries)),
        *("--top-k", str(args.top_k), "--seed", str(args.seed)),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise RuntimeError(f"phase {phase!r} failed with exit code {proc.returncode}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build phase and reload phase, each in its own process, on one fresh temp .db path."""
    with tempfile.TemporaryDirectory(prefix="milvus_lite_bench_") as tmp:
        db_path = str(Path(tmp) / "bench.db")
        build = run_phase_in_child("build", db_path, args)
        reload = run_phase_in_child("reload", db_path, args)
    return {
        "engine": {
            "milvus_lite": pkg_version("milvus-lite"),
            "pymilvus": pkg_version("pymilvus"),
            "numpy": pkg_version("numpy"),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "params": {
            "n": args.n,
            "dim": args.dim,
            "queries": args.queries,
            "top_k": args.top_k,
            "seed": args.seed,
            "batch": BATCH,
        },
        "metric_type": "COSINE",
        **build,
        **reload,
    }


def print_result(r: dict[str, Any]) -> None:
    """Print the measurements as one plain-text table."""
    eng = r["engine"]
    a, b = r["search_after_insert"], r["search_after_reload"]

    def lat(d: dict[str, Any]) -> str:
        return f"{d['p50_ms']:.2f} / {d['p95_ms']:.2f} / {d['mean_ms']:.2f}"

    rows = [
        ("milvus-lite / pymilvus", f"{eng['milvus_lite']} / {eng['pymilvus']}"),
        ("n / dim / queries / top_k", "{n} / {dim} / {queries} / {top_k}".format(**r["params"])),
        ("index (metric)", f"{r['index_type']} ({r['metric_type']})"),
        ("insert s (rows/s)", f"{r['insert_s']:.2f} ({r['insert_rows_per_s']:.0f})"),
        ("search after insert p50 / p95 / mean ms", lat(a)),
        ("  results != top_k", str(a["short_results"])),
        ("same-process close+reopen s (engine reused)", f"{r['same_process_reopen_s']:.2f}"),
        ("  search after it p50 / p95 / mean ms", lat(r["search_after_same_process_reopen"])),
        ("reload s (new process: reopen + load + 1st search)", f"{r['reload_s']:.2f}"),
        ("search after reload p50 / p95 / mean ms", lat(b)),
        ("  results != top_k", str(b["short_results"])),
        ("rows after insert / after reload", f"{r['rows_after_insert']} / {r['rows_after_reload']}"),
    ]
    print_table(["measurement", "value"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="rows to insert")
    parser.add_argument("--dim", type=int, default=384, help="vector dimension")
    parser.add_argument("--queries", type=int, default=100, help="searches per round")
    parser.add_argument("--top-k", type=int, default=10, help="hits per search")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--json", type=Path, default=None, help="output JSON path")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.phase:  # child process: run one phase, print its JSON as the last stdout line
        out_phase = PHASES[args.phase](args.db, args.n, args.dim, args.queries, args.top_k, args.seed)
        print(json.dumps(out_phase))
        return 0

    result = run(args)
    print_result(result)
    default_name = f"milvus_lite_engines-{result['engine']['milvus_lite']}.json"
    out = args.json or RESULTS / default_name
    write_json(out, result)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
