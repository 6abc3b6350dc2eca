"""Read a BEIR-format directory: corpus.jsonl, queries.jsonl and qrels/test.tsv."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from semsearch.indexer import Document


class BeirFormatError(ValueError):
    """The directory is not in BEIR format; the message names the missing or bad file."""


@dataclass
class BeirSet:
    name: str
    corpus: list[Document]
    queries: dict[str, str]  # only the queries that have relevance judgements
    qrels: dict[str, dict[str, int]]


def load(directory: Path, limit_queries: int | None = None) -> BeirSet:
    paths = {name: directory / name for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv")}
    missing = [name for name, path in paths.items() if not path.is_file()]
    if missing:
        raise BeirFormatError(f"{directory} is not a BEIR directory: missing {', '.join(missing)}")
    qrels = _qrels(paths["qrels/test.tsv"])
    all_queries = {row["_id"]: row["text"] for row in _jsonl(paths["queries.jsonl"])}
    queries = {qid: all_queries[qid] for qid in sorted(qrels, key=_natural) if qid in all_queries}
    if limit_queries:
        queries = dict(list(queries.items())[:limit_queries])
    source = f"beir:{directory.name}"
    corpus = [
        Document(
            id=str(row["_id"]),
            text=f"{row.get('title') or ''}\n\n{row.get('text') or ''}".strip(),
            source=source,
            metadata={"title": row.get("title") or ""},
        )
        for row in _jsonl(paths["corpus.jsonl"])
        if (row.get("title") or row.get("text"))
    ]
    return BeirSet(name=directory.name, corpus=corpus, queries=queries, qrels=qrels)


def _jsonl(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise BeirFormatError(f"{path}: invalid JSON on line {number}: {exc.msg}") from exc
    return rows


def _qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            try:
                qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
            except (KeyError, TypeError, ValueError) as exc:
                raise BeirFormatError(f"{path}: expected columns query-id, corpus-id, score") from exc
    return qrels


def _natural(key: str) -> tuple[int, str]:
    return (int(key), key) if key.isdigit() else (1 << 62, key)
