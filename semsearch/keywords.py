"""What BM25 reads for each chunk: the chunk inside a wider window of its document, behind its title and headings.

Two granularities. The vector is made from the chunk alone, and a small chunk makes a sharp vector (a long one
averages many topics into one point; all-MiniLM-L6-v2 was trained on 128-token inputs). Term matching wants the
opposite: a query's words are often spread over a few sentences, and a chunk boundary between them hides the
match from BM25 over either chunk. So each chunk's keyword text is a window of the source centred on the chunk:
the end of the text before it, the chunk, the start of the text after it, up to `window_tokens` in all. A keyword
hit is still one chunk (its row), so citations, offsets and `/context` stay exact: they read `text`, never this.

A window never crosses a section start (a heading, from the document's layout), as a chunk never does: the text
of the next section is about something else, and would make the chunk match queries about that.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from semsearch.store.schema import TEXT_MAX_BYTES, TITLE_MAX_BYTES, keyword_text
from semsearch.tokens import encode

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from semsearch.store import Hit

#: Characters of context read per token wanted before tokenising it: English averages under 5 characters per
#: wordpiece, so 8 leaves room; a text of longer tokens just gets a narrower window.
CHARS_PER_TOKEN = 8
#: Chunks whose surroundings are tokenised in one call.
BATCH = 256


def window_spans(
    text: str,
    spans: Sequence[tuple[int, int]],
    tokenizer: PreTrainedTokenizerBase,
    window_tokens: int,
    boundaries: Sequence[int] = (),
) -> list[tuple[int, int]]:
    """For each chunk span (start, end) of `text`, the span of its keyword window: the chunk grown on both sides
    to about `window_tokens` tokens (the chunk's own included), half before and half after, the other side taking
    what one side lacks at the document's or a section's edge. Windows start and end at word boundaries, hold at
    most `window_tokens` tokens, and never cross one of the sorted section starts `boundaries`. A chunk of
    `window_tokens` or more, or a window of 0, keeps its own span, and so does a chunk that is the whole text (a
    short document, a table row: nothing lies around it), without tokenizing it again."""
    if window_tokens <= 0 or not spans or list(spans) == [(0, len(text))]:
        return list(spans)
    cuts = sorted(boundaries)
    reach = window_tokens * CHARS_PER_TOKEN
    windows = []
    for first in range(0, len(spans), BATCH):  # a batch at a time: a huge document's offsets never all in memory
        batch = spans[first : first + BATCH]
        areas = [_section(cuts, start, end, len(text)) for start, end in batch]
        bases = [max(lo, start - reach) for (start, _), (lo, _) in zip(batch, areas, strict=True)]
        pieces = [
            text[base : min(hi, end + reach)] for base, (_, end), (_, hi) in zip(bases, batch, areas, strict=True)
        ]
        encoded = [e.offsets for e in encode(tokenizer, pieces)]
        for (start, end), (lo, hi), base, offsets in zip(batch, areas, bases, encoded, strict=True):
            kept = [(s + base, e + base) for s, e in offsets if e > s]
            windows.append(_window(text, kept, start, end, lo, hi, window_tokens))
    return windows


def _section(cuts: list[int], start: int, end: int, length: int) -> tuple[int, int]:
    """The stretch of text between the section starts around a chunk: where its window may reach."""
    at = bisect.bisect_right(cuts, start)
    lo = cuts[at - 1] if at > 0 else 0
    after = bisect.bisect_left(cuts, end)
    hi = cuts[after] if after < len(cuts) else length
    return lo, hi


def _window(
    text: str, tokens: list[tuple[int, int]], start: int, end: int, lo: int, hi: int, window_tokens: int
) -> tuple[int, int]:
    before = [t for t in tokens if t[1] <= start]
    after = [t for t in tokens if t[0] >= end]
    own = len(tokens) - len(before) - len(after)
    budget = window_tokens - own
    if budget <= 0:
        return start, end
    take_before = min(len(before), max(budget // 2, budget - len(after)))
    take_after = min(len(after), budget - take_before)
    ws = before[-take_before][0] if take_before else start
    we = after[take_after - 1][1] if take_after else end
    # A window cut inside a word would index a fragment ("ression" of "regression"): drop the partial word.
    while lo < ws < start and text[ws - 1].isalnum() and text[ws].isalnum():
        ws += 1
    while end < we < hi and text[we - 1].isalnum() and text[we].isalnum():
        we -= 1
    return ws, we


def section_starts(rows: Sequence[dict[str, Any]]) -> list[int]:
    """Section starts recovered from one document's stored chunk rows, in chunk order, for a document rebuilt
    without its layout (an import): where a chunk's heading path differs from the chunk's before it."""
    paths = [(row["char_start"], row["metadata"].get("heading_path")) for row in rows]
    return [start for (start, path), (_, before) in zip(paths[1:], paths[:-1], strict=True) if path != before]


def window_text(text: str, chunk: tuple[int, int], window: tuple[int, int], metadata: dict[str, Any]) -> str:
    """A chunk's keyword text: its window of `text` behind the title and heading path (`keyword_text`), or the
    chunk alone where the window would not fit Milvus's text field."""
    start, end = window
    if len(text[start:end].encode()) > TEXT_MAX_BYTES - TITLE_MAX_BYTES - 2:
        start, end = chunk
    return keyword_text(text[start:end].strip(), metadata.get("title"), metadata.get("heading_path"))


#: Hits of one document whose BM25 scores lie within this factor of the best among them are one window's match
#: seen from neighbouring chunks (their windows overlap and hold the same terms; only their lengths differ).
NEAR_TIE = 0.95
_WORD = re.compile(r"\w+")


def cite_matching_chunks(query: str, hits: list[Hit]) -> list[Hit]:
    """Give a window's match to the chunk that holds the query's words itself.

    A query term in chunk i is also in the windows of chunks i-1 and i+1, so all three score (almost) alike, and
    the citation could name a chunk that does not contain the term at all. Within each run of one document's
    near-tied hits, the chunks are reordered by how many of the query's words their own text holds (then as
    Milvus ranked them), and each takes the score of the place it moves into. Only chunks of one document trade
    places, so the document ranking, and every metric taken over documents, is exactly BM25's.
    """
    terms = {word.casefold() for word in _WORD.findall(query)}
    if not terms or len(hits) < 2:
        return hits
    positions: dict[str, list[int]] = {}
    for place, hit in enumerate(hits):
        positions.setdefault(hit.doc_id, []).append(place)
    cited = list(hits)
    for places in positions.values():
        run = [places[0]]
        for place in [*places[1:], None]:
            if place is not None and hits[place].raw_score >= NEAR_TIE * hits[run[0]].raw_score:
                run.append(place)
                continue
            if len(run) > 1:
                ranked = sorted(run, key=lambda p: (-_matches(hits[p].text, terms), p))
                for slot, source in zip(run, ranked, strict=True):
                    cited[slot] = dataclasses.replace(
                        hits[source], score=hits[slot].score, raw_score=hits[slot].raw_score
                    )
            run = [place] if place is not None else []
    return cited


def _matches(text: str, terms: set[str]) -> int:
    return len(terms & {word.casefold() for word in _WORD.findall(text)})
