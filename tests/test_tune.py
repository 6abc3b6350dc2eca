"""`semsearch eval DIR --tune [--folds N] [--save]` and the collection's saved default fusion.

A tiny BEIR-format directory is built here; the tuning runs on a real Milvus Lite collection with the real model,
and the saved fusion is checked through every door (HTTP, CLI, MCP, the Python API) and on the real server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from mcp import Client

from evaluation.beir import BeirSet, load
from evaluation.metrics import NdcgAt10, evaluate
from evaluation.runner import RUN_DEPTH, index_corpus, run_mode
from evaluation.tuning import BUILT_IN, Candidates, fetch_candidates, fold_split, fused_run, grid, tune
from search_api.app import create_app
from search_api.mcp_server import build_server
from semsearch.default_fusion import load_default_fusion, save_default_fusion
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.knowledge_base import KnowledgeBase
from semsearch.ranking import Fusion, Mode
from semsearch.searcher import SearchOptions
from semsearch.settings import Settings
from tests.helpers import borrow_engine, run_cli

DOCUMENTS = {
    "photosynthesis": ("Photosynthesis", "Plants turn sunlight, water and carbon dioxide into sugar and oxygen."),
    "mitochondria": ("Mitochondria", "The mitochondrion makes most of a cell's ATP by oxidative phosphorylation."),
    "tectonics": ("Plate tectonics", "Plates of the lithosphere drift over the mantle; earthquakes mark their edges."),
    "tides": ("Tides", "The moon's gravity pulls the oceans, so the sea rises and falls twice a day."),
    "crispr": ("CRISPR", "Cas9 cuts DNA where a guide RNA matches it, which lets biologists edit genes."),
    "vaccines": ("Vaccines", "A vaccine trains the immune system with a harmless piece of a pathogen."),
    "insulin": ("Insulin", "The pancreas releases insulin so that cells take up glucose from the blood."),
    "neurons": ("Neurons", "Neurons pass signals along axons and across synapses with neurotransmitters."),
    "volcano": ("Volcanoes", "Magma rises through the crust and erupts as lava, ash and gas."),
    "glaciers": ("Glaciers", "Glaciers are rivers of ice that carve valleys as they creep downhill."),
    "antibiotics": ("Antibiotics", "Penicillin kills bacteria by breaking their cell walls; viruses are immune."),
    "dna": ("DNA replication", "Helicase unzips the double helix and polymerase copies each strand."),
}
QUERIES = {
    "q1": ("how do plants make sugar from light", ["photosynthesis"]),
    "q2": ("what produces the cell's energy", ["mitochondria"]),
    "q3": ("why do earthquakes happen", ["tectonics"]),
    "q4": ("why does the sea level change every day", ["tides"]),
    "q5": ("editing genes with a guide RNA", ["crispr", "dna"]),
    "q6": ("how does the body control blood sugar", ["insulin"]),
    "q7": ("how do nerve cells talk to each other", ["neurons"]),
    "q8": ("drugs that kill bacteria", ["antibiotics"]),
    "q9": ("lava and ash from a mountain", ["volcano"]),
}


def write_beir(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "qrels").mkdir(exist_ok=True)
    corpus = [{"_id": i, "title": title, "text": text} for i, (title, text) in DOCUMENTS.items()]
    (directory / "corpus.jsonl").write_text("".join(json.dumps(row) + "\n" for row in corpus))
    queries = [{"_id": qid, "text": text} for qid, (text, _) in QUERIES.items()]
    (directory / "queries.jsonl").write_text("".join(json.dumps(row) + "\n" for row in queries))
    qrels = [f"{qid}\t{doc}\t1\n" for qid, (_, docs) in QUERIES.items() for doc in docs]
    (directory / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(qrels))
    return directory


@pytest.fixture(scope="module")
def beir_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_beir(tmp_path_factory.mktemp("beir") / "tiny_tune")


@pytest.fixture(scope="module")
def tuned(beir_dir: Path, embedder: Embedder) -> Iterator[tuple[Engine, BeirSet, dict[str, Candidates]]]:
    """The tiny set indexed in its own Lite collection, with every query's candidate lists fetched once."""
    data = load(beir_dir)
    settings = Settings(milvus_uri=str(beir_dir.parent / "tune.db"), collection="tune", _env_file=None)
    engine = Engine.open(settings, create=True, embedder=embedder)
    index_corpus(engine, data)
    yield engine, data, fetch_candidates(engine, data)
    engine.close()


