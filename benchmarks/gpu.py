"""Ingest on a GPU: the product's read → chunk → embed pipeline on each backend and batch size, against the CPU.

Prepared for one short run on a GPU machine that has torch (CUDA), sentence-transformers and a CPU onnxruntime, but
no milvus-lite (docs/gpu.md says how the files travel there). The store is replaced by a counting sink (`_Counting`),
so the table measures what the GPU changes: reading, chunking and the model, overlapped by the product's own
pipeline threads (`ingest.pipeline`); Milvus's write rate is measured on the CPU machine (benchmarks/writes.py).

For each corpus (SciFact's abstracts, and sample_data/ repeated under new ids) it ingests `--chunks` chunks per row:
- `cpu`: the product's CPU default (onnx-int8) on this machine's cores, on `--cpu-chunks` chunks;
- `torch fp16` / `torch fp32` on the GPU at each `--batch-sizes`;
- `onnx` on the GPU where onnxruntime has its CUDA provider (onnxruntime-gpu), else the row says why not.
`gpu busy` is the share of the row's wall time spent inside the model's encode calls (synchronised: the vectors
come back to the CPU), so 100% means reading and chunking never kept the GPU waiting. It also prints nDCG@10 on
SciFact for fp16 against fp32 (exact search in numpy, no Milvus) and one query's embedding p50 on the GPU.

    python benchmarks/gpu.py [--device cuda] [--chunks 20000] [--batch-sizes 64,128,256] [--scifact DIR] [--json F]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) in sys.path:  # benchmarks/ingest.py must not shadow the ingest package
    sys.path.remove(str(ROOT))
sys.path.insert(0, str(ROOT))

SCIFACT = ROOT.parent / "shared" / "beir" / "scifact"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--chunks", type=int, default=20_000, help="chunks per GPU row and corpus")
    parser.add_argument("--cpu-chunks", type=int, default=2_000, help="chunks of the CPU row (it is slow)")
    parser.add_argument("--batch-sizes", default="64,128,256")
    parser.add_argument("--scifact", type=Path, default=SCIFACT)
    parser.add_argument("--model", default=None, help="a model name or local path (default: the product's)")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from semsearch.logs import quiet_libraries

    quiet_libraries()
    result: dict[str, Any] = {"device": _device_name(args.device), "load_average": os.getloadavg()[0], "rows": []}
    with tempfile.TemporaryDirectory() as folder:
        for corpus in ("scifact", "sample_data"):
            files = _Corpus(corpus, args.scifact, Path(folder) / corpus)
            if not files.available:
                continue
            result["rows"].append(_row(corpus, "cpu onnx-int8", "cpu", "onnx-int8", "auto", 64, files, args))
            for batch in (int(b) for b in args.batch_sizes.split(",")):
                for precision in ("fp16", "fp32"):
                    row = _row(corpus, f"torch {precision}", args.device, "torch", precision, batch, files, args)
                    result["rows"].append(row)
            result["rows"].append(_row(corpus, "onnx (CUDA provider)", args.device, "onnx", "auto", 64, files, args))
    if not args.skip_quality and (args.scifact / "corpus.jsonl").is_file():
        result["quality"] = {p: _ndcg(args.scifact, args.device, p, args.model) for p in ("fp16", "fp32")}
    result["query_p50_ms"] = _query_p50(args.device, args.model)
    _print(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


class _Enough(Exception):
    """The row has written its chunks."""


@dataclass
class _Counting:
    """The store's surface the indexer uses, holding nothing: every chunk is new, every write is counted."""

    limit: int
    has_keyword_text: bool = True
    written: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def existing_chunks(self, doc_ids: list[str]) -> dict:
        return {}

    def vectors_by_hash(self, hashes: list[str]) -> dict:
        return {}

    def vectors(self, ids: list[str]) -> dict:
        return {}

    def store_chunks(self, rows: list[dict], new: set[str]) -> None:
        with self.lock:
            self.written += len(rows)
            if self.written >= self.limit:
                raise _Enough  # ends the ingest: the pipeline stops its threads and re-raises it

    def delete_ids(self, ids: list[str]) -> None:
        pass

    def doc_ids_for_source(self, source: str) -> set[str]:
        return set()

    def delete_documents(self, doc_ids: list[str]) -> int:
        return 0


