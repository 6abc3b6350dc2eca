"""Scores that mean something across queries (issue 27): hybrid's score is no longer relative to the query's top hit,
so a query with no good answer scores low in every mode and `min_score` can tell a good answer from none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from semsearch.engine import Engine
from semsearch.ranking import BUILT_IN_FUSION, Fusion, Mode
from semsearch.searcher import SearchOptions
from semsearch.store import Hit

#: Judged queries of the sample corpus, each with its expected page (tests/sample_queries.json).
ANSWERED = [item["query"] for item in json.loads((Path(__file__).parent / "sample_queries.json").read_text())]
#: Queries the sample corpus (Python's standard library docs) has no answer to.
UNANSWERED = ["where do otters sleep", "best recipe for banana bread", "who won the world cup in 1998"]
GIBBERISH = "qwzx blorft vrenk glimbo"
LOW = 0.35


def top_score(engine: Engine, query: str, mode: Mode) -> float:
    hits = engine.searcher.search(query, SearchOptions(top_k=10, mode=mode)).hits
    return hits[0].score if hits else 0.0


@pytest.mark.parametrize("mode", list(Mode))
def test_gibberish_scores_low_in_every_mode(sample_engine: Engine, mode: Mode) -> None:
    assert top_score(sample_engine, GIBBERISH, mode) < LOW


@pytest.mark.parametrize("mode", [Mode.DENSE, Mode.HYBRID])
def test_a_question_without_an_answer_scores_low_and_answered_ones_score_higher(
    sample_engine: Engine, mode: Mode
) -> None:
    unanswered = [top_score(sample_engine, query, mode) for query in UNANSWERED]
    answered = [top_score(sample_engine, query, mode) for query in ANSWERED]
    assert max(unanswered) < LOW, unanswered
    assert sorted(answered)[len(answered) // 2] > max(unanswered) + 0.1, answered  # the median answered query


def test_min_score_drops_every_hit_of_an_unanswered_question_but_keeps_answered_ones(sample_engine: Engine) -> None:
    options = SearchOptions(top_k=10, min_score=LOW)  # hybrid, the default
    assert sample_engine.searcher.search("where do otters sleep", options).hits == []
    kept = [sample_engine.searcher.search(query, options).hits for query in ANSWERED]
    assert sum(1 for hits in kept if hits) >= len(ANSWERED) // 2


def hit(doc_id: str, raw: float) -> Hit:
    return Hit(f"{doc_id}#0", doc_id, 0, raw, doc_id, doc_id, 0, 1, {}, raw_score=raw)


def test_the_calibrated_score_is_the_weighted_mean_of_the_two_modes_scores() -> None:
    """Dense cosine 0.6 and BM25 10 (keyword score 0.5): 0.8 * 0.6 + 0.2 * 0.5; a hit only the keyword list found
    takes the dense list's lowest score; one only the dense list found, keyword 0."""
    fusion = Fusion(type="calibrated", weights=(0.8, 0.2))
    fused = {h.id: h.score for h in fusion.fuse([hit("a", 0.6), hit("b", 0.3)], [hit("a", 10.0), hit("c", 30.0)], 10)}
    assert fused["a#0"] == pytest.approx(0.8 * 0.6 + 0.2 * 0.5)
    assert fused["c#0"] == pytest.approx(0.8 * 0.3 + 0.2 * 0.75)
    assert fused["b#0"] == pytest.approx(0.8 * 0.3)
    assert fusion == BUILT_IN_FUSION and fusion.normalise(fused["a#0"]) == fused["a#0"]