def test_the_fold_split_is_deterministic_disjoint_and_covers_every_query() -> None:
    ids = [f"q{i}" for i in range(23)]
    split = fold_split(ids, 5)
    assert split == fold_split(list(reversed(ids)), 5)  # the same folds whatever order the queries come in
    assert sorted(q for fold in split for q in fold) == sorted(ids)
    assert sorted(len(fold) for fold in split) == [4, 4, 5, 5, 5]
    assert split != fold_split(ids, 5, seed=18)


@pytest.mark.parametrize("folds", [0, 1, 24])
def test_the_fold_split_refuses_fewer_than_two_folds_or_more_folds_than_queries(folds: int) -> None:
    with pytest.raises(ValueError, match="--folds must be between 2 and the number of labelled queries"):
        fold_split([f"q{i}" for i in range(23)], folds)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--tune", "--folds", "1"), "--folds must be between 2 and the number of labelled queries (9); got 1"),
        (("--tune", "--folds", "10"), "--folds must be between 2 and the number of labelled queries (9); got 10"),
        (("--save",), "--save and --folds go with --tune"),
        (("--folds", "3"), "--save and --folds go with --tune"),
        (("--tune", "--modes", "dense"), "--modes does not go with --tune"),
    ],
)
def test_bad_tune_options_are_usage_errors_before_any_ingest(
    beir_dir: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = run_cli("eval", str(beir_dir), "--milvus-uri", str(tmp_path / "never.db"), *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "never.db").exists()


@pytest.mark.parametrize(
    "fusion", [BUILT_IN, Fusion(k=2), Fusion(k=200), Fusion(type="weighted", weights=(0.3, 0.7))], ids=str
)
def test_offline_fusion_of_the_fetched_lists_is_what_hybrid_search_returns(
    tuned: tuple[Engine, BeirSet, dict[str, Candidates]], fusion: Fusion
) -> None:
    engine, data, candidates = tuned
    offline = fused_run(candidates, fusion)
    options = SearchOptions(top_k=RUN_DEPTH, mode=Mode.HYBRID, group_by_document=True, fusion=fusion)
    for qid, text in data.queries.items():
        assert offline[qid] == [hit.doc_id for hit in engine.searcher.search(text, options).hits]


def test_the_offline_metric_is_what_semsearch_eval_reports_for_hybrid(
    tuned: tuple[Engine, BeirSet, dict[str, Candidates]],
) -> None:
    engine, data, candidates = tuned
    per_query = NdcgAt10({q: data.qrels[q] for q in data.queries})(fused_run(candidates, BUILT_IN))
    reported = run_mode(engine, data, Mode.HYBRID).metrics["ndcg@10"]
    assert round(sum(per_query.values()) / len(per_query), 4) == reported
    assert evaluate(data.qrels, fused_run(candidates, BUILT_IN))["ndcg@10"] == reported


def test_each_fold_is_scored_on_queries_its_setting_was_not_chosen_on(
    tuned: tuple[Engine, BeirSet, dict[str, Candidates]],
) -> None:
    _, data, candidates = tuned
    report = tune(candidates, data.qrels, folds=3)
    scorer = NdcgAt10({q: data.qrels[q] for q in candidates})
    scores = {fusion: scorer(fused_run(candidates, fusion)) for fusion in grid()}

    def mean(fusion: Fusion, queries: list[str]) -> float:
        return sum(scores[fusion][q] for q in queries) / len(queries)

    split = fold_split(list(candidates), 3)
    for fold, held_out in zip(report.folds, split, strict=True):
        train = [q for q in candidates if q not in held_out]
        assert mean(fold.chosen, train) == max(mean(f, train) for f in grid())  # chosen on the other folds only
        assert fold.tuned == pytest.approx(mean(fold.chosen, held_out))  # scored on the held-out fold
        assert fold.default == pytest.approx(mean(BUILT_IN, held_out))
    assert mean(report.chosen, list(candidates)) == max(mean(f, list(candidates)) for f in grid())
    found = report.to_dict()
    assert found["all_queries"] == {
        "default_ndcg@10": round(mean(BUILT_IN, list(candidates)), 4),
        "chosen_ndcg@10_in_sample": round(report.in_sample, 4),  # the only all-query score of a tuned setting
    }
    assert set(found["held_out"]) == {
        "default_ndcg@10",
        "tuned_ndcg@10",
        "mean_gain",
        "std_gain",
        "min_gain",
        "max_gain",
    }
    assert found["held_out"]["mean_gain"] == round(sum(f.gain for f in report.folds) / 3, 4)
    assert set(found["held_out_gain_by_family"]) == {"rrf k", "weighted", "all"}
    assert found["repeated"]["splits"] == 10 and report.repeats[0] == pytest.approx(
        sum(f.gain for f in report.folds) / 3
    )


@pytest.fixture(scope="module")
def tuned_by_cli(beir_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, Any]]:
    """`semsearch eval --tune` as a user runs it: first the report alone, then `--save --json`."""
    cwd = tmp_path_factory.mktemp("cli")
    db = cwd / "eval.db"
    text = run_cli("eval", str(beir_dir), "--tune", "--folds", "3", "--milvus-uri", str(db), cwd=cwd)
    assert text.returncode == 0, text.stderr
    saved = run_cli(
        "eval", str(beir_dir), "--tune", "--folds", "3", "--save", "--json", "--milvus-uri", str(db), cwd=cwd
    )
    assert saved.returncode == 0, saved.stderr
    return db, text.stdout, json.loads(saved.stdout)


