"""RAG context: the best hits packed into a token budget, as cited passages and one ready-to-use string.

Overlapping or touching chunks of one document are merged into one passage (no text appears twice); passages are
ordered by their best chunk's score, passages of link pages (tables of contents, indexes: `link_page` metadata,
`ingest.boilerplate`) after all others, since their text names content rather than giving it; the budget is
counted with the model's tokenizer on the final string, so the context never exceeds it. A passage that does not
fit whole is cut at a token boundary when enough budget is left.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from transformers import PreTrainedTokenizerBase

from semsearch.store import Hit

#: Don't start a cut passage with less budget than this: a few words are no use to an LLM.
MIN_PARTIAL_TOKENS = 24


@dataclass
class Passage:
    """Merged chunks of one document. `page_start`/`page_end` span its chunks' pages (None: no pages, e.g. not a PDF
    or deck); `heading_path` is the section its first chunk starts in."""

    doc_id: str
    source: str
    char_start: int
    char_end: int
    text: str
    score: float
    chunk_ids: list[str]
    link_page: bool = False
    page_start: int | None = None
    page_end: int | None = None
    heading_path: str | None = None

    def add_pages(self, metadata: dict[str, Any]) -> None:
        first, last = metadata.get("page_start"), metadata.get("page_end")
        if isinstance(first, int) and isinstance(last, int):
            self.page_start = first if self.page_start is None else min(self.page_start, first)
            self.page_end = last if self.page_end is None else max(self.page_end, last)

    @property
    def where(self) -> str:
        """Section and pages in words, for the rendered context: 'section: a > b; pages 3-4' ('' when unknown)."""
        parts = [f"section: {self.heading_path}"] if self.heading_path else []
        if self.page_start is not None:
            same = self.page_start == self.page_end
            parts.append(f"page {self.page_start}" if same else f"pages {self.page_start}-{self.page_end}")
        return "; ".join(parts)


@dataclass
class Context:
    passages: list[Passage]
    text: str
    tokens: int


def merge_passages(hits: list[Hit]) -> list[Passage]:
    """One passage per run of overlapping/touching chunks of a document, best-scored passages first, link pages
    last."""
    by_doc: dict[str, list[Hit]] = defaultdict(list)
    for hit in hits:
        by_doc[hit.doc_id].append(hit)
    passages: list[Passage] = []
    for doc_hits in by_doc.values():
        current: Passage | None = None
        for hit in sorted(doc_hits, key=lambda h: (h.char_start, h.char_end)):
            if current and hit.char_start <= current.char_end + 1:
                if hit.char_end > current.char_end:
                    current.text += hit.text[current.char_end - hit.char_start :]
                    current.char_end = hit.char_end
                current.score = max(current.score, hit.score)
                current.chunk_ids.append(hit.id)
                current.add_pages(hit.metadata)
                continue
            heading = hit.metadata.get("heading_path")
            current = Passage(
                hit.doc_id,
                hit.source,
                hit.char_start,
                hit.char_end,
                hit.text,
                hit.score,
                [hit.id],
                link_page=hit.metadata.get("link_page") is True,
                heading_path=heading if isinstance(heading, str) else None,
            )
            current.add_pages(hit.metadata)
            passages.append(current)
    return sorted(passages, key=lambda p: (p.link_page, -p.score))


def render(passages: list[Passage]) -> str:
    """Numbered passages, each followed by its source and, when known, its section and pages."""
    return "\n\n".join(
        f"[{n}] {p.text.strip()}\n(source: {p.source})" + (f" ({p.where})" if p.where else "")
        for n, p in enumerate(passages, 1)
    )


def pack(hits: list[Hit], tokenizer: PreTrainedTokenizerBase, budget: int) -> Context:
    """Fit the merged passages into `budget` tokens of the final rendered string."""

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False, truncation=False, verbose=False)["input_ids"])

    chosen: list[Passage] = []
    for passage in merge_passages(hits):
        if count(render([*chosen, passage])) <= budget:
            chosen.append(passage)
            continue
        cut = _cut_to_fit(passage, chosen, budget, tokenizer, count)
        if cut:
            chosen.append(cut)
        break
    text = render(chosen)
    return Context(passages=chosen, text=text, tokens=count(text) if text else 0)


def _cut_to_fit(passage, chosen, budget, tokenizer, count) -> Passage | None:
    """The longest prefix of `passage`, ending at a token boundary, that still fits the budget."""
    spare = budget - count(render([*chosen, _with_text(passage, "")]))
    if spare < MIN_PARTIAL_TOKENS:
        return None
    offsets = tokenizer(passage.text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    ends = [end for _, end in offsets["offset_mapping"] if end > 0]
    low, high = 0, min(len(ends), spare)
    while low < high:  # binary search on the number of tokens kept
        mid = (low + high + 1) // 2
        if count(render([*chosen, _with_text(passage, passage.text[: ends[mid - 1]])])) <= budget:
            low = mid
        else:
            high = mid - 1
    if low == 0:
        return None
    kept = passage.text[: ends[low - 1]]
    return dataclasses.replace(passage, char_end=passage.char_start + len(kept), text=kept)


def _with_text(passage: Passage, text: str) -> Passage:
    return dataclasses.replace(passage, char_end=passage.char_start, text=text, chunk_ids=[])
