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
import subprocess
import sys
import tempfile
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
    args = parser.parse_args()
    in_the_repo()

    chunks = _build_collection(args.db)
    queries = _queries()
    ceiling = _model_ceiling(queries, args.seconds)
    env = {"SEMSEARCH_MILVUS_URI": str(args.db), "SEMSEARCH_COLLECTION": "serving2k"}
    rows = []
    with api_server({**env, "SEMSEARCH_MODEL_CACHE": str(RESULTS / "models")}) as api:
        for clients in (int(c) for c in args.clients.split(",")):
            spy = _py_spy(api.pid, args.profile, args.seconds) if args.profile and clients == 16 else None
            stats = asyncio.run(_load(api.base, queries, "dense", clients, args.seconds, f"s{clients}-"))
            if spy is not None:
                spy.wait()
            rows.append({"clients": clients, **stats, "share": round(stats["qps"] / ceiling, 2)})
    load = os.getloadavg()[0]
    write_json(args.json, {"chunks": chunks, "ceiling_qps": ceiling, "load_average": load, "rows": rows})
    print(f"dense /search, {chunks} chunks; model-only ceiling {ceiling:.1f} queries/s; load average {load:.1f}")
    columns = ["clients", "requests", "qps", "share", "p50_ms", "p95_ms", "p99_ms", "took_p50_ms", "errors"]
    header = ["clients", "requests", "QPS", "of ceiling", "p50 ms", "p95 ms", "p99 ms", "server took p50", "errors"]
    print_table(header, ([row[key] for key in columns] for row in rows))
    if args.profile:
        print_table(["where the server's samples fell (16 clients)", "share"], _profile_table(args.profile))


def _py_spy(pid: int, out: Path, seconds: float) -> subprocess.Popen:
    """py-spy sampling every thread of the server (idle ones excluded) for the row's duration, less its warm-up."""
    command = ["py-spy", "record", "--pid", str(pid), "--format", "raw", "--output", str(out), "--rate", "200"]
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


def _model_ceiling(queries: list[str], seconds: float) -> float:
    """Queries/s of the product's query embedder alone, one unique query at a time, in this process."""
    from semsearch.embedder import Embedder
    from semsearch.settings import Settings

    embedder = Embedder.load(Settings(model_cache=str(RESULTS / "models"), _env_file=None))
    for query in queries[:20]:
        embedder.embed_queries([query])
    done, deadline = 0, time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        embedder.embed_queries([f"{queries[done % len(queries)]} c{done}"])
        done += 1
    return done / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
