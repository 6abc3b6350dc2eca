"""Page-level retrieval quality on real documentation sites, per mode and per question style, next to SciFact.

    .venv/bin/python benchmarks/realdocs/run.py [--sets flask,git] [--scifact] [--cache /work/realdocs-cache]
                                                [--db NAME] [--calibration]

Each set (`corpus.py`) is ingested as a user would (`KnowledgeBase.add_files` on the folder of pages) into a Milvus
Lite database under `CACHE/db/NAME/`, reused by later runs: only pages whose text changed are embedded again, so
a run after a reader change costs one re-embedding and a run without one about a minute. Every judged question is
searched in each mode with `group_by_document` (a page's best chunk stands for the page), 100 pages deep, and
scored by pytrec_eval (MRR@10, nDCG@10, Recall@10). `--scifact` adds the BEIR SciFact row (`../shared/beir`),
ingested once into the same cache. `--calibration` prints, per mode, the share of relevant pages among the top-10
hits in each score bucket: what a score means (docs/scores.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent))  # _common; appended: benchmarks/ingest.py must not shadow the ingest package

from _common import ROOT, in_the_repo  # noqa: E402
from corpus import DEFAULT_CACHE, SETS, STYLES  # noqa: E402

DEPTH = 100
MODES = ("dense", "keyword", "hybrid")
SHOWN = ("mrr@10", "ndcg@10", "recall@10")
BUCKETS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="flask,git", help=f"comma-separated, of: {', '.join(SETS)}; or none")
    parser.add_argument("--scifact", action="store_true", help="add BEIR SciFact (../shared/beir/scifact)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--db", default="current", help="name of the database folder under CACHE/db")
    parser.add_argument("--calibration", action="store_true", help="score bucket against share relevant")
    parser.add_argument("--saved", action="store_true", help="tables from the runs a past run saved; no search")
    args = parser.parse_args()
    in_the_repo()
    from semsearch import KnowledgeBase

    started = time.perf_counter()
    results: dict[str, dict] = {}
    for name in [s.strip() for s in args.sets.split(",") if s.strip() and s.strip() != "none"]:
        saved = args.cache / "runs" / args.db / f"{name}.json"
        if args.saved:
            results[name] = json.loads(saved.read_text())
            continue
        docset = SETS[name]
        corpus = docset.corpus(args.cache)
        questions = docset.questions()
        db = args.cache / "db" / args.db / f"{name}.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        with KnowledgeBase.open(db, collection=f"realdocs_{name}") as kb:
            report = kb.add_files([corpus], base=corpus)
            print(f"{name}: {len(report.failures)} failures, {kb.count()} chunks", file=sys.stderr)
            results[name] = {"questions": questions, "runs": runs(kb, questions)}
        save(saved, results[name])
    if args.scifact and args.saved:
        results["scifact"] = json.loads((args.cache / "runs" / args.db / "scifact.json").read_text())
    elif args.scifact:
        results["scifact"] = scifact(args.cache / "db" / args.db / "scifact.db")
        save(args.cache / "runs" / args.db / "scifact.json", results["scifact"])
    load = os.getloadavg()
    print(f"Measured {time.strftime('%Y-%m-%d')}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, ")
    print(f"{time.perf_counter() - started:.0f} s in all.\n")
    print_overall(results)
    for name, result in results.items():
        if "questions" in result:
            print_styles(name, result)
    if args.calibration:
        print_calibration(results)


def save(path: Path, result: dict) -> None:
    """Each set's runs as JSON beside its database: a later set's failure loses no earlier one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))


def runs(kb, questions: list[dict]) -> dict[str, dict[str, list[tuple[str, float]]]]:
    """mode -> question id -> [(page, score)], best first."""
    found: dict[str, dict[str, list[tuple[str, float]]]] = {}
    for mode in MODES:
        found[mode] = {
            q["id"]: [
                (hit.doc_id, hit.score)
                for hit in kb.search(q["question"], top_k=DEPTH, mode=mode, group_by_document=True).results
            ]
            for q in questions
        }
    return found


def scifact(db: Path) -> dict:
    from evaluation.beir import load
    from evaluation.runner import index_corpus, scratch_collection
    from semsearch import KnowledgeBase

    data = load(ROOT.parent / "shared" / "beir" / "scifact")
    db.parent.mkdir(parents=True, exist_ok=True)
    with KnowledgeBase.open(db, collection=scratch_collection(data.name)) as kb:
        index_corpus(kb.engine, data)
        questions = [
            {"id": qid, "question": text, "relevant": list(data.qrels[qid])} for qid, text in data.queries.items()
        ]
        qrels = {qid: dict(data.qrels[qid]) for qid in data.queries}
        return {"qrels": qrels, "runs": runs(kb, questions), "n": len(questions)}


def qrels_of(questions: list[dict]) -> dict[str, dict[str, int]]:
    return {q["id"]: dict.fromkeys(q["relevant"], 1) for q in questions}


def scored(result: dict, mode: str, ids: list[str] | None = None) -> dict[str, float]:
    from evaluation.metrics import evaluate

    qrels = result.get("qrels") or qrels_of(result["questions"])
    ids = ids if ids is not None else list(qrels)
    run = {qid: [page for page, _ in result["runs"][mode][qid]] for qid in ids}
    return evaluate({qid: qrels[qid] for qid in ids}, run)


def print_overall(results: dict[str, dict]) -> None:
    print("| set | questions | mode | " + " | ".join(SHOWN) + " |")
    print("|---|---|---|" + "---|" * len(SHOWN))
    for name, result in results.items():
        n = result.get("n") or len(result["questions"])
        for mode in MODES:
            metrics = scored(result, mode)
            print(f"| {name} | {n} | {mode} | " + " | ".join(f"{metrics[m]:.3f}" for m in SHOWN) + " |")
    print()


def print_styles(name: str, result: dict) -> None:
    by_style: dict[str, list[str]] = defaultdict(list)
    for q in result["questions"]:
        by_style[q["style"]].append(q["id"])
    print(f"{name}, MRR@10 per question style:\n")
    print("| style | questions | " + " | ".join(MODES) + " |")
    print("|---|---|" + "---|" * len(MODES))
    for style in STYLES:
        ids = by_style.get(style, [])
        if ids:
            cells = [f"{scored(result, mode, ids)['mrr@10']:.3f}" for mode in MODES]
            print(f"| {style} | {len(ids)} | " + " | ".join(cells) + " |")
    print()


def print_calibration(results: dict[str, dict]) -> None:
    """Top-10 hits of every question of every set, pooled, by score bucket: the share that is a relevant page."""
    print("Score against the share of relevant pages among the top-10 hits, all sets pooled:\n")
    print("| score | " + " | ".join(MODES) + " |")
    print("|---|" + "---|" * len(MODES))
    counts = {mode: defaultdict(lambda: [0, 0]) for mode in MODES}
    for result in results.values():
        qrels = result.get("qrels") or qrels_of(result["questions"])
        for mode in MODES:
            for qid, hits in result["runs"][mode].items():
                for page, score in hits[:10]:
                    bucket = max(i for i, low in enumerate(BUCKETS[:-1]) if score >= low)
                    counts[mode][bucket][0] += page in qrels[qid]
                    counts[mode][bucket][1] += 1
    for i, low in enumerate(BUCKETS[:-1]):
        label = f"{low:.1f}-{min(BUCKETS[i + 1], 1.0):.1f}"
        cells = []
        for mode in MODES:
            relevant, total = counts[mode][i]
            cells.append(f"{relevant / total:.2f} ({total})" if total else "\u2013")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()


if __name__ == "__main__":
    main()
