"""Ingest on a GPU: the product's read → chunk → embed pipeline on each backend and batch size, against the CPU.

Prepared for one short run on a GPU machine that has torch (CUDA), sentence-transformers and a CPU onnxruntime, but
no milvus-lite (docs/gpu.md says how the files travel there). The store is replaced by a counter (`CountingStore`),
so the table measures what the GPU changes: reading, chunking and the model, overlapped by the product's own
pipeline threads (`ingest.pipeline`); Milvus's write rate is measured on the CPU machine (benchmarks/writes.py).

For each corpus (SciFact's abstracts, and sample_data/ repeated under new ids) it ingests `--chunks` chunks per row
(`benchmarks/gpu_inputs.py` picks the files):
- `cpu`: the product's CPU default (onnx-int8) on this machine's cores, on `--cpu-chunks` chunks (where int8 cannot
  be prepared, e.g. without the `onnx` package, onnx fp32, then torch fp32, and the row says so);
- `torch fp16` / `torch fp32` on the GPU at each `--batch-sizes`;
- `onnx` on the GPU where onnxruntime has its CUDA provider (onnxruntime-gpu), else the row says why not.
Each row says where and in what dtype it ran (a GPU that torch cannot see runs on the CPU, fp16 on a CPU runs fp32).
`gpu busy` is the share of the row's wall time spent inside the model's encode calls (synchronised: the vectors
come back to the CPU), so 100% means reading and chunking never kept the GPU waiting. It also prints nDCG@10 on
SciFact for fp16 against fp32 (exact search in numpy, no Milvus; `--quality-docs` abstracts, 0 = all 5,183) and one
query's embedding p50 on the GPU. pymilvus and grpc are stood in for where absent (`benchmarks/absent_client.py`).

    python benchmarks/gpu.py [--device cuda] [--chunks 20000] [--batch-sizes 64,128,256] [--scifact DIR] [--json F]
    python benchmarks/gpu.py --device cpu --chunks 60 --cpu-chunks 60 --batch-sizes 16 --quality-docs 60  # smoke
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) in sys.path:  # benchmarks/ingest.py must not shadow the ingest package
    sys.path.remove(str(ROOT))
sys.path.insert(0, str(ROOT))

from gpu_inputs import Corpus as _Corpus  # noqa: E402
from gpu_inputs import QualitySet, ingest_counting, scifact_quality_set  # noqa: E402

SCIFACT = ROOT.parent / "shared" / "beir" / "scifact"
CPU_BACKENDS = ("onnx-int8", "onnx", "torch")  # the product's CPU default first; the others where it cannot load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--chunks", type=int, default=20_000, help="chunks per GPU row and corpus")
    parser.add_argument("--cpu-chunks", type=int, default=2_000, help="chunks of the CPU row (it is slow)")
    parser.add_argument("--batch-sizes", default="64,128,256")
    parser.add_argument("--scifact", type=Path, default=SCIFACT)
    parser.add_argument("--model", default=None, help="a model name or local path (default: the product's)")
    parser.add_argument("--quality-docs", type=int, default=0, help="SciFact abstracts for nDCG@10 (0: all)")
    parser.add_argument("--query-repeats", type=int, default=200, help="single-query embeddings for the p50")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from absent_client import stand_in_where_absent

    stood_in = stand_in_where_absent()  # before the engine's modules import them
    from semsearch.logs import quiet_libraries

    quiet_libraries()
    models = _Models(args.model)
    result: dict[str, Any] = {"device": _device_name(args.device), "load_average": os.getloadavg()[0], "rows": []}
    result["stood_in"] = stood_in
    with tempfile.TemporaryDirectory() as folder:
        for name in ("scifact", "sample_data"):
            corpus = _Corpus(name, args.scifact, Path(folder) / name)
            if corpus.available:
                result["rows"] += _corpus_rows(corpus, models, args)
                result.setdefault("left_out", {})[name] = corpus.left_out
    if not args.skip_quality and (args.scifact / "corpus.jsonl").is_file():
        result["quality"] = _quality(args.scifact, args.quality_docs, args.device, models)
    result["query_p50_ms"] = _query_p50(args.device, models, args.query_repeats)
    _print(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


def _corpus_rows(corpus: _Corpus, models: _Models, args: argparse.Namespace) -> list[dict]:
    rows = [_cpu_row(corpus, models, args.cpu_chunks)]
    for batch in (int(b) for b in args.batch_sizes.split(",")):
        for precision in ("fp16", "fp32"):
            loaded = models.get(args.device, "torch", precision)
            rows.append(_row(corpus, f"torch {precision}", loaded, batch, args.chunks, on_gpu=True))
    rows.append(_onnx_gpu_row(corpus, models, args))
    return rows


def _cpu_row(corpus: _Corpus, models: _Models, chunks: int) -> dict:
    """The product's CPU default, or the next CPU backend that loads (the row names it, and why)."""
    why_not = []
    for backend in CPU_BACKENDS:
        loaded = models.get("cpu", backend, "fp32")
        if isinstance(loaded, str):
            why_not.append(f"{backend}: {loaded}")
            continue
        row = _row(corpus, f"cpu {backend}", loaded, loaded[0].batch_size, chunks, on_gpu=False)
        return {**row, "instead_of": why_not} if why_not else row
    return {"corpus": corpus.name, "backend": "cpu", "batch": None, "skipped": "; ".join(why_not)}


