"""`semsearch eval DIR --tune`: hybrid fusion chosen by k-fold cross-validation over the labelled queries.

Each query's dense and keyword candidate lists are fetched once (as deep as `semsearch eval` fetches them) and every
setting of the grid is fused offline from them with the product's own `Fusion.ranking`, so a setting scores exactly
what hybrid search with it returns. The queries are split into folds by a fixed seed; for each fold the setting
with the best mean nDCG@10 on the other folds is chosen and scored on the held-out fold, beside the built-in default
(`semsearch.ranking.BUILT_IN_FUSION`). Only held-out scores are estimates: the setting chosen on all queries (what
`--save` stores) is reported
with its all-query score labelled in-sample.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from evaluation.beir import BeirSet
from evaluation.metrics import NdcgAt10
from evaluation.runner import RUN_DEPTH
from semsearch.engine import Engine
from semsearch.ranking import BUILT_IN_FUSION, Fusion
from semsearch.searcher import SearchOptions
from semsearch.store import Hit

#: Seed of the fold split: the same queries always fall into the same folds.
FOLD_SEED = 17
DEFAULT_FOLDS = 5
#: Cross-validations run on differently seeded splits, to show how much one split's estimate depends on the split.
DEFAULT_REPEATS = 10
#: RRF constants tried: 1..200, roughly log-spaced.
RRF_KS = (1, 2, 3, 5, 7, 10, 15, 20, 30, 45, 60, 80, 100, 140, 200)
#: Dense weights tried for weighted fusion (keyword weight = 1 - dense).
DENSE_WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
BUILT_IN = BUILT_IN_FUSION


@dataclass(frozen=True)
class Candidates:
    """One query's two document rankings (best chunk per document), as hybrid search with grouping fuses them."""

    dense: list[Hit]
    keyword: list[Hit]


def grid() -> list[Fusion]:
    """Every setting tried, the built-in default first (so that a tie keeps it)."""
    weighted = [Fusion(type="weighted", weights=(w, round(1 - w, 2))) for w in DENSE_WEIGHTS]
    return [BUILT_IN, *(Fusion(k=k) for k in RRF_KS), *weighted]


def fold_split(query_ids: Sequence[str], folds: int, seed: int = FOLD_SEED) -> list[list[str]]:
    """`folds` disjoint groups of about equal size covering every query; deterministic (sorted ids, seeded shuffle).
    ValueError unless 2 <= folds <= number of queries."""
    if not 2 <= folds <= len(query_ids):
        raise ValueError(
            f"--folds must be between 2 and the number of labelled queries ({len(query_ids)}); got {folds}"
        )
    shuffled = sorted(query_ids)
    random.Random(seed).shuffle(shuffled)
    return [sorted(shuffled[i::folds]) for i in range(folds)]


def fetch_candidates(
    engine: Engine, data: BeirSet, on_query: Callable[[], None] | None = None
) -> dict[str, Candidates]:
    """Each query's candidate lists, fetched once, at the depth `semsearch eval` searches hybrid with."""
    searcher = engine.searcher
    limit = searcher.fetch_size(SearchOptions(top_k=RUN_DEPTH, group_by_document=True))
    found = {}
    for qid, text in data.queries.items():
        dense, keyword = searcher.hybrid_candidates(text, limit, by_document=True)
        found[qid] = Candidates(dense, keyword)
        if on_query:
            on_query()
    return found


def fused_run(candidates: dict[str, Candidates], fusion: Fusion) -> dict[str, list[str]]:
    """The ranked doc ids hybrid search with `fusion` returns for each query (`semsearch eval`'s depth)."""
    return {
        qid: fusion.ranking(c.dense, c.keyword, RUN_DEPTH, key=lambda hit: hit.doc_id) for qid, c in candidates.items()
    }


@dataclass(frozen=True)
class Fold:
    queries: int
    chosen: Fusion  # on the other folds
    default: float  # held-out nDCG@10 of the built-in default
    tuned: float  # held-out nDCG@10 of `chosen`

    @property
    def gain(self) -> float:
        return self.tuned - self.default


