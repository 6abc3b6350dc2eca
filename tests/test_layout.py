"""Pages and headings: each chunk records the pages it spans and the section it starts in, chunks prefer to end
before a heading, BM25 reads the heading path with the title, and citations carry both. Real model, real Milvus Lite."""

from __future__ import annotations

from pathlib import Path

import pytest

import semsearch
from semsearch.chunking import split_document
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.layout import Layout, Page, Section, sections_from_headings
from semsearch.settings import Settings
from semsearch.store.schema import keyword_text
from tests.document_files import make_pptx
from tests.test_loaders import make_pdf

LAYOUT = Layout(
    pages=(Page(0, 100, 1), Page(100, 250, 2), Page(250, 300, 3)),
    sections=(Section(0, ("guide",)), Section(120, ("guide", "Install")), Section(260, ("guide", "Use"))),
)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, 50, {"page_start": 1, "page_end": 1, "heading_path": "guide"}),
        (90, 110, {"page_start": 1, "page_end": 2, "heading_path": "guide"}),
        (130, 280, {"page_start": 2, "page_end": 3, "heading_path": "guide > Install"}),
        (260, 300, {"page_start": 3, "page_end": 3, "heading_path": "guide > Use"}),
    ],
)
def test_a_chunk_gets_the_pages_it_overlaps_and_the_section_it_starts_in(start: int, end: int, expected: dict) -> None:
    assert LAYOUT.chunk_metadata(start, end) == expected


def test_text_before_the_first_heading_has_no_heading_path() -> None:
    assert Layout(sections=(Section(40, ("a",)),)).chunk_metadata(0, 30) == {}


def test_a_heading_closes_the_deeper_sections_before_it() -> None:
    sections = sections_from_headings([(0, 1, "a"), (5, 2, "b"), (9, 3, "c"), (14, 2, "d"), (20, 1, "e")])
    assert [s.heading_path for s in sections] == ["a", "a > b", "a > b > c", "a > d", "e"]


def test_chunks_end_before_a_heading_and_do_not_overlap_across_it(embedder: Embedder) -> None:
    tokenizer = embedder.tokenizer
    first = "Intro words about installing the package. " * 7
    text = f"{first}## Use\n\n" + "Using the package is easy and it runs well. " * 20
    heading_at = len(first)
    plain = split_document("d", text, tokenizer, 64, 16)
    aware = split_document("d", text, tokenizer, 64, 16, boundaries=[heading_at])
    assert not any(c.char_end == heading_at - 1 for c in plain)  # without the layout the cut falls elsewhere
    assert any(c.text.endswith("package.") and c.char_end <= heading_at for c in aware)
    assert any(c.char_start == heading_at for c in aware)
    assert all(c.char_end <= heading_at or c.char_start >= heading_at for c in aware)
    assert max(len(tokenizer(c.text, add_special_tokens=False)["input_ids"]) for c in aware) <= 64


def test_without_boundaries_chunking_is_unchanged(embedder: Embedder) -> None:
    text = "Plain text without any headings at all, sentence after sentence. " * 40
    assert split_document("d", text, embedder.tokenizer, 48, 8) == split_document(
        "d", text, embedder.tokenizer, 48, 8, boundaries=[]
    )


def test_keyword_text_puts_the_heading_path_behind_the_title_without_repeating_it() -> None:
    assert keyword_text("Body.", "decimal", "decimal > Quick-start tutorial") == (
        "decimal > Quick-start tutorial\n\nBody."
    )
    assert keyword_text("Quick-start tutorial\nBody.", "decimal", "decimal > Quick-start tutorial") == (
        "decimal\n\nQuick-start tutorial\nBody."
    )
    assert keyword_text("Body.", "decimal") == keyword_text("Body.", "decimal", None) == "decimal\n\nBody."


@pytest.fixture
def kb(settings: Settings, embedder: Embedder) -> semsearch.KnowledgeBase:
    return semsearch.KnowledgeBase(Engine.open(settings, create=True, embedder=embedder))


def test_pdf_hits_and_citations_carry_their_pages(kb: semsearch.KnowledgeBase, tmp_path: Path) -> None:
    pages = [
        "Whales sing songs that travel far under the ocean.",
        "Bees dance to tell the hive where the flowers are.",
        "Otters hold hands while they sleep on the water.",
    ]
    report = kb.add_files([str(make_pdf(tmp_path / "animals.pdf", pages, "Animals"))])
    assert report.failures == []
    [hit] = kb.search("how do otters sleep", top_k=1).results
    assert hit.metadata["page_start"] <= 3 <= hit.metadata["page_end"]
    citation = kb.context("where do otters sleep?", token_budget=200).passages[0].citation
    assert citation.page_start is not None and citation.page_start <= 3 <= citation.page_end


def test_slides_are_cited_by_slide_number_and_title(kb: semsearch.KnowledgeBase, tmp_path: Path) -> None:
    filler = [f"Point {n}: quarterly budget figures, office supplies and meeting schedules." for n in range(6)]
    slides = [(f"Topic {n}", filler) for n in range(1, 4)]  # each slide about half a chunk long
    slides.append(("Seashells", ["Hermit crabs borrow empty snail shells as homes.", *filler]))
    # The id (the citation's source) relative to tmp_path: its tokens count against the budget, and the temp dir's
    # own path is longer under pytest-xdist (.../popen-gw1/...) or another TMPDIR.
    kb.add_files([str(make_pptx(tmp_path / "deck.pptx", slides))], base=tmp_path)
    answer = kb.context("which animal lives in a borrowed shell?", token_budget=80, mode="dense")
    citation = answer.passages[0].citation
    assert (citation.page_start, citation.heading_path) == (4, "Seashells")
    assert "(section: Seashells; page 4)" in answer.context


def test_keyword_search_finds_a_chunk_by_its_section_heading(kb: semsearch.KnowledgeBase, tmp_path: Path) -> None:
    filler = "This paragraph talks about general matters of configuration and setup. " * 25  # over two chunks
    text = f"# Handbook\n\n{filler}\n\n## Zygomorphic widgets\n\n{filler}\n\nThe end.\n"
    (tmp_path / "handbook.md").write_text(text, encoding="utf-8")
    kb.add_files([str(tmp_path / "handbook.md")])
    hits = kb.search("zygomorphic", mode="keyword", top_k=10).results
    assert hits and all(h.metadata.get("heading_path") == "Handbook > Zygomorphic widgets" for h in hits)
    assert any("Zygomorphic" not in h.text for h in hits)  # found by its heading alone
