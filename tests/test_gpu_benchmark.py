"""benchmarks/gpu.py runs to its table where no GPU is, as the GPU machine will run it: without pymilvus, grpc or
milvus-lite (they cannot travel there), so the engine's imports of them are served by stand-ins and the store is a
counter. Tiny sizes and a tiny SciFact-format set keep it short; nothing here asserts a duration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ABSENT_ON_THE_GPU_MACHINE = ("pymilvus", "milvus_lite", "grpc")

ABSTRACTS = [
    ("d1", "Otters", "Sea otters hold hands while they sleep so that they do not drift apart on the water."),
    ("d2", "Beavers", "Beavers build dams of branches and mud across streams, making ponds where they live."),
    ("d3", "Insulin", "Insulin lowers blood glucose by letting muscle and fat cells take sugar from the blood."),
    ("d4", "Vitamin D", "Vitamin D is made in the skin under sunlight and helps the gut absorb calcium."),
    ("d5", "Malaria", "Malaria is spread by the bites of infected Anopheles mosquitoes, mostly at night."),
    ("d6", "Telomeres", "Telomeres shorten each time a cell divides, and their length is linked with ageing."),
]
QUERIES = {"q1": "how do otters sleep", "q2": "what carries malaria", "q3": "how is blood sugar lowered"}
QRELS = {"q1": "d1", "q2": "d5", "q3": "d3"}


@pytest.fixture(scope="module")
def scifact_format(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few abstracts, queries and judgements in BEIR's SciFact layout."""
    folder = tmp_path_factory.mktemp("scifact")
    lines = [json.dumps({"_id": i, "title": title, "text": text}) for i, title, text in ABSTRACTS]
    (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": q, "text": t}) + "\n" for q, t in QUERIES.items()))
    (folder / "qrels").mkdir()
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, d in QRELS.items())
    )
    return folder


def _run_benchmark(tmp_path: Path, scifact: Path, *options: str) -> tuple[str, dict]:
    """Run the script as a script, with the Milvus client libraries made unimportable (packages that raise
    ModuleNotFoundError, first on the path), and return its table and its JSON."""
    blocked = tmp_path / "blocked"
    for name in ABSENT_ON_THE_GPU_MACHINE:
        (blocked / name).mkdir(parents=True)
        (blocked / name / "__init__.py").write_text(
            f"raise ModuleNotFoundError({f'No module named {name!r}'!r}, name={name!r})\n"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEMSEARCH_")}
    env.update(PYTHONPATH=str(blocked), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    out = tmp_path / "gpu.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "gpu.py"), "--device", "cpu", "--scifact", str(scifact)]
    command += ["--chunks", "5", "--cpu-chunks", "5", "--query-repeats", "5", "--json", str(out), *options]
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, json.loads(out.read_text())


def test_the_gpu_benchmark_prints_every_row_without_the_milvus_client(tmp_path: Path, scifact_format: Path) -> None:
    import onnxruntime

    table, result = _run_benchmark(tmp_path, scifact_format, "--batch-sizes", "4,8")
    assert result["stood_in"] == ["pymilvus", "grpc"]
    assert result["left_out"] == {"scifact": {}, "sample_data": {}}  # every reader's library is installed here
    assert result["device"].startswith("cpu")
    for corpus in ("scifact", "sample_data"):
        rows = [r for r in result["rows"] if r["corpus"] == corpus]
        assert [(r["backend"], r["batch"]) for r in rows] == [
            ("cpu onnx-int8", 64),
            ("torch fp16", 4),
            ("torch fp32", 4),
            ("torch fp16", 8),
            ("torch fp32", 8),
            ("onnx (CUDA provider)", 64),
        ]
        for row in rows[:-1]:
            assert row["chunks"] >= 5 and row["chunks_per_s"] > 0, row
        assert rows[0]["runs_on"] == "onnx-int8 on CPUExecutionProvider" and rows[0]["gpu_busy"] is None
        for row in rows[1:-1]:  # no fp16 on a CPU: the rows say they ran fp32
            assert row["runs_on"] == "float32 on cpu" and 0 < row["gpu_busy"] <= 1, row
        if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
            assert "no CUDA provider" in rows[-1]["skipped"] and "onnxruntime-gpu" in rows[-1]["skipped"]
        lines = [line for line in table.splitlines() if line.startswith(f"| {corpus} |")]
        assert len(lines) == len(rows) and all(line.count("|") == 9 for line in lines)
    assert "| corpus | backend | batch | runs on | chunks | chunks/s | x CPU | GPU busy |" in table
    quality = result["quality"]
    assert (quality["docs"], quality["queries"]) == (len(ABSTRACTS), len(QUERIES))
    assert all(0 <= quality["ndcg_at_10"][p] <= 1 for p in ("fp16", "fp32"))
    assert quality["runs_on"] == {"fp16": "float32 on cpu", "fp32": "float32 on cpu"}
    assert "SciFact nDCG@10" in table
    assert result["query_p50_ms"] > 0


def test_the_gpu_benchmark_leaves_out_quality_when_told(tmp_path: Path, scifact_format: Path) -> None:
    table, result = _run_benchmark(tmp_path, scifact_format, "--batch-sizes", "8", "--skip-quality")
    assert "quality" not in result and "nDCG" not in table
    assert {r["backend"] for r in result["rows"]} >= {"cpu onnx-int8", "torch fp16", "torch fp32"}
