"""Chunking with the real tokenizer: chunks fit the model, map back to the source, cover it, and overlap as asked."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from semsearch.chunking import SEGMENT_CHARS, Chunk, content_hash, split_document
from semsearch.embedder import Embedder
from semsearch.settings import DEFAULT_MODEL

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"
VOCABULARY_TEXT = """
the of and to in is was for on that with as by it at from an were are which this be or has not but
semantic vector milvus embedding chunk retrieval tokenizer sentence document
"""
VOCABULARY = VOCABULARY_TEXT.split()
SOFT_HYPHENATED = [
    "in\xadter\xadna\xadtion\xadal\xadi\xadza\xadtion",
    "hy\xadphen\xadat\xadion",
    "ty\xadpo\xadgraph\xady",
    "com\xadpu\xadter",
    "vec\xadtor",
    "da\xadta\xadbase",
    "em\xadbed\xadding",
    "se\xadman\xadtic",
    "re\xadtriev\xadal",
]


def _sentences(n_chars: int, seed: int = 0) -> str:
    """Prose-like text of about `n_chars`: sentences of 5-30 words, some paragraph breaks, varied sentence ends."""
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    while size < n_chars:
        words = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(5, 30)))
        part = words.capitalize() + rng.choice([". ", ". ", "? ", "! ", "; ", ".\n\n"])
        parts.append(part)
        size += len(part)
    return "".join(parts)


def _sample_library() -> str:
    return "\n\n".join(p.read_text(encoding="utf-8") for p in sorted((SAMPLE_DATA / "library").iterdir()))


#: Long texts of every shape the chunker has to survive, built lazily so ids stay readable in the report.
LONG_TEXTS: dict[str, Callable[[], str]] = {
    "sample-modules-csv": lambda: (SAMPLE_DATA / "modules.csv").read_text(encoding="utf-8"),
    "sample-glossary-jsonl": lambda: (SAMPLE_DATA / "glossary.jsonl").read_text(encoding="utf-8"),
    "sample-library-concatenated": _sample_library,
    "many-sentences": lambda: _sentences(60_000),
    "no-sentence-ends": lambda: " ".join(random.Random(1).choice(VOCABULARY) for _ in range(6_000)),
    "long-urls": lambda: " ".join(f"https://example.com/{'path-segment_' * 12}{i}?q={i}&lang=en" for i in range(300)),
    "words-longer-than-100-chars": lambda: " ".join(("x" * 150 + str(i)) for i in range(500)),
    "one-huge-word": lambda: "abcdefgh" * 5_000,
    "cjk-with-punctuation": lambda: "日本語のテキストです。検索エンジンは文書を分割します。" * 400,
    "cjk-without-punctuation": lambda: "漢字検索" * 2_000,
    "korean": lambda: "대한민국의 수도는 서울입니다. 한국어는 아름다운 언어입니다. " * 300,
    "emoji-and-mixed-scripts": lambda: "Ünïcödé ß 😀👍🏽 مرحبا بالعالم. नमस्ते दुनिया! Привет, мир. " * 400,
    "many-newlines": lambda: "\n" * 5_000 + "word\n" * 3_000 + "\n\n\n".join(["para"] * 500),
    "tabs-and-carriage-returns": lambda: "\tcolumn\tvalue\r\n" * 3_000,
    "decomposed-accents": lambda: "re\u0301sume\u0301 cafe\u0301s nai\u0308vete\u0301 " * 600,
}

#: Texts whose invisible characters (soft hyphens, zero-width spaces) once let a chunk start mid-word.
OVER_LIMIT_TEXTS: dict[str, Callable[[], str]] = {
    "soft-hyphens": lambda: " ".join(itertools.islice(itertools.cycle(SOFT_HYPHENATED), 3_000)),
    "zero-width-spaces": lambda: " ".join(
        w.replace("\xad", "\u200b") for w in itertools.islice(itertools.cycle(SOFT_HYPHENATED), 3_000)
    ),
}

LIMIT_CASES = [pytest.param(build, id=name) for name, build in {**LONG_TEXTS, **OVER_LIMIT_TEXTS}.items()]


@pytest.fixture(scope="module")
def max_tokens(embedder: Embedder) -> int:
    return embedder.max_seq_length - embedder.special_tokens


def split(embedder: Embedder, text: str, max_tokens: int, overlap: int = 32, doc_id: str = "doc") -> list[Chunk]:
    return split_document(doc_id, text, embedder.tokenizer, max_tokens, overlap)


def uncovered_characters(text: str, chunks: list[Chunk]) -> list[tuple[int, str]]:
    """Non-whitespace characters of `text` that no chunk's span contains."""
    covered = bytearray(len(text))
    for c in chunks:
        covered[c.char_start : c.char_end] = b"\x01" * (c.char_end - c.char_start)
    return [(i, ch) for i, ch in enumerate(text) if not covered[i] and not ch.isspace()]


