"""The one shape of each answer: what `POST /search`, MCP `search`, `semsearch search --json` and the Python API
return for a search, and likewise for RAG context. Each answer's `to_dict()` is its JSON; the HTTP response models
(`search_api/models.py`) document the same fields, and a test holds the doors to it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from semsearch.context import Context
from semsearch.ranking import Mode
from semsearch.store import Hit


@dataclass(frozen=True)
class SearchAnswer:
    """Hits for a query, best first; `took_ms` is the time to embed the query and search, in milliseconds."""

    query: str
    mode: Mode
    results: list[Hit]
    took_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "mode": self.mode.value,
            "results": [dataclasses.asdict(hit) for hit in self.results],
            "took_ms": self.took_ms,
        }


@dataclass(frozen=True)
class Citation:
    """Where a passage came from: the document, and the character span of the source it covers."""

    doc_id: str
    source: str
    char_start: int
    char_end: int
    #: The best `score` among the passage's chunks.
    score: float
    #: First and last page (slide, for decks) the passage's chunks span; None for documents without pages.
    page_start: int | None = None
    page_end: int | None = None
    #: Headings of the section the passage starts in, outermost first, joined by " > "; None without headings.
    heading_path: str | None = None


@dataclass(frozen=True)
class CitedPassage:
    #: Citation number, as `[n]` in the context string.
    n: int
    text: str
    citation: Citation


@dataclass(frozen=True)
class ContextAnswer:
    """RAG context: numbered passages packed into `token_budget` tokens (`tokens` never exceeds it)."""

    query: str
    mode: Mode
    context: str
    passages: list[CitedPassage]
    tokens: int
    token_budget: int
    took_ms: float

    @classmethod
    def of(cls, query: str, mode: Mode, packed: Context, token_budget: int, took_ms: float) -> ContextAnswer:
        passages = [
            CitedPassage(
                n,
                p.text,
                Citation(
                    p.doc_id, p.source, p.char_start, p.char_end, p.score, p.page_start, p.page_end, p.heading_path
                ),
            )
            for n, p in enumerate(packed.passages, 1)
        ]
        return cls(query, mode, packed.text, passages, packed.tokens, token_budget, took_ms)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "mode": self.mode.value}
