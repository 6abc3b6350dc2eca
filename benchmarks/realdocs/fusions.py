"""Hybrid fusions compared offline on the real-documents sets and SciFact: which one is never worse than its parts.

    .venv/bin/python benchmarks/realdocs/fusions.py [--sets flask,git,scifact] [--cache /work/realdocs-cache]

Each judged question's dense and keyword page lists (best chunk per page, as grouped hybrid search fuses them, the
depth `semsearch eval` searches with) are fetched once from the collections `run.py` filled and kept in
`CACHE/candidates/`; every fusion is then computed from them in memory with the product's own `Fusion.ranking`, so a
row is what hybrid search with that fusion returns. Parameters are chosen on flask only and confirmed on the others.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent))  # _common; appended: benchmarks/ingest.py must not shadow the ingest package

from _common import ROOT, in_the_repo  # noqa: E402
from corpus import DEFAULT_CACHE, SETS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="flask,git,scifact")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--db", default="current", help="name of the database folder under CACHE/db (run.py's)")
    args = parser.parse_args()
    in_the_repo()
    from evaluation.metrics import evaluate
    from semsearch.ranking import Fusion

    fusions = {"rrf k=60 (before)": Fusion(), **candidates_of(Fusion)}
    names = [s.strip() for s in args.sets.split(",") if s.strip()]
    data = {name: candidates(name, args.cache, args.db) for name in names}
    load = os.getloadavg()
    print(f"Measured {time.strftime('%Y-%m-%d')}, load average {load[0]:.2f}; MRR@10 / nDCG@10 per set.\n")
    print("| fusion | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for label, fusion in {"dense": None, "keyword": None, **fusions}.items():
        cells = []
        for name in names:
            qrels, lists = data[name]
            metrics = evaluate(qrels, {qid: ranked(label, fusion, d, k) for qid, (d, k) in lists.items()})
            cells.append(f"{metrics['mrr@10']:.3f} / {metrics['ndcg@10']:.3f}")
        print(f"| {label} | " + " | ".join(cells) + " |")


def ranked(label: str, fusion, dense: list, keyword: list) -> list[str]:
    if fusion is None:
        return [hit.doc_id for hit in (dense if label == "dense" else keyword)]
    return fusion.ranking(dense, keyword, 100, key=lambda hit: hit.doc_id)


def candidates_of(fusion_type) -> dict:
    """The fusions tried, by label."""
    return {
        "weighted 0.5/0.5 (Milvus's WeightedRanker)": fusion_type(type="weighted"),
        **{
            f"calibrated {1 - w:g}/{w:g}": fusion_type(type="calibrated", weights=(round(1 - w, 2), w))
            for w in (0.1, 0.2, 0.3, 0.4, 0.5)
        },
    }


def candidates(name: str, cache: Path, db: str) -> tuple[dict, dict]:
    """(qrels, {question id: (dense pages, keyword pages)}), fetched once and cached."""
    path = cache / "candidates" / db / f"{name}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    from evaluation.runner import RUN_DEPTH
    from semsearch import KnowledgeBase
    from semsearch.searcher import SearchOptions

    if name == "scifact":
        from evaluation.beir import load
        from evaluation.runner import scratch_collection

        beir = load(ROOT.parent / "shared" / "beir" / "scifact")
        questions, qrels, collection = beir.queries, beir.qrels, scratch_collection(beir.name)
    else:
        found = SETS[name].questions()
        questions = {q["id"]: q["question"] for q in found}
        qrels = {q["id"]: dict.fromkeys(q["relevant"], 1) for q in found}
        collection = f"realdocs_{name}"
    with KnowledgeBase.open(cache / "db" / db / f"{name}.db", collection=collection, create=False) as kb:
        searcher = kb.engine.searcher
        limit = searcher.fetch_size(SearchOptions(top_k=RUN_DEPTH, group_by_document=True))
        lists = {qid: searcher.hybrid_candidates(text, limit, by_document=True) for qid, text in questions.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps((qrels, lists)))
    return qrels, lists


if __name__ == "__main__":
    main()
