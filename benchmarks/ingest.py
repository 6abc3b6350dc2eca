"""Ingest rate against the model's own limit: `semsearch ingest` end to end vs raw `model.encode`, per backend.

For each backend, one fresh process ingests the corpus into a fresh Milvus Lite .db through the real pipeline
(reading, chunking, embedding, upserts) and then calls the bare model's `encode` on exactly the chunk texts that
ingest embedded (same batch size). The ratio of the two rates, measured back to back in one process, is the
headline: absolute rates on a shared machine are noisy, the ratio much less. Peak RSS is sampled during ingest;
`--rss-check` also ingests half the corpus, to show memory does not grow with the corpus.

Corpus: the BEIR SciFact corpus in ../shared/beir/scifact/ (5,183 abstracts) when present, else sample_data/.

    .venv/bin/python benchmarks/ingest.py [--limit 500] [--backends torch,onnx,onnx-int8] [--rss-check]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import RESULTS, ROOT, in_the_repo, print_table, write_json

SCIFACT = ROOT.parent / "shared" / "beir" / "scifact" / "corpus.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N SciFact documents (default: all)")
    parser.add_argument("--backends", default="torch,onnx,onnx-int8")
    parser.add_argument("--rss-check", action="store_true", help="also ingest half the corpus (torch) for RSS")
    parser.add_argument("--json", type=Path, default=RESULTS / "ingest.json")
    parser.add_argument("--worker", nargs=2, metavar=("BACKEND", "CORPUS"), help=argparse.SUPPRESS)
    parser.add_argument("--no-raw", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_measure(args.worker[0], Path(args.worker[1]), raw=not args.no_raw)))
        return

    workdir = Path(tempfile.mkdtemp(prefix="semsearch-ingest-bench-"))
    corpus, label = _corpus(workdir, args.limit)
    rows = []
    for backend in args.backends.split(","):
        rows.append(_run_worker(backend, corpus))
    if args.rss_check:
        half, _ = _corpus(workdir / "half", (args.limit or _count_lines(SCIFACT)) // 2)
        rows.append({**_run_worker("torch", half, raw=False), "backend": "torch (half corpus)"})
    write_json(args.json, {"corpus": label, "rows": rows})
    _print_table(label, rows)


def _corpus(workdir: Path, limit: int | None) -> tuple[Path, str]:
    """A directory holding the corpus: SciFact as one JSONL table (first `limit` lines), else sample_data/."""
    if not SCIFACT.is_file():
        return ROOT / "sample_data", "sample_data/"
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / "scifact" / "corpus.jsonl"
    target.parent.mkdir(exist_ok=True)
    with SCIFACT.open() as src, target.open("w") as dst:
        for i, line in enumerate(src):
            if limit is not None and i >= limit:
                break
            dst.write(line)
    return target.parent, f"SciFact corpus, {_count_lines(target)} documents"


def _count_lines(path: Path) -> int:
    with path.open() as f:
        return sum(1 for _ in f)


def _run_worker(backend: str, corpus: Path, raw: bool = True) -> dict:
    command = [sys.executable, __file__, "--worker", backend, str(corpus), *([] if raw else ["--no-raw"])]
    env = {**os.environ, "SEMSEARCH_MODEL_CACHE": str(RESULTS / "models")}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{backend} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _measure(backend: str, corpus: Path, raw: bool) -> dict:
    """In a fresh process: ingest end to end, then raw encode of the same chunk texts."""
    in_the_repo()
    from ingest.loaders import TableOptions
    from ingest.pipeline import ingest_files
    from ingest.sinks import EngineSink
    from ingest.sources import discover
    from semsearch.engine import Engine
    from semsearch.settings import Settings

    workdir = Path(tempfile.mkdtemp(prefix="semsearch-ingest-worker-"))
    settings = Settings(milvus_uri=str(workdir / "bench.db"), collection="bench", backend=backend, _env_file=None)
    engine = Engine.open(settings, create=True)
    engine.embedder.embed_documents(["warm up the model"] * 8)
    files = discover([str(corpus)]).files
    sampler = _RssSampler()
    started = time.perf_counter()
    with sampler:
        report = ingest_files(files, EngineSink(engine), TableOptions())
    ingest_s = time.perf_counter() - started
    docs, chunks = report.stats.documents, report.stats.chunks
    result = {
        "backend": backend,
        "documents": docs,
        "chunks": chunks,
        "ingest_s": round(ingest_s, 2),
        "ingest_docs_per_s": round(docs / ingest_s, 1),
        "ingest_peak_rss_mb": round(sampler.peak / 2**20),
    }
    if raw:
        texts = [row["text"] for row in engine.store.scan("", ["id", "text"])]
        started = time.perf_counter()
        engine.embedder.model.encode(texts, batch_size=settings.batch_size, normalize_embeddings=True)
        encode_s = time.perf_counter() - started
        result |= {
            "raw_encode_s": round(encode_s, 2),
            "raw_encode_docs_per_s": round(docs / encode_s, 1),
            "ingest_vs_raw": round(encode_s / ingest_s, 2),
        }
        torch_s = encode_s
        if backend != "torch":  # the torch limit, measured in this same run for the cross-backend ratio
            from semsearch.backends import Backend, load_model
            from semsearch.embedder import resolve_model_path

            model = load_model(resolve_model_path(settings.model), Backend.TORCH, settings.device, workdir)
            model.encode(["warm up the model"] * 8)
            started = time.perf_counter()
            model.encode(texts, batch_size=settings.batch_size, normalize_embeddings=True)
            torch_s = time.perf_counter() - started
        result |= {
            "torch_raw_docs_per_s": round(docs / torch_s, 1),
            "ingest_vs_torch_raw": round(torch_s / ingest_s, 2),
        }
    engine.close()
    return result


class _RssSampler:
    """Peak resident memory of this process while the block runs, sampled every 20 ms from /proc."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while True:
            with open("/proc/self/statm") as f:
                self.peak = max(self.peak, int(f.read().split()[1]) * page)
            if self._stop.wait(0.02):
                return


def _print_table(label: str, rows: list[dict]) -> None:
    print(f"ingest benchmark: {label}")
    header = ["backend", "docs", "chunks", "raw encode docs/s", "ingest docs/s", "ingest / raw"]
    header += ["torch raw docs/s", "ingest / torch raw", "peak RSS MB"]
    cells = [
        [
            r["backend"],
            r["documents"],
            r["chunks"],
            r.get("raw_encode_docs_per_s", "-"),
            r["ingest_docs_per_s"],
            f"{r['ingest_vs_raw']:.2f}x" if "ingest_vs_raw" in r else "-",
            r.get("torch_raw_docs_per_s", "-"),
            f"{r['ingest_vs_torch_raw']:.2f}x" if "ingest_vs_torch_raw" in r else "-",
            r["ingest_peak_rss_mb"],
        ]
        for r in rows
    ]
    print_table(header, cells)


if __name__ == "__main__":
    main()
