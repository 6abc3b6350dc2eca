"""Two granularities: BM25 reads a window of the source centred on each chunk, the vector and the citation only
the chunk (`semsearch.keywords`)."""

from __future__ import annotations

import pytest

import semsearch
from semsearch.chunking import split_document
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.indexer import Document, Indexer
from semsearch.keywords import window_spans
from semsearch.ranking import Mode
from semsearch.searcher import SearchOptions
from semsearch.settings import Settings
from semsearch.store.schema import KEYWORD_FIELD

WORDS = [
    *("river", "stone", "garden", "window", "market", "ladder", "pencil", "blanket", "harbor", "lantern"),
    *("meadow", "engine", "bottle", "carpet", "forest", "candle", "mirror", "valley", "basket", "thunder"),
    *("orchard", "needle", "saddle", "compass", "violin"),
]


def filler(n: int, seed: int) -> str:
    """`n` plain sentences of common words, different for each seed."""
    return " ".join(
        f"The {WORDS[(seed + i) % len(WORDS)]} sat near the {WORDS[(seed * 7 + i * 3) % len(WORDS)]} all day."
        for i in range(n)
    )


#: Its two rare terms lie about 250 tokens apart: no 144-token chunk holds both, its 320-token windows do.
STRADDLING = Document(
    id="straddling",
    text=f"{filler(2, 1)} A zyzzyva crawled past. {filler(20, 2)} Then a quokka appeared. {filler(6, 3)}",
    source="test",
)
#: Each holds one of the terms, in a text shorter than a chunk: BM25 over chunks alone prefers them.
OTHERS = [
    Document(id="weevil", text=f"A zyzzyva is a weevil. {filler(6, 4)}", source="test"),
    Document(id="marsupial", text=f"A quokka is a marsupial. {filler(6, 5)}", source="test"),
    *(Document(id=f"plain-{n}", text=filler(12, 10 + n), source="test") for n in range(4)),
]
QUERY = "zyzzyva quokka"


def _spans(
    embedder: Embedder, text: str, chunk_tokens: int = 144, overlap: int = 32, boundaries: tuple[int, ...] = ()
) -> list[tuple[int, int]]:
    chunks = split_document("d", text, embedder.tokenizer, chunk_tokens, overlap, boundaries)
    return [(c.char_start, c.char_end) for c in chunks]


def _tokens(embedder: Embedder, text: str) -> int:
    return len(embedder.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])


def test_each_window_holds_its_chunk_within_the_window_size(embedder: Embedder) -> None:
    text = filler(80, 0)
    spans = _spans(embedder, text)
    windows = window_spans(text, spans, embedder.tokenizer, 320)
    assert len(spans) > 4
    for (start, end), (ws, we) in zip(spans, windows, strict=True):
        assert ws <= start and end <= we
        assert 300 <= _tokens(embedder, text[ws:we]) <= 320
        assert ws == 0 or text[ws - 1] == " "  # whole words only
        assert we == len(text) or not text[we].isalnum()
    middle = len(spans) // 2
    (start, end), (ws, we) = spans[middle], windows[middle]
    before, after = _tokens(embedder, text[ws:start]), _tokens(embedder, text[end:we])
    assert abs(before - after) <= 10  # centred on the chunk


def test_a_chunk_at_an_edge_takes_its_whole_window_from_the_other_side(embedder: Embedder) -> None:
    text = filler(80, 0)
    spans = _spans(embedder, text)
    windows = window_spans(text, spans, embedder.tokenizer, 320)
    assert windows[0][0] == 0 and _tokens(embedder, text[: windows[0][1]]) >= 300
    assert windows[-1][1] == len(text) and _tokens(embedder, text[windows[-1][0] :]) >= 300


def test_a_window_stops_at_a_section_start(embedder: Embedder) -> None:
    text = f"{filler(30, 0)}\n\n## Next\n\n{filler(30, 1)}"
    heading = text.index("## Next")
    spans = _spans(embedder, text, boundaries=(heading,))
    for (start, end), (ws, we) in zip(
        spans, window_spans(text, spans, embedder.tokenizer, 320, [heading]), strict=True
    ):
        assert (we <= heading) if end <= heading else (ws >= heading), (start, end, ws, we)


@pytest.mark.parametrize("window", [0, 100])
def test_no_window_or_one_no_wider_than_the_chunk_keeps_the_chunk(embedder: Embedder, window: int) -> None:
    text = filler(40, 0)
    spans = _spans(embedder, text)
    assert window_spans(text, spans, embedder.tokenizer, window) == spans


def test_a_document_shorter_than_the_window_is_one_window_for_all_its_chunks(embedder: Embedder) -> None:
    text = filler(14, 0)
    spans = _spans(embedder, text, chunk_tokens=64, overlap=16)
    assert len(spans) > 2
    assert set(window_spans(text, spans, embedder.tokenizer, 320)) == {(0, len(text))}


def _keyword_first(engine: Engine) -> str:
    hits = engine.searcher.search(QUERY, SearchOptions(mode=Mode.KEYWORD, top_k=5, group_by_document=True)).hits
    return hits[0].doc_id


