"""Office documents: Word (.docx, python-docx), PowerPoint (.pptx, python-pptx), Excel (.xlsx, openpyxl) and
OpenDocument text (.odt, read from its XML with the standard library).

Structure survives as text: headings become sections, list items keep a "- " marker, tables become rows of cells
joined by " | ", and every slide is a page (its number) whose title is its heading. Files are zip-checked by the
loader first (`ingest.archives`); anything a library still fails on is refused with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ingest.prose import Prose, ProseBuilder, table_rows
from ingest.readers import LoadError


def guarded(kind: str, read: Callable[[], Prose]) -> Prose:
    """Run a reader; whatever its library raises for a broken file becomes a LoadError naming the format, and a
    file without text is refused too (a deck of pictures, an empty sheet)."""
    try:
        prose = read()
    except LoadError:
        raise
    except Exception as exc:  # the libraries raise KeyError, lxml, zipfile and their own errors for broken files
        raise LoadError(f"corrupt or unreadable {kind} file: {type(exc).__name__}: {exc}") from exc
    if not prose.text.strip():
        raise LoadError(f"no text in the {kind} file")
    return prose


def read_docx(path: Path) -> Prose:
    return guarded("Word (.docx)", lambda: _docx(path))


def _docx(path: Path) -> Prose:
    import docx
    from docx.table import Table

    document = docx.Document(str(path))
    builder = ProseBuilder()
    title = document.core_properties.title or ""
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            builder.paragraph(table_rows(_docx_rows(block)))
            continue
        style = block.style.name if block.style is not None else ""
        level = _heading_level(style)
        if level is not None:
            builder.heading(block.text, level)
            title = title or (block.text.strip() if level == 1 else "")
        elif style.startswith("List") or (block._p.pPr is not None and block._p.pPr.numPr is not None):
            builder.list_item(block.text)
        else:
            builder.paragraph(block.text)
    return builder.build({"format": "docx", "title": title or path.stem})


def _heading_level(style: str) -> int | None:
    """'Title' is level 1 like 'Heading 1'; 'Heading 2'... 'Heading 9' are their number."""
    if style == "Title":
        return 1
    found = re.fullmatch(r"Heading ([1-9])", style)
    return int(found.group(1)) if found else None


def _docx_rows(table: Any) -> list[list[str]]:
    """Rows of cell texts; a merged cell, which python-docx repeats for each grid column it spans, appears once."""
    rows = []
    for row in table.rows:
        cells = list({id(cell._tc): cell for cell in row.cells}.values())
        rows.append([cell.text for cell in cells])
    return rows


def read_pptx(path: Path) -> Prose:
    return guarded("PowerPoint (.pptx)", lambda: _pptx(path))


def _pptx(path: Path) -> Prose:
    import pptx

    deck = pptx.Presentation(str(path))
    builder = ProseBuilder()
    titles = []
    for number, slide in enumerate(deck.slides, 1):
        title_shape = slide.shapes.title
        title = title_shape.text_frame.text.strip() if title_shape is not None and title_shape.has_text_frame else ""
        blocks = [text for text in _slide_blocks(slide, title_shape) if text.strip()]
        if not (title or blocks):
            continue  # a picture-only slide has nothing to find
        builder.page(number)
        builder.heading(title or f"Slide {number}", 1)  # untitled slides still close the previous slide's section
        for block in blocks:
            builder.paragraph(block)
        titles.append(title)
    title = deck.core_properties.title or next((t.strip() for t in titles if t.strip()), path.stem)
    return builder.build({"format": "pptx", "title": title, "slides": len(deck.slides)})


def _slide_blocks(slide: Any, title_shape: Any) -> Iterator[str]:
    """A slide's text in shape order, its title left out (it is the slide's heading), its notes last."""
    for shape in _shapes(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        if getattr(shape, "has_table", False) and shape.has_table:
            yield table_rows([[cell.text for cell in row.cells] for row in shape.table.rows])
        elif shape.has_text_frame:
            yield _slide_text(shape)
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        yield slide.notes_slide.notes_text_frame.text


def _shapes(shapes: Any) -> Iterator[Any]:
    """Shapes in reading order, group shapes opened."""
    for shape in shapes:
        if hasattr(shape, "shapes"):
            yield from _shapes(shape.shapes)
        else:
            yield shape


def _slide_text(shape: Any) -> str:
    """Body placeholders are bullet lists: each paragraph a '- ' item, indented by its level."""
    from pptx.enum.shapes import PP_PLACEHOLDER

    bulleted = shape.is_placeholder and shape.placeholder_format.type in (PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT)
    lines = []
    for paragraph in shape.text_frame.paragraphs:
        text = "".join(run.text for run in paragraph.runs).strip()
        if text:
            lines.append(f"{'  ' * paragraph.level}- {text}" if bulleted else text)
    return "\n".join(lines)


def read_xlsx(path: Path) -> Prose:
    return guarded("Excel (.xlsx)", lambda: _xlsx(path))


def _xlsx(path: Path) -> Prose:
    """Each sheet a section headed by its name, each row a line of its cell values (formulas as last computed)."""
    import openpyxl

    workbook = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    try:
        builder = ProseBuilder()
        for sheet in workbook.worksheets:
            rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            text = table_rows(rows)
            if text:
                builder.heading(sheet.title, 1)
                builder.paragraph(text)
        title = workbook.properties.title or path.stem
    finally:
        workbook.close()
    return builder.build({"format": "xlsx", "title": title, "sheets": len(workbook.worksheets)})
