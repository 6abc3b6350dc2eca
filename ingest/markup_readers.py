"""reStructuredText (docutils), Jupyter notebooks (.ipynb, plain JSON), EPUB e-books and OpenDocument text (.odt),
the last two read from their zip's XHTML/XML with the standard library and the HTML reader.

Each keeps its headings as sections. Notebooks keep markdown and code cells and skip outputs (images, tracebacks
and printed data are rarely what one searches for, and can be huge). No reader runs code or follows includes:
docutils has `include`, `raw` and file insertion turned off.
"""

from __future__ import annotations

import json
import posixpath
import re
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from ingest.html_reader import html_blocks
from ingest.office_readers import guarded
from ingest.prose import Prose, ProseBuilder, table_rows
from ingest.readers import LoadError, markdown_headings, read_text_file

_DOCUTILS_SETTINGS = {
    "report_level": 5,  # unknown (e.g. Sphinx-only) directives are dropped silently, not printed to stderr
    "halt_level": 5,
    "file_insertion_enabled": False,
    "raw_enabled": False,
    "doctitle_xform": False,  # keep the top section a section, so its title heads every heading path
    "_disable_config": True,
}


def read_rst(path: Path) -> Prose:
    text = read_text_file(path)
    return guarded("reStructuredText", lambda: _rst(text, path))


def _rst(text: str, path: Path) -> Prose:
    from docutils.core import publish_doctree

    doctree = publish_doctree(text, source_path=str(path), settings_overrides=_DOCUTILS_SETTINGS)
    builder = ProseBuilder()
    _rst_blocks(doctree, builder, 0)
    title = builder.first_heading or path.stem
    return builder.build({"format": "rst", "title": title})


def _rst_blocks(node: Any, builder: ProseBuilder, depth: int) -> None:
    from docutils import nodes

    skipped = (nodes.title, nodes.system_message, nodes.comment, nodes.target, nodes.substitution_definition)

    for child in node.children:
        if isinstance(child, nodes.section):
            if child.children and isinstance(child[0], nodes.title):
                builder.heading(child[0].astext(), depth + 1)
            _rst_blocks(child, builder, depth + 1)
        elif isinstance(child, skipped):
            continue
        elif isinstance(child, nodes.list_item):
            builder.list_item(child.astext())
        elif isinstance(child, nodes.table):
            rows = [[entry.astext() for entry in row.children] for row in child.findall(nodes.row)]
            builder.paragraph(table_rows(rows))
        elif isinstance(child, nodes.TextElement | nodes.Text) or not child.children:
            builder.paragraph(child.astext())
        else:
            _rst_blocks(child, builder, depth)


def read_ipynb(path: Path) -> Prose:
    text = read_text_file(path)
    return guarded("Jupyter notebook", lambda: _ipynb(text, path))


def _ipynb(text: str, path: Path) -> Prose:
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError(f"not a notebook: invalid JSON on line {exc.lineno}: {exc.msg}") from exc
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise LoadError("not a notebook: no list of cells (only nbformat 4 notebooks are read)")
    builder = ProseBuilder()
    for cell in notebook["cells"]:
        source = cell.get("source", "") if isinstance(cell, dict) else ""
        source = "".join(source) if isinstance(source, list) else str(source)
        if cell.get("cell_type") == "markdown":
            _markdown_blocks(source, builder)
        elif cell.get("cell_type") == "code":
            builder.paragraph(source)
    title = notebook.get("metadata", {}).get("title") or builder.first_heading or path.stem
    return builder.build({"format": "ipynb", "title": str(title)})


def _markdown_blocks(source: str, builder: ProseBuilder) -> None:
    """A markdown cell: its headings as headings (without the '#'), the text between them as paragraphs."""
    position = 0
    for offset, level, heading in markdown_headings(source):
        builder.paragraph(source[position:offset])
        builder.heading(heading, level)
        position = source.find("\n", offset) + 1 or len(source)
    builder.paragraph(source[position:])


def read_epub(path: Path) -> Prose:
    return guarded("EPUB", lambda: _epub(path))


def _epub(path: Path) -> Prose:
    """The chapters in spine (reading) order, each read as HTML main content."""
    from bs4 import BeautifulSoup

    with zipfile.ZipFile(path) as book:
        container = ElementTree.fromstring(book.read("META-INF/container.xml"))
        rootfile = next(el.get("full-path") for el in container.iter() if el.tag.endswith("rootfile"))
        package = ElementTree.fromstring(book.read(rootfile))
        manifest = {el.get("id"): el.get("href") for el in package.iter() if el.tag.endswith("}item")}
        spine = [el.get("idref") for el in package.iter() if el.tag.endswith("}itemref")]
        hrefs = [posixpath.join(posixpath.dirname(rootfile), manifest[idref]) for idref in spine if idref in manifest]
        if "META-INF/encryption.xml" in book.namelist():
            encrypted = book.read("META-INF/encryption.xml").decode("utf-8", "replace")
            if any(posixpath.basename(href) in encrypted for href in hrefs):
                raise LoadError("the EPUB's chapters are encrypted (DRM); only unprotected e-books can be read")
        builder = ProseBuilder()
        for href in hrefs:
            html_blocks(BeautifulSoup(book.read(href).decode("utf-8", "replace"), "html.parser"), builder)
    titles = [el.text for el in package.iter() if el.tag.endswith("}title") and el.text and el.text.strip()]
    return builder.build({"format": "epub", "title": titles[0].strip() if titles else path.stem})


_ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_ODF_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"


def read_odt(path: Path) -> Prose:
    return guarded("OpenDocument (.odt)", lambda: _odt(path))


def _odt(path: Path) -> Prose:
    with zipfile.ZipFile(path) as document:
        content = ElementTree.fromstring(document.read("content.xml"))
        meta = document.read("meta.xml").decode("utf-8", "replace") if "meta.xml" in document.namelist() else ""
    builder = ProseBuilder()
    body = next((el for el in content.iter() if el.tag.endswith("}text") and el is not content), content)
    _odt_blocks(body, builder)
    found = re.search(r"<dc:title>([^<]+)</dc:title>", meta)
    title = found.group(1).strip() if found else builder.first_heading or path.stem
    return builder.build({"format": "odt", "title": title})


def _odt_blocks(element: Any, builder: ProseBuilder) -> None:
    for child in element:
        if child.tag == f"{{{_ODF_TEXT}}}h":
            builder.heading(_odt_text(child), int(child.get(f"{{{_ODF_TEXT}}}outline-level", "1")))
        elif child.tag == f"{{{_ODF_TEXT}}}p":
            builder.paragraph(_odt_text(child))
        elif child.tag == f"{{{_ODF_TEXT}}}list-item":
            builder.list_item(" ".join(_odt_text(p) for p in child.iter(f"{{{_ODF_TEXT}}}p")))
        elif child.tag == f"{{{_ODF_TABLE}}}table":
            rows = [
                [_odt_text(cell) for cell in row.iter(f"{{{_ODF_TABLE}}}table-cell")]
                for row in child.iter(f"{{{_ODF_TABLE}}}table-row")
            ]
            builder.paragraph(table_rows(rows))
        else:
            _odt_blocks(child, builder)


def _odt_text(element: Any) -> str:
    """Text of a paragraph: <text:s/> is a space, <text:tab/> a tab, <text:line-break/> a line break."""
    parts = [element.text or ""]
    for child in element:
        name = child.tag.rsplit("}", 1)[-1]
        parts.append({"s": " ", "tab": "\t", "line-break": "\n"}.get(name, _odt_text(child)))
        parts.append(child.tail or "")
    return "".join(parts)
