"""Serving at the machine's limit: dense /search QPS at 1, 4, 16 and 64 clients against the model-only ceiling.

The collection holds the first 2,000 SciFact abstracts (sample_data/ when SciFact is absent), built once in
benchmarks/results/serving-db/. The ceiling is the product's own query embedder in this process, one unique query
at a time for `--seconds` (the same call `/search` makes, without HTTP, JSON or Milvus); it runs *before* the server
starts, so the two never share the CPU. Each row then loads a real uvicorn server over loopback with `clients`
concurrent httpx clients, every query unique (the query-vector cache never answers). Ratios come from one run:
`share` is a row's QPS over the same run's ceiling.

    .venv/bin/python benchmarks/serving.py [--seconds 15] [--clients 1,4,16,64] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import RESULTS, ROOT, api_server, in_the_repo, print_table, write_json
from query import SCIFACT, _load, _queries

ABSTRACTS = 2_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="per row, and for the ceiling")
    parser.add_argument("--clients", default="1,4,16,64")
    parser.add_argument("--db", type=Path, default=RESULTS / "serving-db" / "milvus.db")
    parser.add_argument("--json", type=Path, default=RESULTS / "serving.json")
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy (pip install py-spy) samples the server during the 16-client row into "
        "this collapsed-stacks file, and the table of where its CPU went is printed",
    )
    parser.add_argument(
        "--gil",
        action="store_true",
        help="with --profile: sample only the thread holding the GIL (where the Python work is, not the waits)",
    )
    args = parser.parse_args()
    in_the_repo()

    chunks = _build_collection(args.db)
    queries = _queries()
    ceiling = _model_ceiling(queries, args.seconds)
    cores = len(os.sched_getaffinity(0))
    all_cores = _model_ceiling(queries, args.seconds, callers=cores)
    env = {"SEMSEARCH_MILVUS_URI": str(args.db), "SEMSEARCH_COLLECTION": "serving2k"}
    rows = []
    with api_server({**env, "SEMSEARCH_MODEL_CACHE": str(RESULTS / "models")}) as api:
        for clients in (int(c) for c in args.clients.split(",")):
            spy = _py_spy(api.pid, args.profile, args.seconds, args.gil) if args.profile and clients == 16 else None
            before = _cpu_seconds(api.pid)
            stats = asyncio.run(_load(api.base, queries, "dense", clients, args.seconds, f"s{clients}-"))
            spent = {place: _cpu_seconds(api.pid)[place] - seconds for place, seconds in before.items()}
            if spy is not None:
                spy.wait()
            cpu = {f"cpu_ms_{place}": round(1000 * spent[place] / max(stats["requests"], 1), 2) for place in spent}
            shares = {"share": round(stats["qps"] / ceiling, 2), "share_all_cores": round(stats["qps"] / all_cores, 2)}
            rows.append({"clients": clients, **stats, **shares, **cpu})
    load = os.getloadavg()[0]
    summary = {"chunks": chunks, "ceiling_qps": ceiling, "all_cores_qps": all_cores, "load_average": load}
    write_json(args.json, {**summary, "rows": rows})
    print(
        f"dense /search, {chunks} chunks; model-only ceiling {ceiling:.1f} queries/s one at a time, {all_cores:.1f} "
        f"with one caller per core ({cores}); load average {load:.1f}"
    )
    columns = [
        "clients",
        "requests",
        "qps",
        "share",
        "share_all_cores",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "took_p50_ms",
        "errors",
    ]
    columns += ["cpu_ms_server", "cpu_ms_milvus", "cpu_ms_clients"]
    header = [
        "clients",
        "requests",
        "QPS",
        "of ceiling",
        "of all-core model",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "server took p50",
        "errors",
    ]
    header += ["CPU ms/request: server", "Milvus Lite", "load generator"]
    print_table(header, ([row[key] for key in columns] for row in rows))
    if args.profile:
        print_table(["where the server's samples fell (16 clients)", "share"], _profile_table(args.profile))


def _cpu_seconds(server: int) -> dict[str, float]:
    """CPU seconds (user + system) so far of the server process, of its children (Milvus Lite's process), and of
    this process (the load generator), from /proc: where a request's CPU goes, across processes."""
    children = Path(f"/proc/{server}/task/{server}/children").read_text().split()
    return {
        "server": _process_cpu(server),
        "milvus": sum(_process_cpu(int(child)) for child in children),
        "clients": sum(os.times()[:2]),
    }


def _process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)


