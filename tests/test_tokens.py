"""The chunker's tokenizing through the Rust backend gives exactly what the Hugging Face call gives, whatever mode
the tokenizer was last left in, so chunk spans and content hashes do not change with the faster path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from semsearch.embedder import Embedder
from semsearch.tokens import count_tokens, encode, encode_one

TEXTS = [
    "Ticket 7\n\nPrinter network login error.",
    "re\u0301sume\u0301 cafe\u0301 x\u200by Stra\xdfe \ufb01le 漢字 🙂👍🏽",
    "[CLS] a [SEP] b [MASK] c [PAD]",
    "word " * 700,  # far over the model's 256-token window: never truncated
    "",
]


def _wrapper(tokenizer: Any, texts: list[str]) -> list[tuple[list[int], list[tuple[int, int]], list[int | None]]]:
    batch = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False)
    return [
        (batch["input_ids"][i], [tuple(o) for o in batch["offset_mapping"][i]], batch.word_ids(i))
        for i in range(len(texts))
    ]


@pytest.fixture
def tokenizer(embedder: Embedder) -> Any:
    return copy.deepcopy(embedder.tokenizer)


def test_the_backend_gives_the_tokenizer_calls_tokens_offsets_and_words(tokenizer: Any) -> None:
    assert tokenizer.is_fast  # the default model's tokenizer takes the fast path
    expected = _wrapper(tokenizer, TEXTS)
    assert [(e.ids, e.offsets, e.word_ids) for e in encode(tokenizer, TEXTS)] == expected
    assert [(e.ids, e.offsets, e.word_ids) for e in (encode_one(tokenizer, t) for t in TEXTS)] == expected
    assert [count_tokens(tokenizer, t) for t in TEXTS] == [len(ids) for ids, _, _ in expected]
    assert count_tokens(tokenizer, TEXTS[3]) == 700


def test_a_tokenizer_left_truncating_and_padding_is_still_read_whole(tokenizer: Any) -> None:
    """The model's own calls leave the shared backend truncating at 256 and padding (its batches do)."""
    tokenizer(["short", TEXTS[3]], padding=True, truncation=True, max_length=16)
    assert tokenizer.backend_tokenizer.truncation is not None
    assert count_tokens(tokenizer, TEXTS[3]) == 700
    assert encode(tokenizer, ["a b", "c"])[1].ids == tokenizer("c", add_special_tokens=False)["input_ids"]


class _NotFast:
    """A tokenizer without a Rust backend: the helpers go through its call, as the chunker did before."""

    is_fast = False

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner(*args, **kwargs)


def test_a_tokenizer_without_a_backend_goes_through_its_call(tokenizer: Any) -> None:
    slow = _NotFast(tokenizer)
    assert [(e.ids, e.offsets, e.word_ids) for e in encode(slow, TEXTS)] == _wrapper(tokenizer, TEXTS)
    assert count_tokens(slow, TEXTS[3]) == 700