def test_tune_prints_held_out_gains_and_labels_the_all_query_score_in_sample(
    tuned_by_cli: tuple[Path, str, dict[str, Any]],
) -> None:
    _, printed, found = tuned_by_cli
    text = " ".join(printed.split())  # as read, whatever the terminal's width
    assert "tiny_tune: 9 queries in 3 folds" in text and "nDCG@10 on each held-out fold" in text
    assert "held-out nDCG@10:" in text and "across folds" in text
    assert "in-sample, not an estimate" in text
    assert "the same cross-validation on 10 differently seeded splits: held-out gain" in text
    assert "not saved: --save makes it the default fusion of collection 'eval_tiny_tune'" in text
    assert found["saved"] is True and found["collection"] == "eval_tiny_tune"
    assert [fold["queries"] for fold in found["tune"]["folds"]] == [3, 3, 3]


def test_save_keeps_the_winner_with_the_collection_across_reopen(
    tuned_by_cli: tuple[Path, str, dict[str, Any]], embedder: Embedder
) -> None:
    db, _, found = tuned_by_cli
    settings = Settings(milvus_uri=str(db), collection="eval_tiny_tune", _env_file=None)
    with KnowledgeBase(Engine.open(settings, create=False, embedder=embedder)) as kb:
        default = kb.engine.default_fusion
        assert default.source == "saved"
        assert default.fusion.describe() == found["tune"]["chosen"]["name"]
        assert default.tuning["tuned_on"] == "tiny_tune: 9 queries, 3 folds"
        assert default.tuning["held_out_gain"] == found["tune"]["held_out"]["mean_gain"]
        assert kb.status()["fusion"]["source"] == "saved"


SAVED = Fusion(type="weighted", weights=(0.9, 0.1))


@pytest.fixture
def saved_collection(tuned_by_cli: tuple[Path, str, dict[str, Any]], embedder: Embedder) -> Iterator[Engine]:
    """The tuned collection with a saved fusion whose scores no RRF can give (weighted sums are > 0.4 here)."""
    db, _, _ = tuned_by_cli
    settings = Settings(milvus_uri=str(db), collection="eval_tiny_tune", _env_file=None)
    engine = Engine.open(settings, create=False, embedder=embedder)
    save_default_fusion(engine.store, SAVED)
    engine.close()
    engine = Engine.open(settings, create=False, embedder=embedder)
    yield engine
    engine.close()


def raw_scores(body: dict[str, Any]) -> list[tuple[str, float]]:
    return [(hit["id"], hit["raw_score"]) for hit in body["results"]]


