"""Ingest a BEIR corpus into a scratch collection, run every judged query in each mode, score the runs."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from evaluation.beir import BeirSet
from evaluation.metrics import evaluate
from semsearch.engine import Engine
from semsearch.indexer import IndexStats
from semsearch.ranking import Mode
from semsearch.searcher import SearchOptions

INDEX_BATCH = 128
RUN_DEPTH = 100


@dataclass
class ModeResult:
    mode: Mode
    metrics: dict[str, float]
    p50_ms: float


def scratch_collection(name: str) -> str:
    return "eval_" + re.sub(r"[^A-Za-z0-9_]", "_", name)[:200]


def index_corpus(engine: Engine, data: BeirSet, on_batch: Callable[[int], None] | None = None) -> IndexStats:
    """Idempotent: a corpus already in the scratch collection is re-checked by content hash, not re-embedded."""
    stats = IndexStats()
    indexer = engine.indexer
    for start in range(0, len(data.corpus), INDEX_BATCH):
        batch = data.corpus[start : start + INDEX_BATCH]
        stats.add(indexer.index(batch))
        if on_batch:
            on_batch(len(batch))
    return stats


def run_mode(engine: Engine, data: BeirSet, mode: Mode) -> ModeResult:
    """Chunk hits are mapped to documents by keeping each document's best chunk (group_by_document)."""
    searcher = engine.searcher
    options = SearchOptions(top_k=RUN_DEPTH, mode=mode, group_by_document=True)
    run: dict[str, list[str]] = {}
    latencies = []
    for qid, text in data.queries.items():
        started = time.perf_counter()
        hits = searcher.search(text, options).hits
        latencies.append((time.perf_counter() - started) * 1000)
        run[qid] = [hit.doc_id for hit in hits]
    metrics = evaluate({q: data.qrels[q] for q in data.queries}, run)
    return ModeResult(mode=mode, metrics=metrics, p50_ms=round(statistics.median(latencies), 2) if latencies else 0.0)
