"""The document formats of issue 16 on real files: Word, PowerPoint, Excel, OpenDocument, EPUB, reStructuredText and
notebooks keep their structure; Markdown front matter becomes metadata; HTML keeps its main content; broken, encrypted
and oversized files are refused with a reason."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import pytest

from ingest.loaders import TableOptions, load_file
from ingest.pipeline import ingest_files
from ingest.readers import LoadError
from ingest.sinks import EngineSink
from ingest.sources import discover, source_id
from semsearch.engine import Engine
from semsearch.indexer import Document
from semsearch.knowledge_base import KnowledgeBase
from tests.document_files import make_docx, make_epub, make_ipynb, make_odt, make_pptx, make_xlsx

HTML_FIXTURES = Path(__file__).parent / "data" / "html"
DEFAULTS = TableOptions()


def load_one(path: Path, options: TableOptions = DEFAULTS) -> Document:
    [doc] = load_file(path, options)
    return doc


def headings(doc: Document) -> list[str]:
    assert doc.layout is not None
    return [section.heading_path for section in doc.layout.sections]


def test_a_word_document_keeps_headings_lists_and_table_rows(tmp_path: Path) -> None:
    doc = load_one(make_docx(tmp_path / "decimal.docx"))
    assert doc.metadata == {"format": "docx", "title": "Decimal arithmetic"}
    assert headings(doc) == ["decimal", "decimal > Quick-start tutorial", "decimal > Contexts"]
    assert "- Exact representation of money amounts\n- Rounding modes such as ROUND_HALF_EVEN" in doc.text
    assert "signal | raised when\nInexact | a result was rounded" in doc.text
    assert doc.text.index("Quick-start") < doc.text.index("Contexts")


def test_a_slide_deck_is_one_page_per_slide_headed_by_its_title(tmp_path: Path) -> None:
    doc = load_one(make_pptx(tmp_path / "random.pptx"))
    assert doc.metadata == {"format": "pptx", "title": "Random numbers", "slides": 2}
    assert doc.layout is not None
    assert [page.number for page in doc.layout.pages] == [1, 2]
    second = doc.layout.pages[1]
    assert doc.text[second.start : second.end].startswith("Simulations\n\n- Shuffle a deck in place")
    assert doc.text.count("Random numbers") == 1  # the title shape is the heading, not repeated as text
    assert headings(doc) == ["Random numbers", "Simulations"]


def test_a_workbook_is_a_section_per_sheet_and_a_line_per_row(tmp_path: Path) -> None:
    doc = load_one(make_xlsx(tmp_path / "modules.xlsx"))
    assert doc.metadata["format"] == "xlsx" and doc.metadata["sheets"] == 2
    assert "module | purpose\nsched | event scheduler\ncopy | shallow and deep copies" in doc.text
    assert headings(doc) == ["Modules", "Numbers"]
    assert "pi | 3.14159" in doc.text


def test_an_opendocument_text_keeps_headings_lists_and_tables(tmp_path: Path) -> None:
    doc = load_one(make_odt(tmp_path / "copy.odt"))
    assert doc.metadata == {"format": "odt", "title": "copy"}
    assert headings(doc) == ["copy", "copy > Deep copies"]
    assert "deepcopy copies nested objects." in doc.text  # <text:s/> is a space
    assert "- copy.copy(x)" in doc.text and "copy | shallow" in doc.text


def test_an_epub_reads_its_chapters_in_spine_order_without_navigation(tmp_path: Path) -> None:
    chapters = [("sched", "An event scheduler."), ("copy", "Shallow and deep copies.")]
    doc = load_one(make_epub(tmp_path / "library.epub", chapters))
    assert doc.metadata == {"format": "epub", "title": "The Python Library"}
    assert doc.text == "sched\n\nAn event scheduler.\n\ncopy\n\nShallow and deep copies."
    assert headings(doc) == ["sched", "copy"]


def test_restructured_text_keeps_sections_and_runs_no_includes(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-CONTENT", encoding="utf-8")
    rst = (
        "decimal\n=======\n\nFast, correctly rounded arithmetic.\n\nQuick-start tutorial\n--------------------\n\n"
        "* set the precision\n* create decimals\n\n"
        f".. include:: {secret}\n\n.. function:: getcontext()\n\n   A Sphinx-only directive.\n"
    )
    doc = load_one(_write(tmp_path / "decimal.rst", rst))
    assert doc.metadata == {"format": "rst", "title": "decimal"}
    assert headings(doc) == ["decimal", "decimal > Quick-start tutorial"]
    assert "- set the precision\n- create decimals" in doc.text
    assert "SECRET-CONTENT" not in doc.text and "include" not in doc.text


def test_a_notebook_keeps_markdown_and_code_cells_and_skips_outputs(tmp_path: Path) -> None:
    cells = [("markdown", "# Random\nSimulate dice.\n## Rolling"), ("code", "random.randint(1, 6)"), ("raw", "RAW")]
    doc = load_one(make_ipynb(tmp_path / "dice.ipynb", cells))
    assert doc.metadata == {"format": "ipynb", "title": "Random"}
    assert doc.text == "Random\n\nSimulate dice.\n\nRolling\n\nrandom.randint(1, 6)"
    assert headings(doc) == ["Random", "Random > Rolling"]


def test_markdown_headings_outside_code_fences_are_its_sections(tmp_path: Path) -> None:
    text = "# decimal\n\nIntro.\n\n## Quick-start tutorial\n\n```python\n# not a heading\n```\n\n### Rounding\n"
    doc = load_one(_write(tmp_path / "decimal.md", text))
    assert doc.text == text
    assert headings(doc) == ["decimal", "decimal > Quick-start tutorial", "decimal > Quick-start tutorial > Rounding"]
    assert doc.layout is not None and doc.text[doc.layout.sections[1].start :].startswith("## Quick-start")


# -- front matter -----------------------------------------------------------------------------------------------


def test_yaml_front_matter_becomes_metadata_and_leaves_the_text(tmp_path: Path) -> None:
    text = "---\ntitle: Money\ntags: [decimal, finance]\ndate: 2024-05-01\ndraft: false\n---\n\n# decimal\n\nCents.\n"
    doc = load_one(_write(tmp_path / "money.md", text))
    assert doc.text == "# decimal\n\nCents.\n"
    assert doc.metadata == {
        "format": "md",
        "title": "Money",
        "tags": ["decimal", "finance"],
        "date": "2024-05-01",
        "draft": False,
    }


def test_a_broken_front_matter_block_is_logged_and_the_file_reads_as_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = "---\ntitle: [unclosed\n---\n# Notes\n\nBody.\n"
    with caplog.at_level(logging.WARNING, logger="ingest.file_warnings"):
        doc = load_one(_write(tmp_path / "notes.md", text))
    assert doc.text == text and doc.metadata == {"format": "md", "title": "Notes"}
    assert "notes.md: front matter ignored" in caplog.text and "not valid YAML" in caplog.text


def test_a_broken_front_matter_block_is_a_warning_in_the_report_and_the_file_still_ingests(
    tmp_path: Path, engine: Engine
) -> None:
    broken = _write(tmp_path / "notes.md", "---\ntitle: [unclosed\n---\n# Notes\n\nBody.\n")
    odd_key = _write(tmp_path / "keys.md", "---\nbad key: 1\nauthor: Ann\n---\nText.\n")
    _write(tmp_path / "plain.md", "---\ntitle: Fine\n---\nText.\n")
    kb = KnowledgeBase(engine)
    report = kb.add_files([str(tmp_path)], base=tmp_path)
    assert report.failures == [] and report.stats.documents == 3  # warned files are ingested, not failed
    warnings = dict(report.warnings)
    assert set(warnings) == {str(broken), str(odd_key)}
    assert "front matter ignored" in warnings[str(broken)] and "not valid YAML" in warnings[str(broken)]
    assert "'bad key' dropped" in warnings[str(odd_key)]
    summary = report.to_dict()
    assert summary["failed"] == 0 and {"path": str(broken), "message": warnings[str(broken)]} in summary["warnings"]
    assert [hit.doc_id for hit in kb.search("unclosed", mode="keyword").results] == ["notes.md"]


def test_front_matter_that_is_not_a_mapping_is_ignored_and_cannot_override_the_format(tmp_path: Path) -> None:
    assert load_one(_write(tmp_path / "list.md", "---\n- a\n- b\n---\nText.\n")).text.startswith("---")
    doc = load_one(_write(tmp_path / "fmt.md", "---\nformat: pdf\nbad key: 1\nauthor: Ann\nscore: .inf\n---\nText.\n"))
    assert doc.metadata == {"format": "md", "title": "fmt", "author": "Ann", "score": "inf"}


# -- HTML main content --------------------------------------------------------------------------------------------


def test_a_sphinx_page_keeps_its_body_and_drops_the_sidebar_and_navigation() -> None:
    doc = load_one(HTML_FIXTURES / "sphinx_page.html")
    assert doc.text.startswith("sched — Event scheduler\n\nThe sched module defines a class")
    assert "enterabs(time, priority, action)" in doc.text and "Method | Runs\n\nenter | after a delay" in doc.text
    for chrome in ("sidebar-entry", "Quick search", "Navigation", "Report a Bug", "Copyright", "¶", "index"):
        assert chrome not in doc.text, chrome
    assert headings(doc) == ["sched — Event scheduler", "sched — Event scheduler > Scheduler Objects"]


def test_an_mkdocs_page_keeps_its_article_and_drops_header_footer_and_both_sidebars() -> None:
    doc = load_one(HTML_FIXTURES / "mkdocs_page.html")
    assert doc.metadata["title"] == "copy — Shallow and deep copy operations - Library notes"
    assert doc.text.startswith("copy — Shallow and deep copy operations\n\nAssignment statements")
    assert "- copy.deepcopy(x) returns a deep copy" in doc.text
    for chrome in ("primary-nav", "toc-deep-copies", "Skip to content", "Search", "Made with", "Library notes"):
        assert chrome not in doc.text, chrome


# -- bad input ----------------------------------------------------------------------------------------------------


ZIPPED = [".docx", ".pptx", ".xlsx", ".odt", ".epub"]


@pytest.mark.parametrize("suffix", ZIPPED)
def test_a_corrupt_zip_document_is_refused_with_a_reason(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(LoadError, match=rf"corrupt or not a \{suffix} file"):
        load_file(_write(tmp_path / f"broken{suffix}", b"PK\x03\x04 truncated"), DEFAULTS)


@pytest.mark.parametrize("suffix", [".docx", ".pptx", ".xlsx"])
def test_a_password_protected_office_file_is_refused_as_encrypted(tmp_path: Path, suffix: str) -> None:
    # Office saves password-protected files as OLE compound files holding the encrypted package.
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + b"EncryptedPackage"
    with pytest.raises(LoadError, match="encrypted \\(password-protected\\)"):
        load_file(_write(tmp_path / f"secret{suffix}", ole), DEFAULTS)


def test_a_zip_with_encrypted_members_is_refused(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "locked.docx")
    data = bytearray(path.read_bytes())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set bit 0 (encrypted) of each header
        at = data.find(signature)
        while at >= 0:
            data[at + flag_at] |= 1
            at = data.find(signature, at + 4)
    with pytest.raises(LoadError, match="encrypted with a password"):
        load_file(_write(path, bytes(data)), DEFAULTS)


def test_a_zip_bomb_named_docx_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("word/document.xml", b"\x00" * (64 * 2**20))
    assert path.stat().st_size < 2**20
    with pytest.raises(LoadError, match=r"unpacks to 64\.0 MiB, over the 16\.0 MiB limit"):
        load_file(path, TableOptions(max_unpacked_bytes=16 * 2**20))


def test_a_deck_of_slides_without_text_is_refused(tmp_path: Path) -> None:
    import pptx

    deck = pptx.Presentation()
    deck.slides.add_slide(deck.slide_layouts[6])  # the blank layout: no title, no text
    deck.save(str(tmp_path / "pictures.pptx"))
    with pytest.raises(LoadError, match="no text"):
        load_file(tmp_path / "pictures.pptx", DEFAULTS)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("nb.ipynb", "{not json", "invalid JSON on line 1"),
        ("nb2.ipynb", '{"cells": 3}', "no list of cells"),
        ("book.epub", None, "corrupt or unreadable EPUB"),
    ],
)
def test_broken_notebooks_and_books_are_refused_with_a_reason(
    tmp_path: Path, name: str, content: str | None, reason: str
) -> None:
    path = tmp_path / name
    if content is None:  # a valid zip without the EPUB container
        with zipfile.ZipFile(path, "w") as book:
            book.writestr("mimetype", "application/epub+zip")
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(LoadError, match=reason):
        load_file(path, DEFAULTS)


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_bad_documents_are_reported_while_the_good_ones_land(tmp_path: Path, engine: Engine) -> None:
    good = make_docx(tmp_path / "good.docx")
    make_pptx(tmp_path / "deck.pptx")
    _write(tmp_path / "locked.pptx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    _write(tmp_path / "broken.epub", b"PK\x03\x04 not really")
    report = ingest_files(discover([str(tmp_path)]).files, EngineSink(engine), DEFAULTS)
    reasons = dict(report.failures)
    assert set(reasons) == {str(tmp_path / "locked.pptx"), str(tmp_path / "broken.epub")}
    assert "encrypted" in reasons[str(tmp_path / "locked.pptx")]
    assert report.stats.documents == 2
    stored = engine.store.existing_chunks([source_id(good), source_id(tmp_path / "locked.pptx")])
    assert {row["doc_id"] for row in stored.values()} == {source_id(good)}  # nothing of the refused file


@pytest.mark.parametrize(
    "make",
    [
        lambda d: make_docx(d / "a.docx"),
        lambda d: make_pptx(d / "a.pptx"),
        lambda d: make_xlsx(d / "a.xlsx"),
        lambda d: make_odt(d / "a.odt"),
        lambda d: make_epub(d / "a.epub", [("One", "x."), ("Two", "y.")]),
        lambda d: make_ipynb(d / "a.ipynb", [("markdown", "# A\n- i\n- j\n## B\nz")]),
        lambda d: HTML_FIXTURES / "sphinx_page.html",
    ],
    ids=["docx", "pptx", "xlsx", "odt", "epub", "ipynb", "html"],
)
def test_every_section_and_page_offset_points_into_the_text(tmp_path: Path, make) -> None:
    doc = load_one(make(tmp_path))
    assert doc.layout is not None and doc.layout.sections
    for section in doc.layout.sections:
        assert doc.text[section.start :].startswith(section.path[-1])
    for page in doc.layout.pages:
        assert 0 <= page.start < page.end <= len(doc.text)