def test_keyword_search_finds_terms_that_straddle_two_chunks_through_the_window(engine: Engine) -> None:
    stats = engine.indexer.index([STRADDLING, *OTHERS])
    assert stats.chunks > len(OTHERS) + 1  # the straddling document has several chunks
    chunks = engine.indexer.chunk(STRADDLING)
    assert not any("zyzzyva" in c.text and "quokka" in c.text for c in chunks)
    assert _keyword_first(engine) == "straddling"
    hits = engine.searcher.search("quokka", SearchOptions(mode=Mode.KEYWORD, top_k=10)).hits
    mine = [h for h in hits if h.doc_id == "straddling"]
    assert any("quokka" not in h.text for h in mine)  # found by its window, not its own text
    for hit in mine:  # and cited by its own text and offsets, not the window's
        assert hit.text == STRADDLING.text[hit.char_start : hit.char_end]
        assert hit.text == chunks[hit.chunk_index].text


@pytest.mark.parametrize("where", ["middle", "end"])
def test_a_match_is_cited_by_the_chunk_that_holds_the_word_not_a_neighbour_whose_window_does(
    engine: Engine, where: str
) -> None:
    """A word in chunk i is in the windows of i-1 and i+1 too; their scores (almost) tie, and the chunk that holds
    the word must come first, at the middle of a document and at its end (where the last window reaches back)."""
    rare = f"{filler(14, 6)} A wombat slept. {filler(14, 7)}" if where == "middle" else f"{filler(44, 6)} A wombat."
    doc = Document(id="long", text=rare, source="test")
    engine.indexer.index([doc, *OTHERS])
    assert len(engine.indexer.chunk(doc)) >= 3
    hits = engine.searcher.search("wombat", SearchOptions(mode=Mode.KEYWORD, top_k=5)).hits
    assert hits[0].doc_id == "long"
    assert "wombat" in hits[0].text
    assert [h.raw_score for h in hits] == sorted((h.raw_score for h in hits), reverse=True)


def test_without_windows_the_straddling_document_loses_to_those_holding_one_term(
    settings: Settings, embedder: Embedder
) -> None:
    narrow = settings.model_copy(update={"keyword_window_tokens": 0})
    engine = Engine.open(narrow, create=True, embedder=embedder)
    try:
        engine.indexer.index([STRADDLING, *OTHERS])
        assert _keyword_first(engine) in {"weevil", "marsupial"}
    finally:
        engine.close()


def _keyword_texts(engine: Engine, doc_id: str) -> dict[int, str]:
    rows = engine.store.chunks_of([doc_id], ["chunk_index", KEYWORD_FIELD])
    return {row["chunk_index"]: row[KEYWORD_FIELD] for row in rows}


def test_reingest_of_unchanged_documents_embeds_and_rewrites_nothing(engine: Engine) -> None:
    first = engine.indexer.index([STRADDLING, *OTHERS])
    again = engine.indexer.index([STRADDLING, *OTHERS])
    assert first.embedded == first.chunks > 0
    assert (again.embedded, again.unchanged) == (0, first.chunks)


def test_a_new_window_size_rewrites_keyword_texts_without_embedding(engine: Engine, settings: Settings) -> None:
    engine.indexer.index([STRADDLING, *OTHERS])
    before = _keyword_texts(engine, "straddling")
    narrow = Indexer(engine.store, engine.embedder, settings.model_copy(update={"keyword_window_tokens": 0}))
    stats = narrow.index([STRADDLING, *OTHERS])
    assert stats.embedded == 0 and stats.unchanged < stats.chunks
    after = _keyword_texts(engine, "straddling")
    assert after != before and all(len(after[i]) < len(before[i]) for i in after)
    assert _keyword_first(engine) in {"weevil", "marsupial"}


def test_editing_one_chunk_refreshes_its_neighbours_windows_without_embedding_them(engine: Engine) -> None:
    engine.indexer.index([STRADDLING])
    before = _keyword_texts(engine, "straddling")
    edited = Document(id="straddling", text=STRADDLING.text.replace("Then a quokka", "Then a wombat"), source="test")
    stats = engine.indexer.index([edited])
    old_chunks, new_chunks = engine.indexer.chunk(STRADDLING), engine.indexer.chunk(edited)
    changed = sum(a.text != b.text for a, b in zip(old_chunks, new_chunks, strict=True))
    assert stats.embedded == changed < len(new_chunks)
    after = _keyword_texts(engine, "straddling")
    assert all("quokka" not in text for text in after.values())
    assert sum(before[i] != after[i] for i in after) > changed  # unembedded neighbours got the edit too


def test_chunks_are_written_reingested_and_cited_on_lite_and_server(kb: semsearch.KnowledgeBase) -> None:
    """On a server without BM25 (Milvus 2.3) there is no keyword text to write; the same rows go in."""
    first = kb.add([STRADDLING, *OTHERS])
    again = kb.add([STRADDLING, *OTHERS])
    assert first.embedded == first.chunks and (again.embedded, again.unchanged) == (0, first.chunks)
    texts = {doc.id: doc.text for doc in [STRADDLING, *OTHERS]}
    modes = ["dense", "keyword", "hybrid"] if kb.engine.store.keyword_ready else ["dense"]
    for mode in modes:
        hits = kb.search(QUERY, mode=mode, top_k=20).results
        assert all(hit.text == texts[hit.doc_id][hit.char_start : hit.char_end] for hit in hits)
    if kb.engine.store.keyword_ready:
        assert kb.search(QUERY, mode="keyword", top_k=1).results[0].doc_id == "straddling"
