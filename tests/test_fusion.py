"""Hybrid fusion's order among equal fused scores: a documented rule over ranks (`ranking.tie_order`), never ids."""

from __future__ import annotations

import pytest

from semsearch.ranking import Fusion, tie_order
from semsearch.store import Hit


def hit(id: str, raw_score: float = 0.5) -> Hit:
    return Hit(id, id, 0, raw_score, f"text of {id}", "test", 0, 1, {}, raw_score=raw_score)


def fused_ids(dense: list[Hit], keyword: list[Hit], fusion: Fusion | None = None) -> list[str]:
    return [h.id for h in (fusion or Fusion()).fuse(dense, keyword, limit=10)]


@pytest.mark.parametrize("names", [("a", "z"), ("z", "a")])
def test_equal_scores_from_one_list_each_put_the_dense_item_first(names: tuple[str, str]) -> None:
    """Only in dense at rank 2 vs only in keyword at rank 2: same RRF score, dense first, whatever the ids."""
    dense_only, keyword_only = names
    dense = [hit("both"), hit(dense_only)]
    keyword = [hit("both"), hit(keyword_only)]
    assert fused_ids(dense, keyword) == ["both", dense_only, keyword_only]


@pytest.mark.parametrize("names", [("a", "z"), ("z", "a")])
def test_mirrored_ranks_put_the_item_first_whose_best_rank_is_dense(names: tuple[str, str]) -> None:
    """Dense 1 + keyword 3 fuses exactly as dense 3 + keyword 1: the dense first place wins."""
    dense_first, keyword_first = names
    dense = [hit(dense_first), hit("mid"), hit(keyword_first)]
    keyword = [hit(keyword_first), hit("mid"), hit(dense_first)]
    assert fused_ids(dense, keyword) == [dense_first, keyword_first, "mid"]  # in RRF 1 + 3 beats 2 + 2


@pytest.mark.parametrize("names", [("a", "z"), ("z", "a")])
def test_found_by_both_lists_beats_found_by_one_at_the_same_best_rank(names: tuple[str, str]) -> None:
    """Weighted fusion can tie an item first in keyword and last in dense with one first in dense alone; two
    lists agreeing outrank the dense-first rule."""
    both, dense_alone = names
    dense = [hit(dense_alone, raw_score=1.0), hit(both, raw_score=0.0)]
    keyword = [hit(both, raw_score=1.0)]
    fusion = Fusion(type="weighted", weights=(0.5, 0.5))
    fused = fusion.fuse(dense, keyword, limit=10)
    assert fused[0].raw_score == fused[1].raw_score == 0.5  # 0.5 * (0 + 1) / 2 + 0.5 * atan(1) * 2 / pi
    assert [h.id for h in fused] == [both, dense_alone]


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        ({"dense": 1, "keyword": 9}, {"dense": 2, "keyword": 2}),  # rule 1: the better best rank
        ({"dense": None, "keyword": 1}, {"dense": 2, "keyword": 3}),
        ({"dense": 3, "keyword": 2}, {"dense": None, "keyword": 2}),  # rule 2: found by both
        ({"dense": 2, "keyword": None}, {"dense": None, "keyword": 2}),  # rule 3: dense first
        ({"dense": 2, "keyword": 5}, {"dense": 5, "keyword": 2}),
    ],
)
def test_tie_order_rules(better: dict[str, int | None], worse: dict[str, int | None]) -> None:
    assert tie_order(better) < tie_order(worse)


def test_fused_order_does_not_depend_on_ids_or_input_id_order() -> None:
    """Renaming every item keeps the fused order of positions: the order is a function of ranks alone."""
    dense_ranks = ["p", "q", "r", "s", "t"]
    keyword_ranks = ["s", "u", "p", "v", "q"]

    def order(rename: dict[str, str]) -> list[str]:
        ids = fused_ids([hit(rename[i]) for i in dense_ranks], [hit(rename[i]) for i in keyword_ranks])
        back = {v: k for k, v in rename.items()}
        return [back[i] for i in ids]

    letters = sorted(set(dense_ranks + keyword_ranks))
    assert order({x: x for x in letters}) == order({x: y for x, y in zip(letters, reversed(letters), strict=True)})
