"""Export/import times and file sizes: an export (e.g. of `semsearch ingest sample_data`) is repeated `--copies`
times under other ids (real chunks and vectors, a larger collection), imported into a fresh Milvus Lite `.db` with
`kb.import_from` (0 embedded), then exported with and without vectors. Times are inside one process (model load
excluded).

    semsearch ingest sample_data && semsearch export kb.jsonl
    .venv/bin/python benchmarks/transfer.py kb.jsonl [--copies 5]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from _common import in_the_repo, print_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path)
    parser.add_argument("--copies", type=int, default=5)
    args = parser.parse_args()
    in_the_repo()
    import semsearch

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.jsonl"
        chunks = repeat(args.export, big, args.copies)
        rows = []
        with semsearch.open(Path(tmp) / "milvus.db", collection="bench_transfer") as kb:
            started = time.perf_counter()
            report = kb.import_from(big)
            rows.append(("import with vectors", report.stats.embedded, _s(started), _mib(big)))
            for vectors in (True, False):
                out = Path(tmp) / f"out-{vectors}.jsonl"
                started = time.perf_counter()
                kb.export(out, vectors=vectors)
                rows.append((f"export {'with' if vectors else 'without'} vectors", 0, _s(started), _mib(out)))
    print(f"{chunks} chunks")
    print_table(["step", "embedded", "seconds", "MiB"], rows)


def repeat(source: Path, target: Path, copies: int) -> int:
    """The export's chunk lines `copies` times, each copy under `copy<k>/` ids and sources; returns the chunks."""
    header, *lines = source.read_text(encoding="utf-8").splitlines()
    meta = json.loads(header)
    meta["chunks"] = len(lines) * copies
    with target.open("w", encoding="utf-8") as out:
        out.write(json.dumps(meta) + "\n")
        for k in range(copies):
            for line in lines:
                row = json.loads(line)
                renamed = {"id": f"{row['id']}-{k}", "doc_id": f"copy{k}/{row['doc_id']}"}
                out.write(json.dumps({**row, **renamed, "source": f"copy{k}/{row['source']}"}) + "\n")
    return len(lines) * copies


def _s(started: float) -> float:
    return round(time.perf_counter() - started, 1)


def _mib(path: Path) -> float:
    return round(path.stat().st_size / 2**20, 1)


if __name__ == "__main__":
    main()