def _py_spy(pid: int, out: Path, seconds: float, gil: bool = False) -> subprocess.Popen:
    """py-spy sampling every thread of the server (idle ones excluded) for the row's duration, less its warm-up."""
    # py-spy is installed beside this interpreter (the venv's bin/), which need not be on PATH.
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    command = [
        py_spy,
        "record",
        "--pid",
        str(pid),
        "--format",
        "raw",
        "--output",
        str(out),
        "--rate",
        "200",
        *(["--gil"] if gil else []),
    ]
    return subprocess.Popen(
        [*command, "--duration", str(max(1, int(seconds) - 2)), "--nonblocking"], stdout=subprocess.DEVNULL
    )


#: Frames that name where a sample's time went, most specific first: the first one found in a stack claims it.
PLACES = [
    ("the model (onnxruntime run)", "run (onnxruntime"),
    ("tokenizing", "_batch_encode_plus"),
    ("the model: other encode work", "encode (semsearch/backends.py"),
    ("Milvus Lite calls (gRPC)", "grpc/_channel.py"),
    ("pymilvus, other", "pymilvus/"),
    ("JSON and pydantic", "pydantic"),
    ("JSON encoding", "json/"),
    ("the batcher's queue and futures", "semsearch/batcher.py"),
    ("uvicorn / starlette / anyio", "uvicorn/"),
    ("starlette", "starlette/"),
    ("anyio worker threads", "anyio/"),
    ("asyncio event loop", "asyncio/"),
]


def _profile_table(path: Path) -> list[tuple[str, str]]:
    """Shares of the samples by place, from py-spy's raw (collapsed) output: `frame;frame;... count` per line."""
    counts: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        place = next((name for name, marker in PLACES if marker in stack), "other: " + stack.split(";")[-1][:60])
        counts[place] = counts.get(place, 0) + int(count)
    top = sorted(counts.items(), key=lambda item: -item[1])[:14]
    return [(place, f"{count / max(total, 1):.1%}") for place, count in top]


def _build_collection(db: Path) -> int:
    """2,000 SciFact abstracts (or sample_data/) in `serving2k`, ingested once through the product's pipeline."""
    from ingest.loaders import TableOptions
    from ingest.pipeline import ingest_files
    from ingest.sinks import EngineSink
    from ingest.sources import discover
    from semsearch.engine import Engine
    from semsearch.settings import Settings

    db.parent.mkdir(parents=True, exist_ok=True)
    settings = Settings(milvus_uri=str(db), collection="serving2k", model_cache=str(RESULTS / "models"), _env_file=None)
    engine = Engine.open(settings, create=True)
    try:
        if engine.store.count() == 0:
            with tempfile.TemporaryDirectory() as folder:
                source = _abstracts(Path(folder))
                print(f"building the collection from {source} (once)", file=sys.stderr)
                ingest_files(discover([str(source)]).files, EngineSink(engine), TableOptions())
        return engine.store.count()
    finally:
        engine.close()


def _abstracts(folder: Path) -> Path:
    corpus = SCIFACT / "corpus.jsonl"
    if not corpus.is_file():
        return ROOT / "sample_data"
    target = folder / "scifact2k.jsonl"
    with corpus.open() as lines, target.open("w") as out:
        for _, line in zip(range(ABSTRACTS), lines, strict=False):
            out.write(json.dumps(json.loads(line)) + "\n")
    return target


def _model_ceiling(queries: list[str], seconds: float, callers: int = 1) -> float:
    """Queries/s of the product's query embedder alone, in this process: `callers` threads, each embedding one unique
    query after another (1: the issue's ceiling, one query at a time; one per core: what the cores could embed)."""
    from semsearch.embedder import Embedder
    from semsearch.settings import Settings

    embedder = Embedder.load(Settings(model_cache=str(RESULTS / "models"), _env_file=None))
    for query in queries[:20]:
        embedder.embed_queries([query])
    done = [0] * callers
    deadline = time.perf_counter() + seconds

    def embed(caller: int) -> None:
        while time.perf_counter() < deadline:
            embedder.embed_queries([f"{queries[done[caller] % len(queries)]} c{caller}-{done[caller]}"])
            done[caller] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=embed, args=(caller,)) for caller in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
