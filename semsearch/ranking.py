"""Search modes, fusion, and the one place raw Milvus scores become the documented 0..1 `score`.

* dense: cosine similarity clipped to 0..1 — comparable across queries, so a threshold means the same everywhere.
* keyword: BM25 squashed as `bm25 / (bm25 + 10)` (0.5 at BM25 = 10) — order-preserving, but BM25 depends on the
  query's terms, so keyword scores are only comparable within one query.
* hybrid calibrated (the built-in default, `BUILT_IN_FUSION`): the weighted mean of the hit's dense and keyword
  scores, each as its own mode reports it (0 where the keyword list lacks the hit; where the dense list lacks it,
  the lowest dense score of the list, a bound its own similarity is under). Mostly the dense score, which is
  comparable across queries, so a query with no good answer scores low: docs/scores.md.
* hybrid RRF: the fused score divided by its maximum (rank 1 in both lists = 1.0): relative to the query.
* hybrid weighted: Milvus's WeightedRanker, the weighted sum of `(cos + 1) / 2` and `atan(bm25) * 2 / pi` divided by
  the sum of the weights.
`raw_score` keeps what Milvus returned (the fused value in hybrid mode).

Hybrid fusion is computed here, with the formulas of Milvus's RRFRanker and WeightedRanker, from the dense and BM25
lists: Milvus Lite 2.5.1's `hybrid_search` fails on primary keys containing quotes or backslashes (its internal
re-query cannot quote them), and our own fusion also yields each hit's rank in both lists and exact paging.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from semsearch.store import Hit

BM25_HALF_SCORE = 10.0
#: Calibrated fusion's default weights (dense, keyword): chosen on the flask set of benchmarks/realdocs and confirmed
#: on git and SciFact (docs/benchmarks/realdocs.md): the dense score leads, keyword evidence reorders near-ties.
CALIBRATED_WEIGHTS = (0.8, 0.2)


class Mode(StrEnum):
    DENSE = "dense"
    KEYWORD = "keyword"
    HYBRID = "hybrid"


@dataclass(frozen=True)
class Fusion:
    """How hybrid search merges the dense and keyword lists: a calibrated mean of the two scores, reciprocal rank
    fusion, or Milvus's weighted sum."""

    type: Literal["rrf", "weighted", "calibrated"] = "rrf"
    k: int = 60
    weights: tuple[float, float] = (0.5, 0.5)  # (dense, keyword)

    def fuse(
        self, dense: list[Hit], keyword: list[Hit], limit: int, key: Callable[[Hit], str] = lambda hit: hit.id
    ) -> list[Hit]:
        """Merge two ranked lists into one; `raw_score` is the fused score, `ranks` the 1-based list positions.

        Items are matched by `key`: chunk ids, or doc ids when fusing document rankings (then each fused item
        shows the chunk that ranked better, the dense one on a tie). Equal fused scores are ordered by
        `tie_order`, never by id: ids say nothing about relevance, and an id-based order changes when
        documents are renamed.
        """
        fused = self._fused(dense, keyword, key)
        return [
            dataclasses.replace(item.hit, score=item.score, raw_score=item.score, ranks=item.ranks)
            for item in fused[:limit]
        ]

    def ranking(
        self, dense: list[Hit], keyword: list[Hit], limit: int, key: Callable[[Hit], str] = lambda hit: hit.id
    ) -> list[str]:
        """The keys `fuse` would return, in its order, without building hits: what `semsearch eval --tune` scores
        for every candidate setting (the same computation, so a tuned figure is what search then returns)."""
        return [item.key for item in self._fused(dense, keyword, key)[:limit]]

    def _fused(self, dense: list[Hit], keyword: list[Hit], key: Callable[[Hit], str]) -> list[_Fused]:
        if self.type == "calibrated":
            return self._calibrated(dense, keyword, key)
        ranks: dict[str, dict[str, int | None]] = {}
        entity: dict[str, Hit] = {}
        fused: dict[str, float] = {}
        for name, hits, weight in (("dense", dense, self.weights[0]), ("keyword", keyword, self.weights[1])):
            for rank, hit in enumerate(hits, 1):
                item = key(hit)
                item_ranks = ranks.setdefault(item, {"dense": None, "keyword": None})
                if item not in entity or (name == "keyword" and rank < (item_ranks["dense"] or rank)):
                    entity[item] = hit
                item_ranks[name] = rank
                if self.type == "rrf":
                    gain = 1 / (self.k + rank)
                elif name == "dense":
                    gain = weight * (hit.raw_score + 1) / 2
                else:
                    gain = weight * 2 / math.pi * math.atan(hit.raw_score)
                fused[item] = fused.get(item, 0.0) + gain
        order = sorted(fused, key=lambda i: (-fused[i], *tie_order(ranks[i])))
        return [_Fused(i, fused[i], ranks[i], entity[i]) for i in order]

    def _calibrated(self, dense: list[Hit], keyword: list[Hit], key: Callable[[Hit], str]) -> list[_Fused]:
        """Each item's weighted mean of its dense and keyword scores (`normalise` of each mode); an item missing
        from the dense list gets that list's lowest score (its own is below it), from the keyword list 0."""
        ranks: dict[str, dict[str, int | None]] = {}
        entity: dict[str, Hit] = {}
        scores: dict[str, list[float]] = {}
        floor = normalise(Mode.DENSE, dense[-1].raw_score, self) if dense else 0.0
        for index, (name, hits) in enumerate((("dense", dense), ("keyword", keyword))):
            mode = Mode.DENSE if name == "dense" else Mode.KEYWORD
            for rank, hit in enumerate(hits, 1):
                item = key(hit)
                item_ranks = ranks.setdefault(item, {"dense": None, "keyword": None})
                if item_ranks[name] is not None:  # a later chunk of a document already ranked in this list
                    continue
                if item not in entity or (name == "keyword" and rank < (item_ranks["dense"] or rank)):
                    entity[item] = hit
                item_ranks[name] = rank
                scores.setdefault(item, [floor, 0.0])[index] = normalise(mode, hit.raw_score, self)
        total = sum(self.weights) or 1.0
        fused = {i: (self.weights[0] * d + self.weights[1] * k) / total for i, (d, k) in scores.items()}
        order = sorted(fused, key=lambda i: (-fused[i], *tie_order(ranks[i])))
        return [_Fused(i, fused[i], ranks[i], entity[i]) for i in order]

    def describe(self) -> str:
        """`calibrated 0.8/0.2`, `rrf k=60` or `weighted 0.3/0.7` (dense/keyword): how the CLI and the API's
        `/ready` name a fusion."""
        if self.type == "rrf":
            return f"rrf k={self.k}"
        return f"{self.type} {self.weights[0]:g}/{self.weights[1]:g}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as a request's `fusion` takes it."""
        return {"type": self.type, "k": self.k, "weights": list(self.weights)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fusion:
        """The inverse of `to_dict`; ValueError on anything else (a saved default written by another version)."""
        try:
            kind, k, weights = data["type"], int(data["k"]), tuple(float(w) for w in data["weights"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a fusion: {data!r}") from exc
        if kind not in ("rrf", "weighted", "calibrated") or k < 1 or len(weights) != 2 or min(weights) < 0:
            raise ValueError(f"not a fusion: {data!r}")
        return cls(type=kind, k=k, weights=(weights[0], weights[1]))

    def normalise(self, raw: float) -> float:
        if self.type == "calibrated":  # already a mean of 0..1 scores
            return _unit(raw)
        best = 2 / (self.k + 1) if self.type == "rrf" else sum(self.weights)
        return _unit(raw / best) if best > 0 else 0.0


#: What hybrid search fuses with when neither the request nor the collection names a fusion.
BUILT_IN_FUSION = Fusion(type="calibrated", weights=CALIBRATED_WEIGHTS)


@dataclass(frozen=True)
class _Fused:
    key: str
    score: float
    ranks: dict[str, int | None]
    hit: Hit


def tie_order(ranks: dict[str, int | None]) -> tuple[int, int, int]:
    """Sort key among items of equal fused score, better first:

    1. the better best rank: a first place in either list beats two middling ones (with RRF, 1st + 3rd and 2nd +
       2nd fuse alike, and a first place is the stronger evidence);
    2. found by both lists before found by one: two independent signals agreeing;
    3. best rank from the dense list before best rank from the keyword list: a dense rank reflects the whole
       query, while a keyword rank can be won by one rare term (a name, a typo), so it is the weaker tie-breaker.

    The order is total without ids: one list never gives two items the same rank, so two items with the same best
    rank hold it in different lists, and rule 3 separates them. It uses ranks only, so it holds for RRF and
    weighted fusion, for chunk and document rankings alike."""
    present = [rank for rank in ranks.values() if rank is not None]
    best = min(present)
    return best, 0 if len(present) == 2 else 1, 0 if ranks.get("dense") == best else 1


def normalise(mode: Mode, raw: float, fusion: Fusion) -> float:
    if mode is Mode.DENSE:
        return _unit(raw)
    if mode is Mode.KEYWORD:
        return _unit(raw / (raw + BM25_HALF_SCORE)) if raw > 0 else 0.0
    return fusion.normalise(raw)


def sigmoid(logit: float) -> float:
    """A cross-encoder's logit as 0..1 relevance."""
    return 1 / (1 + math.exp(-logit)) if logit > -60 else 0.0


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))
