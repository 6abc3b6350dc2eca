"""Boilerplate out, whatever generated the site (issue 27): each generator's navigation is dropped and its content
kept (code with its indentation), link lists go unless the page is one (then it is marked), and lines that most
pages of a folder repeat are dropped from every page of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.html_reader import read_html_text
from ingest.loaders import TableOptions, load_file
from semsearch.context import merge_passages
from semsearch.indexer import Document
from semsearch.store import Hit

HTML_FIXTURES = Path(__file__).parent / "data" / "html"


def load_one(path: Path) -> Document:
    [doc] = load_file(path, TableOptions())
    return doc


@pytest.mark.parametrize(
    ("fixture", "content", "chrome"),
    [
        pytest.param(
            "docbook_page.html",
            ["9.9. Date/Time Functions and Operators", "makes the current session's process sleep", "0.01 seconds"],
            ["Prev", "Next", "Home", "Chapter 9. Functions and Operators", "9.10. Enum Support Functions",
             "9.8. Data Type Formatting Functions", "Delaying Execution"],
            id="docbook",
        ),
        pytest.param(
            "javadoc_page.html",
            ["Class StringUtils", "Operations on String that are null safe.", "Checks if a CharSequence is empty"],
            ["Skip navigation", "Overview", "Prev Class", "Frames", "Deprecated", "Copyright", "JavaScript"],
            id="javadoc",
        ),
        pytest.param(
            "asciidoc_page.html",
            ["git-stash - Stash the changes in a dirty working directory away", "SYNOPSIS",
             "record the current state of the working directory", "git-checkout(1)"],
            ["Last updated", "Table of Contents", "JavaScript must be enabled"],
            id="asciidoc",
        ),
        pytest.param(
            "sphinx_page.html",
            ["The sched module defines a class", "enterabs(time, priority, action)"],
            ["Navigation", "Quick search", "Report a Bug", "Copyright", "¶"],
            id="sphinx",
        ),
        pytest.param(
            "mkdocs_page.html",
            ["Assignment statements", "copy.deepcopy(x) returns a deep copy"],
            ["Skip to content", "Made with", "toc-deep-copies"],
            id="mkdocs",
        ),
    ],
)  # fmt: skip
def test_each_generators_navigation_is_dropped_and_its_content_kept(
    fixture: str, content: list[str], chrome: list[str]
) -> None:
    doc = load_one(HTML_FIXTURES / fixture)
    text = " ".join(doc.text.split())
    for kept in content:
        assert kept in text, kept
    for dropped in chrome:
        assert dropped not in doc.text, dropped
    assert "link_page" not in doc.metadata


def test_code_blocks_keep_their_lines_and_indentation() -> None:
    docbook = load_one(HTML_FIXTURES / "docbook_page.html").text
    assert "SELECT CASE WHEN true\n    THEN pg_sleep_for('5 minutes')\nEND;" in docbook
    javadoc = load_one(HTML_FIXTURES / "javadoc_page.html").text
    assert 'StringUtils.isBlank(null)      = true\n StringUtils.isBlank("")        = true' in javadoc


def page(body: str, title: str = "A page") -> str:
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>"


PROSE = "<p>Bulk loading is faster with COPY than with many INSERT statements, as one transaction.</p>"
NEXT_BAR = (
    '<ul><li><a href="a.html">« Previous</a></li><li><a href="i.html">Index</a></li>'
    '<li><a href="b.html">Next »</a></li></ul>'
)


def test_a_list_of_links_in_a_content_page_is_dropped_but_prose_with_links_is_kept() -> None:
    markup = page(
        f"<div>{NEXT_BAR}</div>{PROSE}"
        '<p>See <a href="copy.html">COPY</a>, <a href="insert.html">INSERT</a> and '
        '<a href="tx.html">transactions</a> for the details of each command.</p>'
        "<ul><li>plain item one</li><li>plain item two</li></ul>"
    )
    text = read_html_text(markup, "page").text
    assert "Previous" not in text and "Next »" not in text
    assert "Bulk loading is faster" in text and "See COPY, INSERT and transactions for the details" in text
    assert "- plain item one" in text


def test_a_table_of_contents_page_keeps_its_links_and_is_marked_as_a_link_page() -> None:
    entries = "".join(f'<li><a href="ch{n}.html">Chapter {n}: topic {n}</a></li>' for n in range(1, 9))
    prose = read_html_text(page(f"<h1>Contents</h1><ul>{entries}</ul>"), "toc")
    assert prose.metadata["link_page"] is True
    assert "Chapter 1: topic 1" in prose.text and "Chapter 8: topic 8" in prose.text


def test_lines_that_most_pages_of_a_folder_repeat_are_dropped_from_every_page(tmp_path: Path) -> None:
    banner = "<p>Example Corp documentation, release 4.2. All rights reserved.</p>"
    for n in range(7):
        (tmp_path / f"page{n}.html").write_text(page(f"{banner}<p>Page {n} explains topic number {n}.</p>"))
    first = [load_one(tmp_path / f"page{n}.html").text for n in range(7)]
    assert first == [f"Page {n} explains topic number {n}." for n in range(7)]
    again = [load_one(tmp_path / f"page{n}.html").text for n in (3, 0, 6)]  # any order, any number of times
    assert again == [first[3], first[0], first[6]]


def test_a_folder_of_a_few_pages_keeps_what_they_share(tmp_path: Path) -> None:
    banner = "<p>Example Corp documentation, release 4.2. All rights reserved.</p>"
    for n in range(3):
        (tmp_path / f"page{n}.html").write_text(page(f"{banner}<p>Page {n}.</p>"))
    assert "Example Corp documentation" in load_one(tmp_path / "page1.html").text


def test_headings_and_code_repeated_across_a_folder_are_kept(tmp_path: Path) -> None:
    shared = "<h2>SYNOPSIS</h2><pre>import os\nprint(os.getcwd())</pre>"
    for n in range(7):
        (tmp_path / f"page{n}.html").write_text(page(f"<h1>Tool {n}</h1>{shared}<p>What tool {n} does.</p>"))
    text = load_one(tmp_path / "page2.html").text
    assert "SYNOPSIS" in text and "import os\nprint(os.getcwd())" in text


def hit(doc_id: str, score: float, *, link_page: bool = False) -> Hit:
    metadata = {"title": doc_id, **({"link_page": True} if link_page else {})}
    return Hit(f"{doc_id}#0", doc_id, 0, score, f"text of {doc_id}", doc_id, 0, 10, metadata)


def test_context_packs_link_pages_after_every_content_page() -> None:
    passages = merge_passages([hit("toc.html", 0.9, link_page=True), hit("a.html", 0.6), hit("b.html", 0.4)])
    assert [p.doc_id for p in passages] == ["a.html", "b.html", "toc.html"]