def _onnx_gpu_row(corpus: _Corpus, models: _Models, args: argparse.Namespace) -> dict:
    import onnxruntime

    base = {"corpus": corpus.name, "backend": "onnx (CUDA provider)", "batch": 64}
    providers = onnxruntime.get_available_providers()
    if "CUDAExecutionProvider" not in providers:
        why = f"onnxruntime has no CUDA provider here ({', '.join(providers)}): onnxruntime-gpu is not installed"
        return {**base, "skipped": why}
    if not args.device.startswith("cuda"):
        return {**base, "skipped": f"--device {args.device}: this row is for a GPU"}
    loaded = models.get(args.device, "onnx", "fp32")
    if isinstance(loaded, str):
        return {**base, "skipped": loaded}
    return _row(corpus, base["backend"], loaded, 64, args.chunks, on_gpu=True)


def _row(corpus: _Corpus, name: str, loaded: Any, batch: int, chunks: int, on_gpu: bool) -> dict:
    """One ingest of about `chunks` chunks through the product's pipeline into a counting store; chunks/s and the
    model's share of the wall time."""
    base = {"corpus": corpus.name, "backend": name, "batch": batch}
    if isinstance(loaded, str):
        return {**base, "skipped": loaded}
    embedder, settings = loaded
    embedder = dataclasses.replace(embedder, batch_size=batch)
    paths = corpus.for_chunks(chunks, embedder, settings)
    timed = _Timed(embedder)
    started = time.perf_counter()
    store = ingest_counting(paths, timed, settings)
    wall = time.perf_counter() - started
    return {
        **base,
        "runs_on": _runs_on(embedder),
        "chunks": store.written,
        "chunks_per_s": round(store.written / wall, 1),
        "gpu_busy": round(timed.seconds / wall, 3) if on_gpu else None,
        "seconds": round(wall, 2),
    }


class _Models:
    """Each (device, backend, precision) loaded once and warmed up (CUDA's first calls set up kernels), shared by
    the rows, the quality check and the query p50; a model that cannot load is the reason, as a string."""

    def __init__(self, model: str | None) -> None:
        self.model = model
        self.loaded: dict[tuple[str, str, str], Any] = {}

    def get(self, device: str, backend: str, precision: str) -> Any:
        key = (device, backend, precision)
        if key not in self.loaded:
            self.loaded[key] = self._load(*key)
        return self.loaded[key]

    def _load(self, device: str, backend: str, precision: str) -> Any:
        from semsearch.embedder import Embedder
        from semsearch.settings import Settings

        extra = {"model": self.model} if self.model else {}
        settings = Settings(device=device, backend=backend, precision=precision, _env_file=None, **extra)
        try:
            embedder = Embedder.load(settings)
            embedder.embed_documents(["a warm-up passage, long enough to need a few kernels " * 8] * 8)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"[:160]
        return embedder, settings


class _Timed:
    """The embedder with its encode calls timed: their sum over the wall time is the model's (the GPU's) share."""

    def __init__(self, embedder: Any) -> None:
        self._embedder = embedder
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._embedder, name)

    def embed_documents(self, texts: list[str]) -> Any:
        started = time.perf_counter()
        try:
            return self._embedder.embed_documents(texts)
        finally:
            self.seconds += time.perf_counter() - started


