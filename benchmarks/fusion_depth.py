"""Would a candidate depth setting help hybrid fusion? `semsearch eval --tune`'s cross-validation, per depth.

Each query's dense and keyword document lists are fetched once (as `semsearch eval` searches hybrid: 500 chunks,
best chunk per document), cut to the first `depth` documents of each, and fused with the product's `Fusion.ranking`
for every setting of the tuning grid. Per depth: the built-in rrf k=60's nDCG@10 on all queries (nothing tuned),
and the 5-fold held-out gain over the built-in at full depth when the grid is tuned at that depth; the last row
tunes depth too (the grid times the depths). Needs a collection `semsearch eval DIR` has filled.

    .venv/bin/python benchmarks/fusion_depth.py ../shared/beir/scifact --milvus-uri /tmp/tune/scifact.db
"""

from __future__ import annotations

import argparse
import math
import statistics
from pathlib import Path

from _common import eval_candidates, in_the_repo, print_table

DEPTHS = (10, 20, 30, 50, 100, 200, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="the BEIR directory `semsearch eval` indexed")
    parser.add_argument("--milvus-uri", required=True)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    directory = args.directory.resolve()
    in_the_repo()
    from evaluation.metrics import NdcgAt10
    from evaluation.runner import RUN_DEPTH
    from evaluation.tuning import cross_validate, fold_split, grid

    data, candidates = eval_candidates(directory, args.milvus_uri)
    scorer = NdcgAt10({qid: data.qrels[qid] for qid in candidates})
    fusions = grid()
    # One row of scores per (depth, fusion); the first is the built-in at full depth, the cross-validation's baseline.
    keys = [(None, fusions[0])] + [(d, f) for d in DEPTHS for f in fusions if (d, f) != (None, fusions[0])]
    scores = [
        scorer(
            {
                qid: fusion.ranking(c.dense[:depth], c.keyword[:depth], RUN_DEPTH, key=lambda hit: hit.doc_id)
                for qid, c in candidates.items()
            }
        )
        for depth, fusion in keys
    ]
    split = fold_split(list(candidates), args.folds)
    rows = []
    for depth in DEPTHS:
        members = [i for i, (d, _) in enumerate(keys) if d == depth]
        built_in = next(i for i in members if keys[i][1] == fusions[0])
        gains = [tuned - default for _, default, tuned in cross_validate(scores, [0, *members], split)]
        rows.append(_row(str(depth or "all"), statistics.fmean(scores[built_in].values()), gains))
    gains = [tuned - default for _, default, tuned in cross_validate(scores, list(range(len(keys))), split)]
    rows.append(_row("tuned too", float("nan"), gains))
    print(f"{data.name}: {len(candidates)} queries, {args.folds} folds; lists average ", end="")
    print(f"{statistics.fmean(len(c.dense) for c in candidates.values()):.0f} dense and ", end="")
    print(f"{statistics.fmean(len(c.keyword) for c in candidates.values()):.0f} keyword documents")
    print_table(["depth", "rrf k=60 nDCG@10", "held-out gain", "std", "min", "max"], rows)


def _row(depth: str, built_in: float, gains: list[float]) -> list[str]:
    return [
        depth,
        "-" if math.isnan(built_in) else f"{built_in:.4f}",
        f"{statistics.fmean(gains):+.4f}",
        f"{statistics.stdev(gains):.4f}",
        f"{min(gains):+.4f}",
        f"{max(gains):+.4f}",
    ]


if __name__ == "__main__":
    main()
