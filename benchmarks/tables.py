"""Streaming tables: ingest of a generated N-row table (Parquet, CSV, JSONL) into a fresh Milvus Lite .db, its peak
RSS, rows/s, and the re-ingest of the unchanged table (0 embedded) in a fresh process, as a user's second run is.

Each (format, rows, phase) runs in a fresh process, so peak RSS (`ru_maxrss`) is that run's alone; the Milvus Lite
server is a child process, its peak (VmHWM) is a column of its own. The re-ingest process must first load the
collection (`load s`, Milvus Lite's own load, reported apart) before it compares every row with what is stored
(`re-ingest s`). `--model random` replaces the model's encode with random unit vectors (tokenizing, chunking,
reading and Milvus writes stay real), to measure the streaming path without the model, whose cost per row is
measured apart by `--model real`. Each table's figures are also printed as a JSON line as soon as they are known.

    .venv/bin/python benchmarks/tables.py [--rows 10000,100000] [--formats parquet,csv,jsonl] [--model random|real]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS, in_the_repo, print_table, write_json

WORDS = [
    "printer",
    "network",
    "login",
    "password",
    "invoice",
    "refund",
    "shipping",
    "order",
    "account",
    "email",
    "laptop",
    "screen",
    "battery",
    "update",
    "install",
    "crash",
    "error",
    "timeout",
    "slow",
    "server",
    "backup",
    "restore",
    "license",
    "upgrade",
    "browser",
    "cache",
    "cookie",
    "vpn",
    "wifi",
    "meeting",
    "calendar",
    "report",
    "export",
    "import",
    "spreadsheet",
    "permission",
    "folder",
    "share",
    "sync",
    "mobile",
    "app",
    "notification",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,100000")
    parser.add_argument("--formats", default="parquet,csv")
    parser.add_argument("--model", choices=("random", "real"), default="random")
    parser.add_argument("--json", type=Path, default=RESULTS / "tables.json")
    parser.add_argument("--worker", nargs=3, metavar=("TABLE", "MODEL", "PHASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_measure(Path(args.worker[0]), args.worker[1], args.worker[2])))
        return
    workdir = Path(tempfile.mkdtemp(prefix="semsearch-tables-bench-"))
    results = []
    for count in (int(n) for n in args.rows.split(",")):
        for suffix in args.formats.split(","):
            table = _generate(workdir / f"tickets-{count}.{suffix}", count)
            result: dict[str, object] = {"format": suffix, "rows": count}
            for phase in ("ingest", "reingest"):
                out = subprocess.run(
                    [sys.executable, __file__, "--worker", str(table), args.model, phase],
                    capture_output=True,
                    text=True,
                )
                if out.returncode:
                    sys.exit(out.stderr)
                measured = json.loads(out.stdout.splitlines()[-1])
                result.update({f"{phase}_{key}": value for key, value in measured.items()})
                print(json.dumps({"format": suffix, "rows": count, "phase": phase, **measured}), flush=True)
            result["load_average"] = os.getloadavg()[0]
            results.append(result)
            table.with_suffix(".db").unlink(missing_ok=True)
    write_json(args.json, {"model": args.model, "rows": results})
    print_table(
        [
            "format",
            "rows",
            "ingest s",
            "rows/s",
            "peak RSS MB",
            "Milvus peak RSS MB",
            "load s",
            "re-ingest s",
            "re-ingest CPU s",
            "re-embedded",
            "load avg",
        ],
        [
            [
                r["format"],
                f"{r['rows']:,}",
                f"{r['ingest_work_s']:.1f}",
                f"{r['rows'] / r['ingest_work_s']:,.0f}",
                f"{max(r['ingest_peak_rss_mb'], r['reingest_peak_rss_mb']):.0f}",
                f"{max(r['ingest_milvus_peak_rss_mb'], r['reingest_milvus_peak_rss_mb']):.0f}",
                f"{r['reingest_open_s']:.1f}",
                f"{r['reingest_work_s']:.1f}",
                f"{r['reingest_cpu_s']:.1f}",
                r["reingest_embedded"],
                f"{r['load_average']:.1f}",
            ]
            for r in results
        ],
    )


def _generate(path: Path, count: int) -> Path:
    """Short support-ticket rows (8 to 30 words), seeded, so every run ingests the same table."""
    import pandas as pd

    rng = random.Random(count)
    rows = [
        {
            "id": f"t{i}",
            "title": f"Ticket {i}",
            "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30))).capitalize() + ".",
            "team": rng.choice(("desk", "network", "billing")),
        }
        for i in range(count)
    ]
    frame = pd.DataFrame(rows)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path, index=False)
    return path


def _measure(table: Path, model: str, phase: str) -> dict[str, float]:
    """One ingest of `table` in this fresh process: `ingest` into a new collection, `reingest` into the one the
    ingest phase left, which this process must first load (`open_s`, Milvus Lite's own load) before it compares."""
    in_the_repo()
    import resource

    import numpy as np

    from ingest.loaders import TableOptions
    from ingest.pipeline import ingest_files
    from ingest.sinks import EngineSink
    from semsearch.embedder import Embedder
    from semsearch.engine import Engine
    from semsearch.settings import Settings

    # A loading Milvus Lite can leave a progress read unanswered for over the default 10 s on a busy machine, which
    # ends the load as "stopped answering": the benchmark waits longer, as SEMSEARCH_MILVUS_TIMEOUT lets a user.
    settings = Settings(
        milvus_uri=str(table.with_suffix(".db")), collection="tables_bench", milvus_timeout=900, _env_file=None
    )
    embedder = Embedder.load(settings)
    if model == "random":
        rng = np.random.default_rng(0)

        def random_vectors(texts: list[str]) -> np.ndarray:
            vectors = rng.standard_normal((len(texts), embedder.dim)).astype(np.float32)
            return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

        embedder.embed_documents = random_vectors  # type: ignore[method-assign]
    start = time.perf_counter()
    engine = Engine.open(settings, create=phase == "ingest", embedder=embedder)
    open_s = time.perf_counter() - start
    milvus = _children(os.getpid())
    milvus_cpu_open = _cpu_seconds(milvus)
    options = TableOptions(base=table.parent)
    try:
        start, cpu = time.perf_counter(), time.process_time()
        report = ingest_files([table], EngineSink(engine), options)
        work_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
        assert not report.failures, report.failures
        milvus_rss = _peak_rss_mb(milvus)
        milvus_cpu = _cpu_seconds(milvus) - milvus_cpu_open
    finally:
        engine.close()
    return {
        "open_s": open_s,
        "open_milvus_cpu_s": milvus_cpu_open,
        "work_s": work_s,
        "cpu_s": cpu_s,
        "milvus_cpu_s": milvus_cpu,
        "embedded": report.stats.embedded,
        "unchanged": report.stats.unchanged,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "milvus_peak_rss_mb": milvus_rss,
    }


def _children(pid: int) -> list[int]:
    """The Milvus Lite server this process started (and anything it started)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found + [grandchild for child in found for grandchild in _children(child)]


def _cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) these processes have used: what the work costs whatever else runs beside it."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pids: list[int]) -> float:
    """Peak resident memory (VmHWM) of these processes, summed."""
    total = 0
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return total / 1024


if __name__ == "__main__":
    main()