@dataclass(frozen=True)
class TuneReport:
    queries: int
    folds: list[Fold]
    chosen: Fusion  # on all queries: what `--save` stores
    in_sample: float  # `chosen`'s nDCG@10 on the queries it was chosen on: not an estimate
    default: float  # the built-in default's nDCG@10 on all queries (nothing tuned)
    families: dict[str, float]  # held-out mean gain when tuning only that part of the grid
    #: The mean held-out gain of each repetition of the whole cross-validation, on splits with seeds FOLD_SEED,
    #: FOLD_SEED + 1, ...: with a few hundred queries one split's estimate moves by about 0.01 from split to split.
    repeats: list[float]

    @property
    def gains(self) -> list[float]:
        return [fold.gain for fold in self.folds]

    def to_dict(self) -> dict[str, Any]:
        gains = self.gains
        return {
            "queries": self.queries,
            "folds": [
                {
                    "queries": f.queries,
                    "chosen": f.chosen.describe(),
                    "default_ndcg@10": round(f.default, 4),
                    "tuned_ndcg@10": round(f.tuned, 4),
                    "gain": round(f.gain, 4),
                }
                for f in self.folds
            ],
            "held_out": {
                "default_ndcg@10": round(statistics.fmean(f.default for f in self.folds), 4),
                "tuned_ndcg@10": round(statistics.fmean(f.tuned for f in self.folds), 4),
                "mean_gain": round(statistics.fmean(gains), 4),
                "std_gain": round(statistics.stdev(gains), 4) if len(gains) > 1 else 0.0,
                "min_gain": round(min(gains), 4),
                "max_gain": round(max(gains), 4),
            },
            "held_out_gain_by_family": {name: round(gain, 4) for name, gain in self.families.items()},
            "repeated": {
                "splits": len(self.repeats),
                "mean_gain": round(statistics.fmean(self.repeats), 4),
                "std_gain": round(statistics.stdev(self.repeats), 4) if len(self.repeats) > 1 else 0.0,
                "min_gain": round(min(self.repeats), 4),
                "max_gain": round(max(self.repeats), 4),
            },
            "chosen": {**self.chosen.to_dict(), "name": self.chosen.describe()},
            "all_queries": {
                "default_ndcg@10": round(self.default, 4),
                "chosen_ndcg@10_in_sample": round(self.in_sample, 4),
            },
        }


def tune(
    candidates: dict[str, Candidates], qrels: dict[str, dict[str, int]], folds: int, repeats: int = DEFAULT_REPEATS
) -> TuneReport:
    """Cross-validate the grid (`repeats` times, on differently seeded splits: the first is the one reported fold
    by fold); every setting's per-query nDCG@10 is computed once and averaged per fold."""
    split = fold_split(list(candidates), folds)
    settings = grid()
    scorer = NdcgAt10({qid: qrels[qid] for qid in candidates})
    scores = [scorer(fused_run(candidates, fusion)) for fusion in settings]
    families = {
        "rrf k": [0, *(i for i, f in enumerate(settings) if f.type == "rrf")],
        "weighted": [0, *(i for i, f in enumerate(settings) if f.type == "weighted")],
        "all": list(range(len(settings))),
    }
    results = {name: cross_validate(scores, members, split) for name, members in families.items()}
    everything = list(candidates)
    best = _best(scores, families["all"], everything)
    return TuneReport(
        queries=len(everything),
        folds=[
            Fold(len(held_out), settings[chosen], default, tuned)
            for held_out, (chosen, default, tuned) in zip(split, results["all"], strict=True)
        ],
        chosen=settings[best],
        in_sample=_mean(scores[best], everything),
        default=_mean(scores[0], everything),
        families={name: statistics.fmean(t - d for _, d, t in folds_) for name, folds_ in results.items()},
        repeats=[
            statistics.fmean(t - d for _, d, t in cross_validate(scores, families["all"], resplit))
            for resplit in [split, *(fold_split(everything, folds, FOLD_SEED + r) for r in range(1, repeats))]
        ],
    )


def cross_validate(
    scores: list[dict[str, float]], members: list[int], split: list[list[str]]
) -> list[tuple[int, float, float]]:
    """Per fold: the member chosen on the other folds, the default's and its held-out mean nDCG@10."""
    out = []
    for i, held_out in enumerate(split):
        train = [qid for j, fold in enumerate(split) if j != i for qid in fold]
        chosen = _best(scores, members, train)
        out.append((chosen, _mean(scores[0], held_out), _mean(scores[chosen], held_out)))
    return out


def _best(scores: list[dict[str, float]], members: list[int], queries: list[str]) -> int:
    """The member with the best mean on `queries`; on a tie (within rounding) the first, so the default stays."""
    best, best_mean = members[0], -math.inf
    for i in members:
        mean = _mean(scores[i], queries)
        if mean > best_mean + 1e-12:
            best, best_mean = i, mean
    return best


def _mean(per_query: dict[str, float], queries: list[str]) -> float:
    return statistics.fmean(per_query[q] for q in queries)
