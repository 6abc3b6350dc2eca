"""`semsearch eval` on a small BEIR-format fixture (CI) and, when present, the SciFact collection (skipped here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.beir import BeirFormatError, load
from evaluation.metrics import evaluate
from tests.helpers import ROOT, run_cli

FIXTURE = Path(__file__).parent / "data" / "beir_tiny"
SCIFACT = ROOT.parent / "shared" / "beir" / "scifact"


def test_metrics_match_hand_computed_values() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1, "c": 1}}
    run = {"q1": ["x", "a"], "q2": ["b", "y", "z"]}
    metrics = evaluate(qrels, run)
    assert metrics["mrr@10"] == pytest.approx((1 / 2 + 1) / 2)
    assert metrics["recall@10"] == pytest.approx((1 + 0.5) / 2)
    ndcg_q1 = 1 / 1.5849625  # relevant at rank 2: 1/log2(3), ideal 1
    ndcg_q2 = 1 / (1 + 1 / 1.5849625)  # one of two relevant at rank 1
    assert metrics["ndcg@10"] == pytest.approx((ndcg_q1 + ndcg_q2) / 2, abs=1e-4)


def test_a_query_with_no_hits_counts_as_zero() -> None:
    assert evaluate({"q1": {"a": 1}, "q2": {"b": 1}}, {"q1": ["a"], "q2": []})["recall@10"] == pytest.approx(0.5)


def test_loader_keeps_only_judged_queries_and_joins_title_and_text() -> None:
    data = load(FIXTURE)
    assert list(data.queries) == ["q1", "q2", "q3", "q4"]
    assert data.corpus[0].id == "d1" and data.corpus[0].text.startswith("Photosynthesis\n\nPlants convert")
    assert load(FIXTURE, limit_queries=2).queries.keys() == {"q1", "q2"}


def test_a_directory_that_is_not_beir_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BeirFormatError, match=r"corpus\.jsonl"):
        load(tmp_path)


def test_eval_command_prints_metrics_per_mode_and_reuses_the_scratch_collection(tmp_path: Path) -> None:
    args = ("eval", str(FIXTURE), "--json", "--milvus-uri", str(tmp_path / "eval.db"))
    first = run_cli(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["queries"] == 4 and summary["documents"] == 10
    assert set(summary["modes"]) == {"dense", "keyword", "hybrid"}
    for metrics in summary["modes"].values():
        assert set(metrics) == {"ndcg@10", "recall@10", "recall@100", "mrr@10", "p50_ms"}
        assert 0 <= metrics["ndcg@10"] <= 1
    assert summary["modes"]["dense"]["mrr@10"] >= 0.75  # the fixture's queries are easy for the model
    assert summary["embedded"] == summary["chunks"] > 0

    second = json.loads(run_cli(*args, "--modes", "dense", cwd=tmp_path).stdout)
    assert second["embedded"] == 0 and set(second["modes"]) == {"dense"}
    assert second["modes"]["dense"]["ndcg@10"] == summary["modes"]["dense"]["ndcg@10"]


def test_eval_on_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("eval", str(tmp_path / "nope"), cwd=tmp_path)
    assert result.returncode == 2 and "not a BEIR directory" in result.stderr


@pytest.mark.skipif(not SCIFACT.is_dir(), reason="BEIR SciFact is not in ../shared/beir/scifact")
def test_scifact_is_in_beir_format_with_its_300_test_queries() -> None:
    data = load(SCIFACT)
    assert len(data.queries) == 300 and len(data.corpus) == 5183
