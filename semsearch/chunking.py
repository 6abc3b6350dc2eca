"""Token-aware chunking: split a document into spans the model reads whole, never silently truncated.

Tokens are counted with the model's own tokenizer. Chunks end before a section start (a heading, from the
document's layout) where one lies in the last three quarters of the window, else at a sentence end in its second
half, else at a word boundary. Consecutive chunks share `overlap` tokens, except across a section start: the next
chunk begins at the heading, so a chunk rarely mixes two sections. Every chunk keeps its character span in the
source text, so `text[char_start:char_end] == chunk.text`.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from semsearch.tokens import count_tokens, encode_one

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

#: Documents are tokenised in segments of about this many characters, so a huge file never needs all its token
#: offsets in memory at once. Segments are cut at paragraph or line breaks where possible.
SEGMENT_CHARS = 100_000

#: Longest chunk in characters: 4 UTF-8 bytes each still fit Milvus's 65,535-byte VARCHAR.
MAX_CHUNK_CHARS = 16_000

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
        """Deterministic public id: the same document and position always give the same id."""
        return chunk_id(self.doc_id, self.chunk_index)

    @property
    def key(self) -> str:
        """Deterministic Milvus primary key (see `storage_key`)."""
        return storage_key(self.doc_id, self.chunk_index)


def chunk_id(doc_id: str, chunk_index: int) -> str:
    """The id users see: `<doc_id>#<chunk_index>`."""
    return f"{doc_id}#{chunk_index}"


def storage_key(doc_id: str, chunk_index: int) -> str:
    """The primary key in Milvus: a hash of the doc_id plus the chunk index, so only [0-9a-f:] ever appears in it.
    Milvus Lite 2.5.1 builds expressions from primary keys internally (upsert, get, delete by id, hybrid re-query)
    without escaping them, and fails on a key with a quote or backslash, as a file called O'Brien.txt would give."""
    return f"{hashlib.sha256(doc_id.encode()).hexdigest()[:40]}:{chunk_index:06d}"


def content_hash(text: str, model_id: str) -> str:
    """Hash of what the vector depends on: the chunk text and the model that embeds it."""
    return hashlib.sha256(f"{model_id}\x00{text}".encode()).hexdigest()[:32]


def split_document(
    doc_id: str,
    text: str,
    tokenizer: PreTrainedTokenizerBase,
    max_tokens: int,
    overlap: int,
    boundaries: Sequence[int] = (),
) -> list[Chunk]:
    """Split `text` into chunks of at most `max_tokens` tokens (special tokens not counted), preferring to end
    before one of the sorted character offsets `boundaries` (section starts). No boundaries: sentence cuts only."""
    return [
        Chunk(doc_id=doc_id, chunk_index=i, text=text[start:end], char_start=start, char_end=end)
        for i, (start, end) in enumerate(_spans(text, tokenizer, max_tokens, overlap, sorted(boundaries)))
    ]


@dataclass
class _Tokens:
    """Token offsets of one segment of the text, in document coordinates, and where words start."""

    offsets: list[tuple[int, int]]
    word_starts: list[bool]
    segment_end: int
    segment_start: int = 0
    #: Tokens of the whole segment, zero-width ones included: the fit check's count when a chunk is the segment.
    count: int = 0

    def end_char(self, text: str, i: int) -> int:
        """Exclusive end of a chunk whose last token is i-1: up to the next token, minus trailing whitespace, so
        characters the tokenizer drops (combining accents, variation selectors) stay with their base character."""
        stop = self.offsets[i][0] if i < len(self.offsets) else self.segment_end
        end = stop
        while end > self.offsets[i - 1][1] and text[end - 1].isspace():
            end -= 1
        return end


def _spans(
    text: str, tokenizer: PreTrainedTokenizerBase, max_tokens: int, overlap: int, boundaries: list[int]
) -> Iterator[tuple[int, int]]:
    """Character spans of the chunks. The text is tokenised a segment at a time; a segment's last, incomplete
    window is not emitted but re-read at the start of the next segment, so overlap holds across segments."""
    position = 0
    while position < len(text):
        segment_end = _segment_end(text, position)
        tokens = _tokenize(text, position, segment_end, tokenizer)
        last_segment = segment_end >= len(text)
        n = len(tokens.offsets)
        start = 0
        while start < n:
            end = min(start + max_tokens, n)
            if end == n and not last_segment and start > 0:
                break  # finish this window in the next segment, with the text that follows it
            if end < n:
                end = _section_cut(tokens, start, end, boundaries) or _best_cut(text, tokens, start, end)
            end = _fit(text, tokens, start, end, tokenizer, max_tokens)
            yield from _char_limited(tokens.offsets[start][0], tokens.end_char(text, end))
            if end >= n:
                start = n
                break
            at_section = _starts_section(tokens, end, boundaries)
            start = end if at_section else _next_start(tokens, start, end, overlap)
        if last_segment or n == 0:
            return
        position = tokens.offsets[start][0] if start < n else segment_end


