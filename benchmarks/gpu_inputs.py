"""What benchmarks/gpu.py feeds the model: files holding a chosen number of chunks, the store it writes into (a
counter), and the part of SciFact its quality check embeds.

Rows end when their files are done, never in the middle (stopping the pipeline early wastes the batches in flight,
which at small sizes was most of the run): a dry pass, with the model replaced by zeros, counts the chunks each file
or abstract gives, and each row gets the files that hold its number of chunks.
"""

from __future__ import annotations

import json
import math
import shutil
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class CountingStore:
    """The store's surface the indexer uses, holding nothing: every chunk is new, every write is counted (by
    source and document too, for the dry pass)."""

    has_keyword_text: bool = True
    written: int = 0
    by_source: Counter = field(default_factory=Counter)
    by_doc: Counter = field(default_factory=Counter)  # in the order documents were written
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: (path, reason) of files the pipeline could not read, from its report.
    failures: list[tuple[str, str]] = field(default_factory=list)

    def existing_chunks(self, doc_ids: list[str]) -> dict:
        return {}

    def vectors_by_hash(self, hashes: list[str]) -> dict:
        return {}

    def vectors(self, ids: list[str]) -> dict:
        return {}

    def store_chunks(self, rows: list[dict], new: set[str]) -> None:
        with self.lock:
            self.written += len(rows)
            self.by_source.update(row["source"] for row in rows)
            self.by_doc.update(row["doc_id"] for row in rows)

    def delete_ids(self, ids: list[str]) -> None:
        pass

    def doc_ids_for_source(self, source: str) -> set[str]:
        return set()

    def delete_documents(self, doc_ids: list[str]) -> int:
        return 0


def ingest_counting(paths: list[Path], embedder: Any, settings: Any) -> CountingStore:
    """The product's ingest pipeline (read + chunk, embed, write: three threads) into a CountingStore."""
    from ingest.loaders import TableOptions
    from ingest.pipeline import ingest_files
    from ingest.sinks import EngineSink
    from semsearch.indexer import Indexer

    store = CountingStore()
    indexer = Indexer(store, embedder, settings)  # type: ignore[arg-type]
    report = ingest_files(paths, EngineSink(SimpleNamespace(indexer=indexer, store=store)), TableOptions())  # type: ignore[arg-type]
    store.failures = report.failures
    return store


class _Unembedded:
    """An embedder whose vectors are zeros: the dry pass chunks with the model's tokenizer, and embeds nothing."""

    def __init__(self, embedder: Any) -> None:
        self._embedder = embedder

    def __getattr__(self, name: str) -> Any:
        return getattr(self._embedder, name)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.zeros((len(texts), self._embedder.dim), dtype=np.float32)


class Corpus:
    """Files holding about n chunks of one corpus (never fewer, unless the corpus is smaller; a row reports its
    count): SciFact's first abstracts (one JSONL file), or sample_data/ copied under new names as often as needed
    (copies of one text: the same chunks under new ids). Files that cannot be read here (CSV without pandas, HTML
    without lxml) are left out by the dry pass, and named in `left_out`."""

    def __init__(self, name: str, scifact: Path, folder: Path) -> None:
        self.name, self.scifact, self.folder = name, scifact, folder
        self.available = name != "scifact" or (scifact / "corpus.jsonl").is_file()
        self._sample_counts: list[tuple[Path, int]] | None = None
        #: Files the dry pass could not read here (a reader's library missing), by reason.
        self.left_out: dict[str, list[str]] = {}

    def for_chunks(self, n: int, embedder: Any, settings: Any) -> list[Path]:
        target = self.folder / str(n)
        if target.is_dir():
            return sorted(p for p in target.rglob("*") if p.is_file())
        target.mkdir(parents=True)
        if self.name == "scifact":
            return [self._scifact_lines(n, embedder, settings, target)]
        return self._sample_copies(n, embedder, settings, target)

    def _scifact_lines(self, n: int, embedder: Any, settings: Any, target: Path) -> Path:
        out = target / "scifact.jsonl"
        wanted = math.ceil(n / 3) + 1  # abstracts give ~3.6 chunks each; read more where these give fewer
        while True:
            with (self.scifact / "corpus.jsonl").open() as source:
                lines = [line for _, line in zip(range(wanted), source, strict=False)]
            out.write_text("".join(lines))
            counts = list(ingest_counting([out], _Unembedded(embedder), settings).by_doc.values())
            if sum(counts) >= n or len(lines) < wanted:
                break
            wanted *= 2
        total = keep = 0
        while keep < len(counts) and total < n:
            total += counts[keep]
            keep += 1
        out.write_text("".join(lines[:keep]))
        return out

    def _sample_copies(self, n: int, embedder: Any, settings: Any, target: Path) -> list[Path]:
        from ingest.loaders import TableOptions, file_id_of
        from ingest.sources import discover

        if self._sample_counts is None:
            self._sample_counts = []
            for path in discover([str(ROOT / "sample_data")]).files:
                try:  # one file at a time: a reader whose library is absent (pandas for CSV) fails the whole run
                    store = ingest_counting([path], _Unembedded(embedder), settings)
                except Exception as exc:
                    self.left_out.setdefault(f"{type(exc).__name__}: {exc}"[:160], []).append(path.name)
                    continue
                for _, reason in store.failures:  # a reader that reports its missing library
                    self.left_out.setdefault(reason[:160], []).append(path.name)
                count = store.by_source[file_id_of(path, TableOptions())]
                if count:
                    self._sample_counts.append((path, count))
        if not self._sample_counts:
            return []
        paths: list[Path] = []
        total = copy = 0
        while total < n:
            for path, count in self._sample_counts:
                copied = target / f"c{copy}" / path.relative_to(ROOT / "sample_data")
                copied.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, copied)
                paths.append(copied)
                total += count
                if total >= n:
                    break
            copy += 1
        return paths


@dataclass
class QualitySet:
    """A SciFact test set: documents (id, text), judged queries (id, text) and their relevance judgements."""

    doc_ids: list[str]
    doc_texts: list[str]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def scifact_quality_set(scifact: Path, docs_wanted: int = 0) -> QualitySet:
    """All of SciFact (docs_wanted 0), or `docs_wanted` abstracts: the judged ones of as many test queries as fill
    half of them, then others in corpus order as distractors. Only those queries are asked, so the nDCG@10 of a
    subset is easier than the whole's, and comparable only with the same subset (fp16 against fp32)."""
    docs = [json.loads(line) for line in (scifact / "corpus.jsonl").open()]
    queries = {q["_id"]: q["text"] for q in map(json.loads, (scifact / "queries.jsonl").open())}
    qrels: dict[str, dict[str, int]] = {}
    for line in list((scifact / "qrels" / "test.tsv").open())[1:]:
        qid, did, score = line.split()
        qrels.setdefault(qid, {})[did] = int(score)
    judged = [q for q in qrels if q in queries]
    if docs_wanted and docs_wanted < len(docs):
        keep: set[str] = set()
        chosen = []
        for qid in judged:
            needed = set(qrels[qid]) - keep
            if len(keep) + len(needed) > docs_wanted // 2:
                break
            keep |= needed
            chosen.append(qid)
        for doc in docs:
            if len(keep) >= docs_wanted:
                break
            keep.add(doc["_id"])
        docs, judged = [d for d in docs if d["_id"] in keep], chosen
    return QualitySet(
        doc_ids=[d["_id"] for d in docs],
        doc_texts=[f"{d['title']}\n{d['text']}".strip() for d in docs],
        queries={q: queries[q] for q in judged},
        qrels={q: qrels[q] for q in judged},
    )
