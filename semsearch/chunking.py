"""Token-aware chunking: split a document into spans the model reads whole, never silently truncated.

Tokens are counted with the model's own tokenizer. Chunks end at a sentence end where one lies in the second half
of the window, else at a word boundary, and consecutive chunks share `overlap` tokens. Every chunk keeps its
character span in the source text, so `text[char_start:char_end] == chunk.text`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

#: Documents are tokenised in segments of about this many characters, so a huge file never needs all its token
#: offsets in memory at once. Segments are cut at paragraph or line breaks where possible.
SEGMENT_CHARS = 100_000

_SENTENCE_END = (".", "!", "?", ";", ":")


@dataclass(frozen=True)
class Chunk:
    """One embeddable piece of a document."""

    doc_id: str
    chunk_index: int
    text: str
    char_start: int
    char_end: int

    @property
    def id(self) -> str:
        """Deterministic primary key: the same document and position always give the same id."""
        return chunk_id(self.doc_id, self.chunk_index)


def chunk_id(doc_id: str, chunk_index: int) -> str:
    return f"{doc_id}#{chunk_index}"


def content_hash(text: str, model_id: str) -> str:
    """Hash of what the vector depends on: the chunk text and the model that embeds it."""
    return hashlib.sha256(f"{model_id}\x00{text}".encode()).hexdigest()[:32]


def split_document(
    doc_id: str, text: str, tokenizer: PreTrainedTokenizerBase, max_tokens: int, overlap: int
) -> list[Chunk]:
    """Split `text` into chunks of at most `max_tokens` tokens (special tokens not counted)."""
    spans = [
        span for segment in _segments(text) for span in _token_windows(text, segment, tokenizer, max_tokens, overlap)
    ]
    return [
        Chunk(doc_id=doc_id, chunk_index=i, text=text[start:end], char_start=start, char_end=end)
        for i, (start, end) in enumerate(spans)
    ]


def _segments(text: str) -> Iterator[tuple[int, int]]:
    """Yield (start, end) character ranges of at most ~SEGMENT_CHARS, cut at the latest paragraph/line break."""
    start = 0
    while start < len(text):
        end = min(start + SEGMENT_CHARS, len(text))
        if end < len(text):
            floor = start + SEGMENT_CHARS // 2
            for sep in ("\n\n", "\n", " "):
                cut = text.rfind(sep, floor, end)
                if cut > 0:
                    end = cut + len(sep)
                    break
        yield start, end
        start = end


def _token_windows(
    text: str, segment: tuple[int, int], tokenizer: PreTrainedTokenizerBase, max_tokens: int, overlap: int
) -> Iterator[tuple[int, int]]:
    base, stop = segment
    encoding = tokenizer(
        text[base:stop], add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False
    )
    offsets = [(s + base, e + base) for s, e in encoding["offset_mapping"] if e > s]
    n = len(offsets)
    start = 0
    while start < n:
        end = min(start + max_tokens, n)
        if end < n:
            end = _best_cut(text, offsets, start, end)
        yield offsets[start][0], offsets[end - 1][1]
        if end >= n:
            break
        start = _next_start(text, offsets, start, end, overlap)


def _is_word_start(text: str, offsets: list[tuple[int, int]], i: int) -> bool:
    """True if token i starts a word (cutting before it never splits a word into pieces)."""
    if i == 0:
        return True
    prev_end, start = offsets[i - 1][1], offsets[i][0]
    return prev_end < start or not (text[prev_end - 1].isalnum() and text[start].isalnum())


def _is_sentence_start(text: str, offsets: list[tuple[int, int]], i: int) -> bool:
    prev_end = offsets[i - 1][1]
    gap = text[prev_end : offsets[i][0]]
    return "\n" in gap or (bool(gap) and text[prev_end - 1] in _SENTENCE_END)


def _best_cut(text: str, offsets: list[tuple[int, int]], start: int, end: int) -> int:
    """Pick the exclusive end token: a sentence start in the window's second half, else a word start."""
    floor = start + max(1, (end - start) // 2)
    for test in (_is_sentence_start, _is_word_start):
        for i in range(end, floor - 1, -1):
            if test(text, offsets, i):
                return i
    return end  # one word longer than half a window: cut inside it rather than exceed the limit


def _next_start(text: str, offsets: list[tuple[int, int]], start: int, end: int, overlap: int) -> int:
    """Step back `overlap` tokens from `end`, then forward to a word start, always moving past `start`."""
    candidate = max(end - overlap, start + 1)
    while candidate < end and not _is_word_start(text, offsets, candidate):
        candidate += 1
    return candidate
