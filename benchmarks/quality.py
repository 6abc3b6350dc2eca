"""Retrieval quality on a BEIR set in every mode and backend: the README's quality table, printed as Markdown.

    .venv/bin/python benchmarks/quality.py [../shared/beir/scifact] [--backends onnx-int8,onnx] [--db-dir DIR]

What `semsearch eval DIR` measures (the same ingest, runs and pytrec_eval metrics, `evaluation/`), once per backend
with the current settings otherwise (chunk size, keyword window, fusion defaults), each backend in its own Milvus
Lite database under `--db-dir`: content hashes name the model, not the backend, so one collection would hand one
backend's vectors to the other. Keyword search uses no model, so it is run once. The first run per backend embeds
the corpus (minutes); later ones reuse the vectors and take about a minute.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _common import ROOT, in_the_repo

#: Published nDCG@10 on SciFact for the row's mode, as the README cites them.
REFERENCES = {"dense": "all-MiniLM-L6-v2 0.645 (MTEB)", "keyword": "BM25 0.665 (BEIR, Anserini)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", type=Path, default=ROOT.parent / "shared" / "beir" / "scifact")
    parser.add_argument("--backends", default="onnx-int8,onnx", help="comma-separated SEMSEARCH_BACKEND values")
    parser.add_argument("--db-dir", type=Path, default=Path("/tmp/semsearch-quality"))
    args = parser.parse_args()
    in_the_repo()
    from evaluation.beir import load
    from evaluation.metrics import METRICS
    from evaluation.runner import index_corpus, run_mode, scratch_collection
    from semsearch.engine import Engine
    from semsearch.ranking import Mode
    from semsearch.settings import Settings

    data = load(args.directory.resolve())
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    rows = []
    for n, backend in enumerate(backends):
        db = args.db_dir / f"{backend}.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        settings = Settings(milvus_uri=str(db), collection=scratch_collection(data.name), backend=backend)
        engine = Engine.open(settings, create=True)
        try:
            stats = index_corpus(engine, data)
            modes = [Mode.DENSE, Mode.KEYWORD, Mode.HYBRID] if n == 0 else [Mode.DENSE, Mode.HYBRID]
            for mode in modes:
                result = run_mode(engine, data, mode)
                label = "(no model)" if mode is Mode.KEYWORD else backend
                rows.append((mode.value, label, [result.metrics[m] for m in METRICS]))
        finally:
            engine.close()
    print(
        f"{data.name}: {len(data.queries)} queries, {len(data.corpus)} documents, {stats.chunks} chunks of <= "
        f"{settings.chunk_tokens} tokens, keyword window {settings.keyword_window_tokens} tokens\n"
    )
    print(f"| mode | backend | {' | '.join(METRICS)} | published reference |")
    print("|---|---|" + "---|" * len(METRICS) + "---|")
    for mode, label, values in rows:
        reference = REFERENCES.get(mode, "\u2013") if label in (backends[0], "(no model)") else ""
        print(f"| {mode} | {label} | {' | '.join(f'{v:.4f}' for v in values)} | {reference} |")


if __name__ == "__main__":
    main()