def _segment_end(text: str, start: int) -> int:
    """End of a segment of at most ~SEGMENT_CHARS, cut at the latest paragraph, line or word break."""
    end = min(start + SEGMENT_CHARS, len(text))
    if end < len(text):
        floor = start + SEGMENT_CHARS // 2
        for sep in ("\n\n", "\n", " "):
            cut = text.rfind(sep, floor, end)
            if cut > 0:
                return cut + len(sep)
    return end


def _tokenize(text: str, start: int, stop: int, tokenizer: PreTrainedTokenizerBase) -> _Tokens:
    encoding = encode_one(tokenizer, text[start:stop])
    kept = [i for i, (s, e) in enumerate(encoding.offsets) if e > s]
    offsets = [(encoding.offsets[i][0] + start, encoding.offsets[i][1] + start) for i in kept]
    words = encoding.word_ids  # None from slow tokenizers, which do not know words: fall back to the characters
    if words is not None:
        kept_words = [words[i] for i in kept]
        word_starts = [i == 0 or kept_words[i] != kept_words[i - 1] for i in range(len(kept))]
    else:
        word_starts = [_looks_like_word_start(text, offsets, i) for i in range(len(offsets))]
    return _Tokens(offsets, word_starts, segment_end=stop, segment_start=start, count=len(encoding.ids))


def _looks_like_word_start(text: str, offsets: list[tuple[int, int]], i: int) -> bool:
    if i == 0:
        return True
    prev_end, start = offsets[i - 1][1], offsets[i][0]
    return prev_end < start or not (text[prev_end - 1].isalnum() and text[start].isalnum())


def _is_sentence_start(text: str, tokens: _Tokens, i: int) -> bool:
    prev_end = tokens.offsets[i - 1][1]
    gap = text[prev_end : tokens.offsets[i][0]]
    return tokens.word_starts[i] and ("\n" in gap or (bool(gap) and text[prev_end - 1] in _SENTENCE_END))


def _starts_section(tokens: _Tokens, i: int, boundaries: list[int]) -> bool:
    """Whether a section starts between token i-1 and token i."""
    if not boundaries or i <= 0 or i >= len(tokens.offsets):
        return False
    at = bisect.bisect_left(boundaries, tokens.offsets[i - 1][1])
    return at < len(boundaries) and boundaries[at] <= tokens.offsets[i][0]


def _section_cut(tokens: _Tokens, start: int, end: int, boundaries: list[int]) -> int | None:
    """The latest section start in the window's last three quarters, as the exclusive end token; None without."""
    floor = start + max(1, (end - start) // 4)
    return next((i for i in range(end, floor - 1, -1) if _starts_section(tokens, i, boundaries)), None)


def _best_cut(text: str, tokens: _Tokens, start: int, end: int) -> int:
    """Pick the exclusive end token: a sentence start in the window's second half, else a word start."""
    floor = start + max(1, (end - start) // 2)
    for i in range(end, floor - 1, -1):
        if _is_sentence_start(text, tokens, i):
            return i
    for i in range(end, floor - 1, -1):
        if tokens.word_starts[i]:
            return i
    return end  # one word longer than half a window: cut inside it rather than exceed the limit


def _fit(text: str, tokens: _Tokens, start: int, end: int, tokenizer: PreTrainedTokenizerBase, limit: int) -> int:
    """Shrink the window until its text, tokenised on its own, fits: the guarantee behind "never truncated". A
    window that is the whole segment (a short document, a table row) is the very text `_tokenize` read: its count
    is known, which saves one of the three tokenizer calls a short document costs."""
    while end - start > 1:
        first, last = tokens.offsets[start][0], tokens.end_char(text, end)
        whole = (first, last) == (tokens.segment_start, tokens.segment_end)
        if (tokens.count if whole else count_tokens(tokenizer, text[first:last])) <= limit:
            break
        earlier = [i for i in range(end - 1, start, -1) if tokens.word_starts[i]]
        end = earlier[0] if earlier else end - 1
    return end


def _char_limited(start: int, end: int) -> Iterator[tuple[int, int]]:
    """Split a span longer than MAX_CHUNK_CHARS (one giant unknown "word") so every chunk fits the text field."""
    while end - start > MAX_CHUNK_CHARS:
        yield start, start + MAX_CHUNK_CHARS
        start += MAX_CHUNK_CHARS
    yield start, end


def _next_start(tokens: _Tokens, start: int, end: int, overlap: int) -> int:
    """Step back `overlap` tokens from `end`, then forward to a word start, always moving past `start`."""
    candidate = max(end - overlap, start + 1)
    while candidate < end and not tokens.word_starts[candidate]:
        candidate += 1
    return candidate
