"""HTML to text: the page's main content, without the chrome around it, with its headings as sections.

Documentation generators wrap every page in the same navigation, sidebars, headers and footers; indexed, that text
makes every page match every query about the site. So the reader keeps `<main>`, else `<article>`, else the
element with `role="main"`, else the body, and inside it drops navigation and page chrome. E-books (`.epub`) are
HTML chapters and read through `html_blocks` too.
"""

from __future__ import annotations

import re
from typing import Any

from ingest.prose import Prose, ProseBuilder, table_rows

#: Elements whose text is never content.
_NOT_CONTENT = ["script", "style", "noscript", "template", "nav", "footer", "header", "aside", "form", "button"]
#: Roles and classes of page chrome that some generators put on plain <div>s (Sphinx's sidebar, "skip" links).
_CHROME_ROLES = ("navigation", "banner", "contentinfo", "search", "complementary")
_CHROME_CLASSES = frozenset(
    {"sphinxsidebar", "related", "headerlink", "md-sidebar", "md-header", "md-footer", "md-nav", "footer"}
)
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
    "pre",
    "section",
    "table",
    "ul",
]
#: Private-use characters mark where headings start while the text is flattened; they never reach the output.
_MARK = "\ue000"
_HEADING_MARK = re.compile(_MARK + r"([1-6])")


def read_html_text(markup: str, fallback_title: str) -> Prose:
    """The main content of one HTML page as text, titled by <title>, else the first <h1>, else `fallback_title`."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    candidates = (" ".join(tag.get_text(" ").split()) for tag in (soup.title, soup.find("h1")) if tag)
    title = next((c for c in candidates if c), fallback_title)
    builder = ProseBuilder()
    html_blocks(soup, builder)
    return builder.build({"format": "html", "title": title})


def html_blocks(soup: Any, builder: ProseBuilder) -> None:
    """Add the main content of a parsed page to `builder`: its lines as paragraphs, its headings as headings."""
    main = _main_content(soup)
    for tag in main.find_all(_NOT_CONTENT):
        tag.decompose()
    for tag in main.find_all(_is_chrome):
        tag.decompose()
    for tag in main.find_all(["h1", "h2", "h3", "h4", "h5", "h6"]):
        heading = " ".join(tag.get_text(" ").split())
        tag.clear()
        tag.append(f"{_MARK}{tag.name[1]}{heading}")
    for row in main.find_all("tr"):  # a table row is one line of text, cells joined by " | "
        row.replace_with("\n" + table_rows([[c.get_text(" ") for c in row.find_all(["td", "th"])]]) + "\n")
    for item in main.find_all("li"):
        item.insert(0, "- ")
    for tag in main.find_all(_BLOCKS):  # inline elements flow into their line; blocks start new lines
        tag.insert_before("\n")
        tag.insert_after("\n")
    for tag in main.find_all("br"):
        tag.replace_with("\n")
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in main.get_text().splitlines())
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    for block in re.split(r"(?=" + _MARK + ")", text):
        found = _HEADING_MARK.match(block)
        if not found:
            builder.paragraph(block)
            continue
        heading, _, rest = block[found.end() :].strip().partition("\n")
        builder.heading(heading, int(found.group(1)))
        builder.paragraph(rest)


def _main_content(soup: Any) -> Any:
    for found in (soup.find("main"), soup.find("article"), soup.find(attrs={"role": "main"})):
        if found is not None and found.get_text(strip=True):
            return found
    return soup.body or soup


def _is_chrome(tag: Any) -> bool:
    if tag.attrs is None:  # already removed with an ancestor
        return False
    role = tag.get("role")
    return role in _CHROME_ROLES or not _CHROME_CLASSES.isdisjoint(tag.get("class") or ())