def test_a_request_without_fusion_uses_the_saved_one_and_an_explicit_fusion_wins(saved_collection: Engine) -> None:
    query = {"query": "how do nerve cells talk to each other", "top_k": 5, "mode": "hybrid"}
    weighted = {"type": "weighted", "weights": [0.9, 0.1]}
    with TestClient(borrow_engine(create_app(engine=saved_collection), saved_collection)) as api:
        ready = api.get("/ready").json()["fusion"]
        assert (ready["name"], ready["source"], ready["type"], ready["weights"]) == (
            "weighted 0.9/0.1", "saved", "weighted", [0.9, 0.1]
        )  # fmt: skip
        default = api.post("/search", json=query).json()
        assert default == api.post("/search", json=query | {"fusion": weighted}).json() | {
            "took_ms": default["took_ms"]
        }
        assert min(score for _, score in raw_scores(default)) > 0.4
        explicit = api.post("/search", json=query | {"fusion": {"type": "rrf", "k": 60}}).json()
        assert max(score for _, score in raw_scores(explicit)) <= 2 / 61  # RRF, not the saved weighted fusion
        context = {"query": query["query"], "mode": "hybrid", "token_budget": 200}
        assert (
            api.post("/context", json=context).json()["passages"]
            == (api.post("/context", json=context | {"fusion": weighted}).json()["passages"])
        )

    kb = KnowledgeBase(saved_collection)
    assert raw_scores(kb.search(query["query"], top_k=5).to_dict()) == raw_scores(default)
    assert raw_scores(kb.search(query["query"], top_k=5, fusion=Fusion()).to_dict()) == raw_scores(explicit)

    async def call() -> Any:
        async with Client(build_server(saved_collection)) as client:
            return await client.call_tool("search", {"query": query["query"], "top_k": 5})

    assert raw_scores(asyncio.run(call()).structured_content) == raw_scores(default)


def test_the_cli_searches_with_the_saved_fusion_unless_told_otherwise(
    tuned_by_cli: tuple[Path, str, dict[str, Any]], saved_collection: Engine, tmp_path: Path
) -> None:
    db, _, _ = tuned_by_cli
    saved_collection.close()  # one process per Lite .db: the CLI opens it itself
    common = ("--json", "--milvus-uri", str(db), "--collection", "eval_tiny_tune", "-k", "3")
    default = run_cli("search", "drugs that kill bacteria", *common, cwd=tmp_path)
    weighted = run_cli(
        "search", "drugs that kill bacteria", *common, "--fusion", "weighted", "--weights", "0.9,0.1", cwd=tmp_path
    )
    rrf = run_cli("search", "drugs that kill bacteria", *common, "--rrf-k", "60", cwd=tmp_path)
    assert default.returncode == weighted.returncode == rrf.returncode == 0, default.stderr + rrf.stderr
    assert raw_scores(json.loads(default.stdout)) == raw_scores(json.loads(weighted.stdout))
    assert max(score for _, score in raw_scores(json.loads(rrf.stdout))) <= 2 / 61
    status = run_cli("status", "--json", "--milvus-uri", str(db), "--collection", "eval_tiny_tune", cwd=tmp_path)
    assert json.loads(status.stdout)["fusion"]["name"] == "weighted 0.9/0.1"


def test_a_saved_fusion_survives_reopen_and_hides_from_metadata_fields(kb: KnowledgeBase, embedder: Embedder) -> None:
    """On Milvus Lite and the Milvus 2.3.5 server alike (the kb fixture runs on both)."""
    kb.add([{"id": "a", "text": "alpha beta", "metadata": {"colour": "red"}}])
    assert kb.engine.default_fusion.source == "built-in" and kb.status()["fusion"]["name"] == BUILT_IN.describe()
    save_default_fusion(kb.engine.store, Fusion(k=7))
    save_default_fusion(kb.engine.store, Fusion(type="weighted", weights=(0.25, 0.75)))  # the newer one wins
    reopened = Engine.open(kb.settings, create=False, embedder=embedder)  # a new connection reads it back
    try:
        default = reopened.default_fusion
        assert (default.source, default.fusion) == ("saved", Fusion(type="weighted", weights=(0.25, 0.75)))
        assert reopened.store.refresh_metadata_keys() == {"colour"}
        reopened.store.save_default("fusion", None)
        assert load_default_fusion(reopened.store).source == "built-in"
    finally:
        reopened.close()


def test_an_engine_reads_a_fusion_saved_by_another_process_when_asked(settings: Settings, embedder: Embedder) -> None:
    """What a running API's alias follower does on every check (on a server another process can save one)."""
    engine = Engine.open(settings, create=True, embedder=embedder)
    other = Engine.open(settings, create=False, embedder=embedder)  # its own connection, as another process has
    try:
        assert engine.reload_default_fusion() is False
        save_default_fusion(other.store, Fusion(k=3))
        assert engine.default_fusion.source == "built-in"  # read at open
        assert engine.reload_default_fusion() is True
        assert engine.default_fusion.fusion == Fusion(k=3)
        assert engine.searcher.default_fusion == Fusion(k=3)
    finally:
        other.close()
        engine.close()
