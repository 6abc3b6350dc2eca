"""HTML to text: the page's main content, without the chrome around it, with its headings as sections.

The reader keeps `<main>`, else `<article>`, else the element with `role="main"`, else the body, and inside it drops
what `ingest.boilerplate` says is not content (navigation, page chrome, link lists). Code blocks (`<pre>`) keep
their lines and indentation, which a program's meaning depends on. A page is first read into `PageText` (its
blocks), then built into `Prose` without the lines its site repeats on every page (`ingest.html_site` finds those);
e-books (`.epub`) are HTML chapters and read through `html_blocks`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from ingest.boilerplate import drop_chrome, drop_link_lists, is_link_page
from ingest.prose import Prose, ProseBuilder, table_rows

#: Elements that start a new line; everything else (links, code, emphasis) flows inside its line.
_BLOCKS = [
    "address",
    "blockquote",
    "dd",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "ol",
    "p",
    "section",
    "table",
    "ul",
]
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
#: The elements that shape the text: blocks, rows, code, line breaks.
_SHAPED = sorted({*_BLOCKS, "tr", "pre", "br"})
#: Private-use characters mark headings and code blocks while the text is flattened; they never reach the output.
_HEADING = "\ue000"
_CODE = "\ue001"
_END = "\ue002"
_MARKED = re.compile(f"([{_HEADING}{_CODE}])([0-9]+){_END}(.*)")


@dataclass(frozen=True)
class Block:
    """One block of a page: a heading (with its level), a code block (as written) or prose lines."""

    kind: Literal["heading", "code", "prose"]
    text: str
    level: int = 0


@dataclass(frozen=True)
class PageText:
    """One page's blocks, before the lines its site repeats are dropped; `link_page`: the page is mostly links."""

    title: str
    blocks: tuple[Block, ...]
    link_page: bool = False

    def prose_lines(self) -> Iterator[str]:
        """The lines a site's pages can repeat: prose only (headings and code are the page's own)."""
        for block in self.blocks:
            if block.kind == "prose":
                yield from block.text.splitlines()


def read_html_text(markup: str, fallback_title: str, repeated: frozenset[str] = frozenset()) -> Prose:
    """The main content of one HTML page as text, titled by <title>, else the first <h1>, else `fallback_title`;
    prose lines in `repeated` (the site's, `ingest.html_site`) are left out."""
    return build_prose(page_text(markup, fallback_title), repeated)


def page_text(markup: str, fallback_title: str) -> PageText:
    from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

    warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)  # XHTML pages (DocBook, asciidoc) read fine
    soup = BeautifulSoup(markup, "lxml")  # lxml's parser: twice as fast as html.parser, and as lenient
    candidates = (" ".join(tag.get_text(" ").split()) for tag in (soup.title, soup.find("h1")) if tag)
    title = next((c for c in candidates if c), fallback_title)
    blocks, link_page = _blocks(soup)
    return PageText(title, tuple(blocks), link_page)


def build_prose(page: PageText, repeated: frozenset[str] = frozenset()) -> Prose:
    """The page as Prose; a link page carries `link_page: true` in its metadata (context packs it last)."""
    builder = ProseBuilder()
    _add(page.blocks, builder, repeated)
    metadata: dict[str, Any] = {"format": "html", "title": page.title}
    if page.link_page:
        metadata["link_page"] = True
    return builder.build(metadata)


def html_blocks(soup: Any, builder: ProseBuilder) -> None:
    """Add the main content of a parsed page to `builder`: its lines as paragraphs, its headings as headings."""
    _add(_blocks(soup)[0], builder, frozenset())


def _add(blocks: tuple[Block, ...] | list[Block], builder: ProseBuilder, repeated: frozenset[str]) -> None:
    for block in blocks:
        if block.kind == "heading":
            builder.heading(block.text, block.level)
        elif block.kind == "code":
            builder.paragraph(block.text)
        else:
            lines = block.text.splitlines()
            kept = [line for line in lines if line not in repeated] if repeated else lines
            builder.paragraph(re.sub(r"\n{3,}", "\n\n", "\n".join(kept)))


def _blocks(soup: Any) -> tuple[list[Block], bool]:
    """The content's blocks in reading order, and whether the page is a link page."""
    main = _main_content(soup)
    drop_chrome(main)
    link_page = is_link_page(main)
    if not link_page:
        drop_link_lists(main)
    code: list[str] = []
    for tag in main.find_all(_SHAPED):  # one pass: document order, outer elements before inner ones
        if tag.name == "tr":  # a table row is one line of text, cells joined by " | "
            row = table_rows([[c.get_text(" ") for c in tag.find_all(["td", "th"])]])
            tag.replace_with("\n" + row + "\n")
        elif tag.name == "pre":
            if tag.find_parent(["pre", "tr"]) is not None:  # taken with its row or outer block already
                continue
            code.append(tag.get_text().strip("\n").rstrip())
            tag.replace_with(f"\n{_CODE}{len(code) - 1}{_END}\n")
        elif tag.name == "br":
            tag.replace_with("\n")
        else:  # inline elements flow into their line; blocks start new lines
            if tag.name in _HEADINGS:
                heading = " ".join(tag.get_text(" ").split())
                tag.clear()
                tag.append(f"{_HEADING}{tag.name[1]}{_END}{heading}")
            elif tag.name == "li":
                tag.insert(0, "- ")
            if tag.parent is not None:
                tag.insert_before("\n")
                tag.insert_after("\n")
    return _split(main.get_text(), code), link_page


def _split(text: str, code: list[str]) -> list[Block]:
    blocks: list[Block] = []
    prose: list[str] = []

    def flush() -> None:
        joined = "\n".join(prose).strip()
        if joined:
            blocks.append(Block("prose", re.sub(r"\n{3,}", "\n\n", joined)))
        prose.clear()

    for raw in text.splitlines():
        line = re.sub(r"[ \t\r\f\v]+", " ", raw).strip()
        found = _MARKED.match(line)
        if not found:
            prose.append(line)
            continue
        flush()
        if found.group(1) == _HEADING:
            blocks.append(Block("heading", found.group(3).strip(), int(found.group(2))))
        elif code[int(found.group(2))].strip():
            blocks.append(Block("code", code[int(found.group(2))]))
    flush()
    return blocks


def _main_content(soup: Any) -> Any:
    for found in (soup.find("main"), soup.find("article"), soup.find(attrs={"role": "main"})):
        if found is not None and found.get_text(strip=True):
            return found
    return soup.body or soup