def _row(corpus: str, name: str, device: str, backend: str, precision: str, batch: int, files: _Corpus, args) -> dict:
    """One ingest through the product's pipeline into the counting sink; chunks/s and the model's share of time."""
    from ingest.loaders import TableOptions
    from ingest.pipeline import ingest_files
    from ingest.sinks import EngineSink
    from semsearch.embedder import Embedder
    from semsearch.indexer import Indexer
    from semsearch.settings import Settings

    base = {"corpus": corpus, "backend": name, "batch": batch}
    model = {"model": args.model} if args.model else {}
    settings = Settings(device=device, backend=backend, precision=precision, batch_size=batch, _env_file=None, **model)
    try:
        embedder = Embedder.load(settings)
    except Exception as exc:
        return {**base, "skipped": f"{type(exc).__name__}: {exc}"[:120]}
    if (
        backend == "onnx"
        and device.startswith("cuda")
        and "CUDA" not in " ".join(embedder.model.session.get_providers())
    ):
        return {**base, "skipped": "onnxruntime has no CUDA provider here (onnxruntime-gpu is not installed)"}
    busy = _Timed(embedder)
    limit = args.cpu_chunks if device == "cpu" else args.chunks
    store = _Counting(limit)
    indexer = Indexer(store, busy, settings)  # type: ignore[arg-type]
    sink = EngineSink(SimpleNamespace(indexer=indexer, store=store))  # type: ignore[arg-type]
    paths = files.for_chunks(limit)
    started = time.perf_counter()
    with contextlib.suppress(_Enough):
        ingest_files(paths, sink, TableOptions())
    wall = time.perf_counter() - started
    return {
        **base,
        "chunks": store.written,
        "chunks_per_s": round(store.written / wall, 1),
        "gpu_busy": round(busy.seconds / wall, 3) if device != "cpu" else None,
        "seconds": round(wall, 1),
    }


class _Timed:
    """The embedder with its encode calls timed: their sum over the wall time is the model's (the GPU's) share."""

    def __init__(self, embedder) -> None:
        self._embedder = embedder
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._embedder, name)

    def embed_documents(self, texts: list[str]):
        started = time.perf_counter()
        try:
            return self._embedder.embed_documents(texts)
        finally:
            self.seconds += time.perf_counter() - started


class _Corpus:
    """Files holding at least n chunks of one corpus (the row stops at n): SciFact's first abstracts (3.5 chunks
    each at the default chunk size), or sample_data/ copied under new names as often as needed (copies of one text:
    same chunks, new ids). Files are read as the pipeline goes, so files past the n-th chunk cost nothing."""

    CHUNKS_PER_ABSTRACT = 3.5
    SAMPLE_CHUNKS_PER_COPY = 500  # fewer than sample_data/ gives at the default chunk size: never too few copies

    def __init__(self, name: str, scifact: Path, folder: Path) -> None:
        self.name, self.scifact, self.folder = name, scifact, folder
        self.available = name != "scifact" or (scifact / "corpus.jsonl").is_file()

    def for_chunks(self, n: int) -> list[Path]:
        import shutil

        from ingest.sources import discover

        target = self.folder / str(n)
        target.mkdir(parents=True, exist_ok=True)
        if self.name == "scifact":
            lines = math.ceil(n / self.CHUNKS_PER_ABSTRACT) + 50
            out = target / "scifact.jsonl"
            with (self.scifact / "corpus.jsonl").open() as source, out.open("w") as sink:
                for _, line in zip(range(lines), source, strict=False):
                    sink.write(line)
            return [out]
        paths = []
        for copy in range(math.ceil(n / self.SAMPLE_CHUNKS_PER_COPY) + 1):
            for path in discover([str(ROOT / "sample_data")]).files:
                copied = target / f"c{copy}" / path.name
                copied.parent.mkdir(exist_ok=True)
                shutil.copyfile(path, copied)
                paths.append(copied)
        return paths


