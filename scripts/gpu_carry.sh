#!/usr/bin/env bash
# Build .gpu/: what benchmarks/gpu.py needs on a GPU machine that has Python 3.12, torch (CUDA), transformers,
# sentence-transformers and a CPU onnxruntime but nothing else, with at most 64 MiB allowed to travel:
#   .gpu/model/     the default model with fp16 weights (45 MB; the fp32 rows upcast them, so fp16 vs fp32 compares
#                   the arithmetic, not the rounding of the stored weights)
#   .gpu/scifact/   SciFact (corpus gzipped), for the 20k-chunk rows and the nDCG@10 check
#   .gpu/whl/       wheels (cp312, manylinux) of the product's small dependencies the GPU machine lacks, and onnx
# Usage: scripts/gpu_carry.sh [PYTHON]   (PYTHON: the venv's interpreter, default .venv/bin/python)
# Then, from the repo root, the device run (docs/gpu.md) carries .gpu.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
rm -rf .gpu && mkdir -p .gpu/whl .gpu/scifact  # the working tree travels anyway: the code needs no copy
"$PY" - <<'PY'
from sentence_transformers import SentenceTransformer
from semsearch.embedder import resolve_model_path
model = SentenceTransformer(resolve_model_path("sentence-transformers/all-MiniLM-L6-v2"), device="cpu").half()
model.save(".gpu/model", safe_serialization=True)
PY
SCIFACT=../shared/beir/scifact
gzip -c "$SCIFACT/corpus.jsonl" > .gpu/scifact/corpus.jsonl.gz
cp "$SCIFACT/queries.jsonl" .gpu/scifact/ && mkdir -p .gpu/scifact/qrels && cp "$SCIFACT/qrels/test.tsv" .gpu/scifact/qrels/
# What the product's read → chunk → embed path imports that the GPU machine lacks (pinned by constraints.txt), and
# onnx (+ ml-dtypes, protobuf), without which the CPU row cannot prepare the product's CPU default (onnx-int8) there
# and falls back to torch fp32, saying so. Not carried: pymilvus (it needs pandas and grpcio; the benchmark stands in
# for it, benchmarks/absent_client.py), milvus-lite, onnxruntime-gpu, pandas (sample_data's CSV is then left out),
# lxml (5 MB: sample_data's HTML is then left out), python-docx and python-pptx (they need lxml). The table names
# what was left out and why.
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 -d .gpu/whl \
  -c constraints.txt onnx ml-dtypes protobuf pydantic pydantic-core annotated-types typing-inspection \
  pydantic-settings python-dotenv platformdirs pathspec pypdf beautifulsoup4 soupsieve openpyxl et-xmlfile typer \
  click rich markdown-it-py mdurl shellingham
du -sh .gpu/*
du -sb .gpu | awk '{printf "%.1f MiB in .gpu (the limit: 64 MiB with the working tree)\n", $1 / 1048576}'
