"""Tokenizing for the chunker and the keyword windows, straight through a fast tokenizer's Rust backend.

Ingest tokenizes every document three times (its spans, the fit check of each chunk, its keyword windows), and a
re-ingest of an unchanged table still does all of it to compare content hashes: for a table of short rows that is
most of the work. Through the Hugging Face wrapper (`tokenizer(text, ...)`) each call pays about twice the Rust
encode itself in Python (argument checks, `BatchEncoding` conversion, length warnings), so for a short row the
wrapper costs more than the tokenizing. These helpers call the backend as the wrapper would (no truncation, no
padding, its `split_special_tokens`), so the tokens are the same; tokenizers without a Rust backend go through the
wrapper as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


@dataclass(frozen=True)
class Encoded:
    """One text's tokens (no special tokens): ids, character offsets, and word ids (None where the tokenizer
    does not know words)."""

    ids: list[int]
    offsets: list[tuple[int, int]]
    word_ids: list[int | None] | None


def encode(tokenizer: PreTrainedTokenizerBase, texts: list[str]) -> list[Encoded]:
    """Each text's tokens, without special tokens and untruncated, as `tokenizer(texts, ...)` gives them."""
    backend = _backend(tokenizer)
    if backend is not None:
        return [Encoded(e.ids, e.offsets, e.word_ids) for e in backend.encode_batch(texts, add_special_tokens=False)]
    batch = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False)
    return [
        Encoded(batch["input_ids"][i], [tuple(o) for o in batch["offset_mapping"][i]], _word_ids(batch, i))
        for i in range(len(texts))
    ]


def encode_one(tokenizer: PreTrainedTokenizerBase, text: str) -> Encoded:
    """One text's tokens (`encode` of one text, without the batch)."""
    backend = _backend(tokenizer)
    if backend is None:
        return encode(tokenizer, [text])[0]
    e = backend.encode(text, add_special_tokens=False)
    return Encoded(e.ids, e.offsets, e.word_ids)


def count_tokens(tokenizer: PreTrainedTokenizerBase, text: str) -> int:
    """Tokens in `text`, special tokens not counted."""
    backend = _backend(tokenizer)
    if backend is None:
        return len(tokenizer(text, add_special_tokens=False, truncation=False, verbose=False)["input_ids"])
    return len(backend.encode(text, add_special_tokens=False).ids)


def _backend(tokenizer: Any) -> Any | None:
    """The Rust tokenizer behind a fast Hugging Face tokenizer, set up as the wrapper sets it for an untruncated,
    unpadded call (the setting is the tokenizer's state, and each thread has its own copy: `Embedder.tokenizer`);
    None for any other tokenizer."""
    if not getattr(tokenizer, "is_fast", False):
        return None
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not hasattr(backend, "encode_batch"):
        return None
    if backend.truncation is not None:
        backend.no_truncation()
    if backend.padding is not None:
        backend.no_padding()
    split = bool(getattr(tokenizer, "split_special_tokens", False))
    if getattr(backend, "encode_special_tokens", split) != split:
        backend.encode_special_tokens = split
    return backend


def _word_ids(batch: Any, i: int) -> list[int | None] | None:
    try:
        return batch.word_ids(i)
    except (ValueError, AttributeError):  # slow tokenizers do not know words
        return None
