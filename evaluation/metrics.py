"""IR metrics from pytrec_eval (the TREC reference implementation, the [eval] extra), averaged over queries."""

from __future__ import annotations

from semsearch.extras import require

METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")


def evaluate(qrels: dict[str, dict[str, int]], run: dict[str, list[str]]) -> dict[str, float]:
    """`run` maps a query id to its ranked document ids (best first); every judged query counts, found or not."""
    pytrec_eval = require("pytrec_eval", "scoring a retrieval run")
    judged = {qid: rels for qid, rels in qrels.items() if qid in run}
    full = {qid: _scores(docs) for qid, docs in run.items()}
    top10 = {qid: _scores(docs[:10]) for qid, docs in run.items()}
    per_query = pytrec_eval.RelevanceEvaluator(judged, {"ndcg_cut.10", "recall.10", "recall.100"}).evaluate(full)
    mrr = pytrec_eval.RelevanceEvaluator(judged, {"recip_rank"}).evaluate(top10)
    n = len(judged)

    def mean(values: list[float]) -> float:
        return round(sum(values) / n, 4) if n else 0.0

    return {
        "ndcg@10": mean([per_query.get(q, {}).get("ndcg_cut_10", 0.0) for q in judged]),
        "recall@10": mean([per_query.get(q, {}).get("recall_10", 0.0) for q in judged]),
        "recall@100": mean([per_query.get(q, {}).get("recall_100", 0.0) for q in judged]),
        "mrr@10": mean([mrr.get(q, {}).get("recip_rank", 0.0) for q in judged]),
    }


def _scores(doc_ids: list[str]) -> dict[str, float]:
    """Scores that reproduce our order exactly (pytrec_eval re-sorts by score)."""
    return {doc_id: float(len(doc_ids) - rank) for rank, doc_id in enumerate(doc_ids)}


class NdcgAt10:
    """nDCG@10 per query, exactly as `evaluate` computes it before averaging, for scoring many runs of the same
    queries (`semsearch eval --tune`): the judgements are read once; a judged query missing from a run scores 0."""

    def __init__(self, qrels: dict[str, dict[str, int]]) -> None:
        self.queries = list(qrels)
        pytrec_eval = require("pytrec_eval", "scoring a retrieval run")
        self._evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"})

    def __call__(self, run: dict[str, list[str]]) -> dict[str, float]:
        per_query = self._evaluator.evaluate({qid: _scores(docs) for qid, docs in run.items()})
        return {qid: per_query.get(qid, {}).get("ndcg_cut_10", 0.0) for qid in self.queries}
