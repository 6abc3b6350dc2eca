"""Prose out of a Sphinx documentation page (title, breadcrumbs, top-level paragraphs), for
``build_sample_data.py``; split out of it so extracting and writing live apart."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

# Elements whose text never goes into a document.
SKIP_TAGS = {"table", "pre", "nav", "aside", "script", "style", "form", "dt", "figure"}
SKIP_DIV_CLASSES = {
    "admonition",
    "highlight",
    "toctree-wrapper",
    "versionadded",
    "versionchanged",
    "deprecated",
    "deprecated-removed",
    "contents",
    "topic",
    "sidebar",
    "seealso",
    "impl-detail",
    "footnote",
    "footnote-list",
    "citation",
    "field-list",
}
VOID_TAGS = {"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base", "source"}


@dataclass
class Page:
    """Prose extracted from one documentation page."""

    name: str
    title: str
    paragraphs: list[str]
    api_paragraphs: list[str] = field(default_factory=list)
    breadcrumbs: list[str] = field(default_factory=list)
    has_toctree: bool = False


class DocPageParser(HTMLParser):
    """Pull the title, breadcrumbs and top-level prose paragraphs out of a Sphinx page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, starts a skipped region)
        self.skip_depth = 0
        self.in_body = False
        self.body_depth = 0
        self.title_parts: list[str] | None = None
        self.title = ""
        self.para_parts: list[str] | None = None
        self.paragraphs: list[str] = []
        self.api_paragraphs: list[str] = []  # descriptions of functions and classes (inside <dl>)
        self.dl_depth = 0
        self.crumb_parts: list[str] | None = None
        self.breadcrumbs: list[str] = []
        self.crumbs_done = False
        self.has_toctree = False
        self.headerlink_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: (v or "") for k, v in attrs}
        classes = set(attr.get("class", "").split())
        if tag in VOID_TAGS:
            return
        if tag == "div" and attr.get("role") == "main":
            self.in_body = True
            self.body_depth = len(self.stack) + 1
        if "toctree-wrapper" in classes and self.in_body:
            self.has_toctree = True
        skipping = tag in SKIP_TAGS or bool(classes & SKIP_DIV_CLASSES) or "availability" in classes
        if tag == "a" and "headerlink" in classes:
            skipping = True
        self.stack.append((tag, skipping))
        if skipping:
            self.skip_depth += 1
        if tag == "dl":
            self.dl_depth += 1
        if tag == "li" and not self.crumbs_done and "nav-item" in classes and "nav-item-this" not in classes:
            self.crumb_parts = []
        if not self.in_body:
            return
        if tag == "h1" and not self.title:
            self.title_parts = []
        elif tag == "p" and self.skip_depth == 0 and self.para_parts is None:
            self.para_parts = []

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_TAGS:
            return
        # Pop to the matching tag (tolerates unclosed elements).
        while self.stack:
            open_tag, skipping = self.stack.pop()
            if skipping:
                self.skip_depth -= 1
            self._close(open_tag)
            if open_tag == tag:
                break
        if self.in_body and len(self.stack) < self.body_depth:
            self.in_body = False

    def _close(self, tag: str) -> None:
        if tag == "dl":
            self.dl_depth -= 1
        if tag == "h1" and self.title_parts is not None:
            self.title = normalize(" ".join(self.title_parts))
            self.title_parts = None
        elif tag == "p" and self.para_parts is not None:
            text = normalize("".join(self.para_parts))
            if text:
                (self.api_paragraphs if self.dl_depth else self.paragraphs).append(text)
            self.para_parts = None
        elif tag == "li" and self.crumb_parts is not None:
            crumb = normalize("".join(self.crumb_parts)).rstrip("\u00bb").strip()
            if crumb:
                self.breadcrumbs.append(crumb)
            self.crumb_parts = None
        elif tag == "ul" and self.breadcrumbs:
            self.crumbs_done = True

    def handle_data(self, data: str) -> None:
        if self.crumb_parts is not None:
            self.crumb_parts.append(data)
        if self.skip_depth:
            return
        if self.title_parts is not None:
            self.title_parts.append(data)
        if self.para_parts is not None:
            self.para_parts.append(data)


def normalize(text: str) -> str:
    text = text.replace("\u00b6", "")
    return re.sub(r"\s+", " ", text).strip()


def word_count(text: str) -> int:
    return len(text.split())


def parse_page(path: Path) -> Page:
    parser = DocPageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return Page(
        name=path.stem,
        title=parser.title,
        paragraphs=parser.paragraphs,
        api_paragraphs=parser.api_paragraphs,
        breadcrumbs=parser.breadcrumbs,
        has_toctree=parser.has_toctree,
    )