def _ndcg(scifact: Path, device: str, precision: str, model: str | None) -> float | None:
    """nDCG@10 of dense search on SciFact (title + text, one vector per abstract, exact search)."""
    import numpy as np

    from semsearch.embedder import Embedder
    from semsearch.settings import Settings

    extra = {"model": model} if model else {}
    try:
        embedder = Embedder.load(
            Settings(device=device, backend="torch", precision=precision, batch_size=128, _env_file=None, **extra)
        )
    except Exception:
        return None
    docs = [json.loads(line) for line in (scifact / "corpus.jsonl").open()]
    queries = {q["_id"]: q["text"] for q in map(json.loads, (scifact / "queries.jsonl").open())}
    qrels: dict[str, dict[str, int]] = {}
    for line in list((scifact / "qrels" / "test.tsv").open())[1:]:
        qid, did, score = line.split()
        qrels.setdefault(qid, {})[did] = int(score)
    ids = [d["_id"] for d in docs]
    doc_vectors = embedder.embed_documents([f"{d['title']}\n{d['text']}".strip() for d in docs])
    judged = [q for q in qrels if q in queries]
    query_vectors = embedder.embed_queries([queries[q] for q in judged])
    scores = query_vectors @ doc_vectors.T
    total = 0.0
    for row, qid in enumerate(judged):
        top = np.argsort(-scores[row])[:10]
        gains = [qrels[qid].get(ids[i], 0) for i in top]
        dcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(gains))
        ideal = sorted(qrels[qid].values(), reverse=True)[:10]
        total += dcg / sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return round(total / len(judged), 4)


def _query_p50(device: str, model: str | None) -> float | None:
    from semsearch.embedder import Embedder
    from semsearch.settings import Settings

    extra = {"model": model} if model else {}
    try:
        embedder = Embedder.load(Settings(device=device, backend="torch", _env_file=None, **extra))
    except Exception:
        return None
    times = []
    for i in range(220):
        started = time.perf_counter()
        embedder.embed_queries([f"how do otters sleep in rivers {i}"])
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times[20:]), 2)


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        try:
            import torch

            return torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"{device} (not available)"
        except ImportError:
            return f"{device} (no torch)"
    return f"{device} ({os.cpu_count()} cores)"


def _print(result: dict) -> None:
    print(f"device {result['device']}; load average {result['load_average']:.1f}")
    cpu = {r["corpus"]: r.get("chunks_per_s") for r in result["rows"] if r["backend"].startswith("cpu")}
    print("| corpus | backend | batch | chunks | chunks/s | x CPU | GPU busy |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in result["rows"]:
        if "skipped" in r:
            print(f"| {r['corpus']} | {r['backend']} | {r['batch']} | skipped: {r['skipped']} | | | |")
            continue
        base = cpu.get(r["corpus"])
        ratio = f"{r['chunks_per_s'] / base:.1f}" if base else ""
        busy = f"{r['gpu_busy']:.0%}" if r["gpu_busy"] is not None else ""
        print(
            f"| {r['corpus']} | {r['backend']} | {r['batch']} | {r['chunks']} | {r['chunks_per_s']} | {ratio} "
            f"| {busy} |"
        )
    if "quality" in result:
        print(f"SciFact nDCG@10 (exact, torch): {result['quality']}")
    print(f"one query's embedding p50 on {result['device']}: {result['query_p50_ms']} ms")


if __name__ == "__main__":
    main()