def _runs_on(embedder: Any) -> str:
    """Where and in what the model actually runs: `float16 on cuda:0`, `onnx-int8 on CPUExecutionProvider`."""
    model = embedder.model
    session = getattr(model, "session", None)
    if session is not None:
        return f"{embedder.backend} on {session.get_providers()[0]}"
    parameter = next(model.parameters())
    return f"{str(parameter.dtype).removeprefix('torch.')} on {parameter.device}"


def _quality(scifact: Path, docs: int, device: str, models: _Models) -> dict:
    """nDCG@10 of dense search on SciFact (title + text, one vector per abstract, exact search), fp16 and fp32."""
    test = scifact_quality_set(scifact, docs)
    result: dict[str, Any] = {"docs": len(test.doc_ids), "queries": len(test.queries), "ndcg_at_10": {}, "runs_on": {}}
    for precision in ("fp16", "fp32"):
        loaded = models.get(device, "torch", precision)
        if isinstance(loaded, str):
            result["ndcg_at_10"][precision], result["runs_on"][precision] = None, loaded
            continue
        embedder = dataclasses.replace(loaded[0], batch_size=128)
        result["ndcg_at_10"][precision] = _ndcg(embedder, test)
        result["runs_on"][precision] = _runs_on(embedder)
    return result


def _ndcg(embedder: Any, test: QualitySet) -> float | None:
    import numpy as np

    if not test.queries:
        return None
    doc_vectors = embedder.embed_documents(test.doc_texts)
    query_vectors = embedder.embed_queries(list(test.queries.values()))
    scores = query_vectors @ doc_vectors.T
    total = 0.0
    for row, qid in enumerate(test.queries):
        top = np.argsort(-scores[row])[:10]
        gains = [test.qrels[qid].get(test.doc_ids[i], 0) for i in top]
        dcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(gains))
        ideal = sorted(test.qrels[qid].values(), reverse=True)[:10]
        total += dcg / sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return round(total / len(test.queries), 4)


def _query_p50(device: str, models: _Models, repeats: int) -> float | None:
    """One query at a time on torch in the product's precision for the device (fp16 on CUDA)."""
    loaded = models.get(device, "torch", "fp16" if device.startswith("cuda") else "fp32")
    if isinstance(loaded, str):
        return None
    times = []
    for i in range(repeats + 20):  # the first 20 warm up
        started = time.perf_counter()
        loaded[0].embed_queries([f"how do otters sleep in rivers {i}"])
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
    print(f"device {result['device']}; load average {result['load_average']:.1f} at the start")
    if result["stood_in"]:
        print(f"not installed, stood in for (the store is a counter): {', '.join(result['stood_in'])}")
    cpu = {r["corpus"]: r.get("chunks_per_s") for r in result["rows"] if r["backend"].startswith("cpu")}
    print("| corpus | backend | batch | runs on | chunks | chunks/s | x CPU | GPU busy |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in result["rows"]:
        if "skipped" in r:
            print(f"| {r['corpus']} | {r['backend']} | {r['batch'] or ''} | skipped: {r['skipped']} | | | | |")
            continue
        base = cpu.get(r["corpus"])
        ratio = f"{r['chunks_per_s'] / base:.1f}" if base else ""
        busy = f"{r['gpu_busy']:.0%}" if r["gpu_busy"] is not None else ""
        print(
            f"| {r['corpus']} | {r['backend']} | {r['batch']} | {r['runs_on']} | {r['chunks']} | {r['chunks_per_s']} "
            f"| {ratio} | {busy} |"
        )
        for reason in r.get("instead_of", []):
            print(f"  (instead of {reason})")
    for corpus, reasons in result.get("left_out", {}).items():
        for reason, files in reasons.items():
            named = ", ".join(files[:3]) + (", ..." if len(files) > 3 else "")
            print(f"left out of {corpus}: {len(files)} file(s) ({named}): {reason}")
    if "quality" in result:
        q = result["quality"]
        figures = ", ".join(
            f"{p} {q['ndcg_at_10'][p]} ({q['runs_on'][p]})" for p in ("fp16", "fp32") if p in q["ndcg_at_10"]
        )
        print(f"SciFact nDCG@10, exact search, {q['docs']} abstracts, {q['queries']} queries: {figures}")
    print(f"one query's embedding p50 on {result['device']}: {result['query_p50_ms']} ms")


if __name__ == "__main__":
    main()
