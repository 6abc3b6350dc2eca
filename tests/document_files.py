"""Real files of the office, e-book and notebook formats, written with the libraries that define them (python-docx,
python-pptx, openpyxl) or by the format's specification (EPUB, ODT, ipynb are zips of XML or JSON)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape


def make_docx(path: Path, title: str = "Decimal arithmetic") -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.add_heading("decimal", level=1)
    document.add_paragraph("The decimal module provides support for fast correctly rounded arithmetic.")
    document.add_heading("Quick-start tutorial", level=2)
    document.add_paragraph("Import the module and set the context precision.")
    document.add_paragraph("Exact representation of money amounts", style="List Bullet")
    document.add_paragraph("Rounding modes such as ROUND_HALF_EVEN", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([("signal", "raised when"), ("Inexact", "a result was rounded")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_heading("Contexts", level=2)
    document.add_paragraph("Contexts are environments for arithmetic operations.")
    document.save(str(path))
    return path


def make_pptx(path: Path, slides: list[tuple[str, list[str]]] | None = None) -> Path:
    import pptx

    deck = pptx.Presentation()
    for title, bullets in slides or [
        ("Random numbers", ["Roll dice with randint", "Pick a card with choice"]),
        ("Simulations", ["Shuffle a deck in place", "Seed the generator to repeat a run"]),
    ]:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        for n, bullet in enumerate(bullets):
            paragraph = body.paragraphs[0] if n == 0 else body.add_paragraph()
            paragraph.text = bullet
    deck.save(str(path))
    return path


def make_xlsx(path: Path) -> Path:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Modules"
    for row in [("module", "purpose"), ("sched", "event scheduler"), ("copy", "shallow and deep copies")]:
        sheet.append(row)
    other = workbook.create_sheet("Numbers")
    other.append(["pi", 3.14159])
    workbook.save(str(path))
    return path


def make_epub(path: Path, chapters: list[tuple[str, str]], title: str = "The Python Library") -> Path:
    """An EPUB 3 book: the container, the package document and one XHTML file per chapter (heading, text)."""
    items = "".join(
        f'<item id="c{n}" href="c{n}.xhtml" media-type="application/xhtml+xml"/>' for n in range(len(chapters))
    )
    spine = "".join(f'<itemref idref="c{n}"/>' for n in range(len(chapters)))
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        book.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
            '<rootfiles><rootfile full-path="OEBPS/book.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>",
        )
        book.writestr(
            "OEBPS/book.opf",
            '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
            f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{escape(title)}</dc:title></metadata>'
            f"<manifest>{items}</manifest><spine>{spine}</spine></package>",
        )
        for n, (heading, text) in enumerate(chapters):
            book.writestr(
                f"OEBPS/c{n}.xhtml",
                f'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>{escape(heading)}</title></head>'
                f"<body><nav>Contents</nav><h1>{escape(heading)}</h1><p>{escape(text)}</p></body></html>",
            )
    return path


def make_odt(path: Path) -> Path:
    text_ns = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    content = (
        '<?xml version="1.0"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        f' xmlns:text="{text_ns}" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"><office:body>'
        '<office:text><text:h text:outline-level="1">copy</text:h><text:p>Shallow and deep copy operations.</text:p>'
        '<text:h text:outline-level="2">Deep copies</text:h><text:p>deepcopy<text:s/>copies nested objects.</text:p>'
        "<text:list><text:list-item><text:p>copy.copy(x)</text:p></text:list-item></text:list>"
        "<table:table><table:table-row><table:table-cell><text:p>copy</text:p></table:table-cell>"
        "<table:table-cell><text:p>shallow</text:p></table:table-cell></table:table-row></table:table>"
        "</office:text></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as document:
        document.writestr("mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        document.writestr("content.xml", content)
    return path


def make_ipynb(path: Path, cells: list[tuple[str, str]]) -> Path:
    """A notebook (nbformat 4) of (cell type, source) cells; code cells get an output that must not be indexed."""
    nb_cells = []
    for kind, source in cells:
        cell: dict = {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True)}
        if kind == "code":
            cell |= {
                "execution_count": 1,
                "outputs": [{"output_type": "stream", "name": "stdout", "text": ["OUTPUT-TEXT\n"]}],
            }
        nb_cells.append(cell)
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": nb_cells}
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return path
