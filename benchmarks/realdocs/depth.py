"""What the fixed candidate depth costs: search latency per mode with each list fetched 10, 100 and 500 deep.

    .venv/bin/python benchmarks/realdocs/depth.py [--set git] [--cache /work/realdocs-cache] [--repeat 3]

Before issue 27 a page of 10 fetched 10 candidates per list; now any page ending within 100 hits fetches 100
(`semsearch.searcher.CANDIDATE_DEPTH`), and grouping by document 500. Each judged question of the set is searched
through the engine's own steps (query embedding, Milvus Lite search, keyword citation, fusion) at each depth, in
an order that interleaves the depths, on the collection `run.py` filled; p50 and p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent))  # _common; appended: benchmarks/ingest.py must not shadow the ingest package

from _common import in_the_repo  # noqa: E402
from corpus import DEFAULT_CACHE, SETS  # noqa: E402

DEPTHS = (10, 100, 500)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="git")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--db", default="current")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    in_the_repo()
    from semsearch import KnowledgeBase

    questions = [q["question"] for q in SETS[args.set].questions()]
    db = args.cache / "db" / args.db / f"{args.set}.db"
    times: dict[tuple[str, int], list[float]] = {}
    with KnowledgeBase.open(db, collection=f"realdocs_{args.set}", create=False) as kb:
        searcher = kb.engine.searcher
        fusion = searcher.default_fusion
        steps = {
            "dense": lambda q, n: searcher.store.dense_search(searcher.embed_query(q), n, ""),
            "keyword": lambda q, n: searcher.keyword_search(q, n),
            "hybrid": lambda q, n: fusion.fuse(*searcher.hybrid_candidates(q, n), n),
        }
        for question in questions[:5]:  # warm-up: model, Milvus Lite caches
            steps["hybrid"](question, 100)
        for _ in range(args.repeat):
            for question in questions:
                for mode, step in steps.items():
                    for depth in DEPTHS:
                        started = time.perf_counter()
                        step(question, depth)
                        times.setdefault((mode, depth), []).append((time.perf_counter() - started) * 1000)
        chunks = kb.count()
    load = os.getloadavg()
    print(f"{args.set}: {chunks} chunks, {len(questions)} questions x {args.repeat}; {time.strftime('%Y-%m-%d')}, ")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 shared cores)\n")
    print("| mode | " + " | ".join(f"depth {d}: p50 / p95 ms" for d in DEPTHS) + " |")
    print("|---|" + "---|" * len(DEPTHS))
    for mode in steps:
        cells = []
        for depth in DEPTHS:
            found = sorted(times[(mode, depth)])
            cells.append(f"{statistics.median(found):.1f} / {found[int(0.95 * (len(found) - 1))]:.1f}")
        print(f"| {mode} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