# -- the model limit --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("build", LIMIT_CASES)
@pytest.mark.parametrize("overlap", [0, 32])
def test_no_chunk_exceeds_the_model_max_sequence_length_with_special_tokens(
    embedder: Embedder, max_tokens: int, build: Callable[[], str], overlap: int
) -> None:
    text = build()
    chunks = split(embedder, text, max_tokens, overlap)
    assert chunks
    too_long = [(c.chunk_index, n) for c in chunks if (n := embedder.count_tokens(c.text)) > embedder.max_seq_length]
    assert too_long == [], f"chunks over {embedder.max_seq_length} tokens: {too_long[:5]}"


@pytest.mark.parametrize("chunk_tokens", [16, 64, 128])
def test_chunks_respect_a_smaller_configured_chunk_size(embedder: Embedder, chunk_tokens: int) -> None:
    text = _sentences(8_000, seed=chunk_tokens)
    chunks = split(embedder, text, chunk_tokens, overlap=chunk_tokens // 4)
    sizes = [embedder.count_tokens(c.text) - embedder.special_tokens for c in chunks]
    assert len(chunks) > 1
    assert max(sizes) <= chunk_tokens


# -- spans and coverage -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("build", [pytest.param(build, id=name) for name, build in LONG_TEXTS.items()])
def test_every_chunk_is_exactly_its_character_span_of_the_source(
    embedder: Embedder, max_tokens: int, build: Callable[[], str]
) -> None:
    text = build()
    for c in split(embedder, text, max_tokens):
        assert 0 <= c.char_start < c.char_end <= len(text)
        assert text[c.char_start : c.char_end] == c.text


@pytest.mark.parametrize("overlap", [0, 32])
@pytest.mark.parametrize(
    "build",
    [pytest.param(build, id=name) for name, build in LONG_TEXTS.items()],
)
def test_chunks_cover_every_non_whitespace_character(
    embedder: Embedder, max_tokens: int, build: Callable[[], str], overlap: int
) -> None:
    text = build()
    assert uncovered_characters(text, split(embedder, text, max_tokens, overlap)) == []


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Il est allé au cafe\u0301", id="decomposed-accent-at-the-end"),
        pytest.param("I \u2764\ufe0f", id="emoji-variation-selector-at-the-end"),
    ],
)
def test_a_trailing_combining_mark_stays_with_its_character(embedder: Embedder, max_tokens: int, text: str) -> None:
    assert uncovered_characters(text, split(embedder, text, max_tokens)) == []


# -- overlap ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlap", [8, 32, 64])
def test_consecutive_chunks_overlap_when_overlap_is_positive(embedder: Embedder, max_tokens: int, overlap: int) -> None:
    text = _sentences(30_000)
    chunks = split(embedder, text, max_tokens, overlap)
    assert len(chunks) > 5
    for before, after in itertools.pairwise(chunks):
        assert before.char_start < after.char_start < before.char_end


def test_consecutive_chunks_do_not_overlap_when_overlap_is_zero(embedder: Embedder, max_tokens: int) -> None:
    text = _sentences(30_000)
    chunks = split(embedder, text, max_tokens, overlap=0)
    assert len(chunks) > 5
    for before, after in itertools.pairwise(chunks):
        assert before.char_end <= after.char_start


