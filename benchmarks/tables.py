"""Streaming tables: ingest of a generated N-row table (Parquet, CSV) into a fresh Milvus Lite .db, its peak RSS,
rows/s, and the re-ingest of the unchanged table (0 embedded).

Each (format, rows) runs in a fresh process, so peak RSS (`ru_maxrss`) is that run's alone. `--model random`
replaces the model's encode with random unit vectors (tokenizing, chunking, reading and Milvus writes stay real),
to measure the streaming path without the model, whose cost per row is measured apart by `--model real`.

    .venv/bin/python benchmarks/tables.py [--rows 10000,100000] [--formats parquet,csv] [--model random|real]
"""

from __future__ import annotations

import argparse
import json
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
    parser.add_argument("--worker", nargs=2, metavar=("TABLE", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_measure(Path(args.worker[0]), args.worker[1])))
        return
    workdir = Path(tempfile.mkdtemp(prefix="semsearch-tables-bench-"))
    results = []
    for count in (int(n) for n in args.rows.split(",")):
        for suffix in args.formats.split(","):
            table = _generate(workdir / f"tickets-{count}.{suffix}", count)
            out = subprocess.run(
                [sys.executable, __file__, "--worker", str(table), args.model], capture_output=True, text=True
            )
            if out.returncode:
                sys.exit(out.stderr)
            results.append({"format": suffix, "rows": count, **json.loads(out.stdout.splitlines()[-1])})
    write_json(args.json, {"model": args.model, "rows": results})
    print_table(
        ["format", "rows", "ingest s", "rows/s", "peak RSS MB", "re-ingest s", "re-ingest rows/s", "re-embedded"],
        [
            [
                r["format"],
                f"{r['rows']:,}",
                f"{r['ingest_s']:.1f}",
                f"{r['rows'] / r['ingest_s']:,.0f}",
                f"{r['peak_rss_mb']:.0f}",
                f"{r['reingest_s']:.1f}",
                f"{r['rows'] / r['reingest_s']:,.0f}",
                r["reembedded"],
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
    else:
        frame.to_parquet(path, index=False)
    return path


def _measure(table: Path, model: str) -> dict[str, float]:
    in_the_repo()
    import resource

    import numpy as np

    from ingest.loaders import TableOptions
    from ingest.pipeline import ingest_files
    from ingest.sinks import EngineSink
    from semsearch.embedder import Embedder
    from semsearch.engine import Engine
    from semsearch.settings import Settings

    settings = Settings(milvus_uri=str(table.with_suffix(".db")), collection="tables_bench", _env_file=None)
    embedder = Embedder.load(settings)
    if model == "random":
        rng = np.random.default_rng(0)

        def random_vectors(texts: list[str]) -> np.ndarray:
            vectors = rng.standard_normal((len(texts), embedder.dim)).astype(np.float32)
            return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

        embedder.embed_documents = random_vectors  # type: ignore[method-assign]
    engine = Engine.open(settings, create=True, embedder=embedder)
    options = TableOptions(base=table.parent)
    try:
        start = time.perf_counter()
        first = ingest_files([table], EngineSink(engine), options)
        ingest_s = time.perf_counter() - start
        assert not first.failures, first.failures
        start = time.perf_counter()
        second = ingest_files([table], EngineSink(engine), options)
        reingest_s = time.perf_counter() - start
    finally:
        engine.close()
    return {
        "ingest_s": ingest_s,
        "reingest_s": reingest_s,
        "reembedded": second.stats.embedded,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    main()
