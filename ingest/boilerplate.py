"""What on a documentation page is not content: page chrome, link lists, and lines every page of the site repeats.

Indexed, chrome makes every page match every query about the site: a DocBook page that begins with "Prev | Up |
Home | Next" and ends with its neighbours' titles matches BM25 queries on those titles, and `/context` spends tokens
on them. Three rules, from the most certain to the most general:

1. structure: elements that are never content (`<nav>`, `<footer>`, ...), ARIA landmark roles of chrome, and the
   classes and ids that the common generators put on their navigation (`CHROME_CLASSES`, `CHROME_IDS`);
2. link density: a list or table whose text is nearly all link text (a table of contents, a "Next/Previous" bar,
   a sidebar of another generator) is dropped, unless the whole page is such a list (a table of contents or an
   index page): then the lists are the content, and the page is marked as a link page (`is_link_page`);
3. repetition: lines that most pages of one folder carry (a footer "Last updated ...", a site banner) are dropped
   from each page (`repeated_lines`, applied by `ingest.html_site`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

#: Elements whose text is never content.
NOT_CONTENT = ["script", "style", "noscript", "template", "nav", "footer", "header", "aside", "form", "button"]
_NOT_CONTENT = frozenset(NOT_CONTENT)
#: ARIA landmark roles of page chrome (Sphinx marks its sidebar and its navigation bars with them).
CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "complementary"})
#: Classes that documentation generators put on navigation, per generator.
CHROME_CLASSES = frozenset(
    {
        # Sphinx (classic, alabaster, Read the Docs, pydata, furo)
        "sphinxsidebar", "related", "headerlink", "rst-footer-buttons", "wy-nav-side", "wy-breadcrumbs",
        "prev-next-area", "bd-sidebar-primary", "bd-sidebar-secondary", "related-pages", "toc-drawer",
        # MkDocs (Material and the default theme)
        "md-sidebar", "md-header", "md-footer", "md-nav", "md-tabs", "md-search", "md-source-file", "navbar",
        # DocBook XSL (the PostgreSQL, GTK, Linux kernel manuals): the Prev/Up/Home/Next bars
        "navheader", "navfooter",
        # Javadoc (8 and 11+)
        "topNav", "bottomNav", "subNav", "skipNav", "top-nav", "sub-nav", "bottom-nav", "legal-copy", "legalCopy",
        # Doxygen
        "navpath", "tabs", "tabs2",
        # generic names
        "footer", "breadcrumb", "breadcrumbs", "skip-link",
    }
)  # fmt: skip
#: Element ids of chrome: asciidoc's footer and its script-filled table of contents, Doxygen's top bars.
CHROME_IDS = frozenset({"footer", "footer-text", "toc", "toctitle", "nav-path", "navrow1", "navrow2", "top"})
#: Block elements judged by their link density.
LIST_LIKE = ["ul", "ol", "dl", "table", "menu"]
#: A list whose link text is at least this share of its text, with at least MIN_LINKS links, is navigation.
LINK_DENSITY = 0.8
MIN_LINKS = 3
#: A page whose text is at least this share link text is a link page (a table of contents, an index).
LINK_PAGE_SHARE = 0.5
#: A line of at most REPEAT_MAX_CHARS characters found on at least REPEAT_SHARE of a folder's sampled pages is
#: the site's, not the page's.
REPEAT_MAX_CHARS = 200
REPEAT_SHARE = 0.75


def drop_chrome(main: Any) -> None:
    """Remove, in place, the elements of `main` (a BeautifulSoup element) that rule 1 says are not content."""
    for tag in main.find_all(_is_chrome):  # one pass; an element inside a removed one is skipped
        tag.decompose()


def link_share(element: Any) -> tuple[float, int]:
    """The share of `element`'s visible text that is link text (0..1), and its number of links."""
    text = len("".join(element.get_text().split()))
    links = element.find_all("a")
    if not text:
        return 0.0, len(links)
    linked = sum(len("".join(a.get_text().split())) for a in links)
    return min(1.0, linked / text), len(links)


def is_link_page(main: Any) -> bool:
    """A page that is mostly links (a table of contents, an index): kept whole, marked, packed last in context."""
    share, links = link_share(main)
    return share >= LINK_PAGE_SHARE and links >= MIN_LINKS


def drop_link_lists(main: Any) -> None:
    """Remove, in place, the lists and tables of `main` that are nearly all links (rule 2)."""
    for tag in main.find_all(LIST_LIKE):
        if tag.attrs is None:  # already removed with an ancestor
            continue
        share, links = link_share(tag)
        if links >= MIN_LINKS and share >= LINK_DENSITY:
            tag.decompose()


def repeated_lines(pages: Iterable[Iterable[str]]) -> frozenset[str]:
    """The short lines that at least REPEAT_SHARE of `pages` (each page's prose lines) carry: rule 3. Fewer than
    four pages prove nothing, so then nothing is repeated."""
    counts: Counter[str] = Counter()
    sampled = 0
    for lines in pages:
        sampled += 1
        counts.update({line for line in lines if line and len(line) <= REPEAT_MAX_CHARS})
    if sampled < 4:
        return frozenset()
    return frozenset(line for line, n in counts.items() if n >= REPEAT_SHARE * sampled)


def _is_chrome(tag: Any) -> bool:
    if tag.attrs is None:  # already removed with an ancestor
        return False
    if tag.name in _NOT_CONTENT or tag.get("role") in CHROME_ROLES or tag.get("id") in CHROME_IDS:
        return True
    return not CHROME_CLASSES.isdisjoint(tag.get("class") or ())