def test_a_larger_overlap_shares_more_text_between_neighbours(embedder: Embedder, max_tokens: int) -> None:
    text = _sentences(30_000)

    def mean_shared_chars(overlap: int) -> float:
        chunks = split(embedder, text, max_tokens, overlap)
        shared = [max(0, a.char_end - b.char_start) for a, b in itertools.pairwise(chunks)]
        return sum(shared) / len(shared)

    assert mean_shared_chars(0) == 0
    assert 0 < mean_shared_chars(16) < mean_shared_chars(64)


def test_overlap_is_kept_across_the_internal_tokenisation_segments(embedder: Embedder, max_tokens: int) -> None:
    text = _sentences(3 * SEGMENT_CHARS)
    chunks = split(embedder, text, max_tokens, overlap=32)
    not_overlapping = [b.chunk_index for a, b in itertools.pairwise(chunks) if b.char_start >= a.char_end]
    assert not_overlapping == []


def test_cjk_text_without_punctuation_still_overlaps(embedder: Embedder, max_tokens: int) -> None:
    chunks = split(embedder, "漢字検索" * 2_000, max_tokens, overlap=32)
    assert len(chunks) > 1
    for before, after in itertools.pairwise(chunks):
        assert after.char_start < before.char_end


# -- ids, hashes, degenerate inputs -----------------------------------------------------------------------------


def test_chunk_ids_are_doc_id_hash_index_and_deterministic(embedder: Embedder, max_tokens: int) -> None:
    text = _sentences(10_000)
    first = split(embedder, text, max_tokens, doc_id="notes/a.md")
    second = split(embedder, text, max_tokens, doc_id="notes/a.md")
    assert [c.chunk_index for c in first] == list(range(len(first)))
    assert [c.id for c in first] == [f"notes/a.md#{i}" for i in range(len(first))]
    assert first == second


def test_content_hash_depends_on_text_and_model_only() -> None:
    base = content_hash("the same words", DEFAULT_MODEL)
    assert content_hash("the same words", DEFAULT_MODEL) == base
    assert content_hash("the same words.", DEFAULT_MODEL) != base
    assert content_hash("The same words", DEFAULT_MODEL) != base
    assert content_hash("the same words", "sentence-transformers/all-mpnet-base-v2") != base


def test_the_same_text_hashes_alike_wherever_it_appears(embedder: Embedder, max_tokens: int) -> None:
    text = "A short paragraph that fits one chunk."
    here = split(embedder, text, max_tokens, doc_id="one")[0]
    there = split(embedder, "\n\n   " + text, max_tokens, doc_id="other")[0]
    assert (here.doc_id, here.char_start) != (there.doc_id, there.char_start)
    assert content_hash(here.text, DEFAULT_MODEL) == content_hash(there.text, DEFAULT_MODEL)


@pytest.mark.parametrize(
    "text", ["Hello world.", "  \n  A short note with leading and trailing whitespace.\n\n", "日本語の短い文。", "x"]
)
def test_a_short_text_gives_exactly_one_chunk_of_its_stripped_text(
    embedder: Embedder, max_tokens: int, text: str
) -> None:
    chunks = split(embedder, text, max_tokens)
    assert len(chunks) == 1
    assert chunks[0].text == text.strip()
    assert chunks[0].id == "doc#0"


@pytest.mark.parametrize("text", ["", " ", "\n\n\t \r\n", "\u00a0\u3000 "])
def test_whitespace_only_text_gives_no_chunks(embedder: Embedder, max_tokens: int, text: str) -> None:
    assert split(embedder, text, max_tokens) == []


@pytest.fixture(scope="module")
def megabyte_text() -> str:
    return _sentences(1_000_000, seed=7)


def test_a_one_megabyte_document_is_chunked_within_the_limit(
    embedder: Embedder, max_tokens: int, megabyte_text: str
) -> None:
    chunks = split(embedder, megabyte_text, max_tokens)
    assert len(megabyte_text) >= 1_000_000
    assert len(chunks) > 1_000
    assert max(embedder.count_tokens(c.text) for c in chunks) <= embedder.max_seq_length
    assert all(megabyte_text[c.char_start : c.char_end] == c.text for c in chunks)
    assert uncovered_characters(megabyte_text, chunks) == []
    assert [c.chunk_index for c in chunks] == list(range(len(chunks)))
