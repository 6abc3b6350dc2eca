"""The office, e-book and notebook files of ``sample_data/documents/``, built from the same Python 3.11
documentation as the rest of the sample corpus (see ``build_sample_data.py``, which calls ``build_documents``).

Each file is the opening of one documentation page *with its section structure*, which is what these formats are
in the corpus for: headings become sections, slides become pages. Sections keep their first prose paragraphs (cut at
a sentence end to about ``SECTION_WORDS`` words); the notebook also keeps each section's first code sample as a code
cell. Requirements: beautifulsoup4, python-docx, python-pptx (all runtime dependencies of the project). The text
is reproducible; the .docx and .pptx zips are not byte-for-byte, as python-docx/pptx stamp members with the time.

    python scripts/sample_documents.py [--doc-root /usr/share/doc/python3.11/html] [--out sample_data/documents]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

#: Page (relative to the documentation root) → (file written, how many sections it keeps).
SOURCES = {
    "howto/argparse.html": ("argparse-tutorial.docx", 6),
    "howto/enum.html": ("enum-howto.pptx", 8),
    "howto/regex.html": ("regex-howto.ipynb", 8),
}
#: The e-book: two chapters of the tutorial, in reading order.
BOOK = (
    "python-tutorial.epub",
    "The Python Tutorial (chapters 4 and 5)",
    ["tutorial/controlflow.html", "tutorial/datastructures.html"],
)
SECTION_WORDS = 110
#: Zip member timestamps are fixed so the e-book is byte-for-byte reproducible.
ZIP_DATE = (2023, 2, 8, 0, 0, 0)


@dataclass
class Section:
    heading: str
    level: int  # 1 for the page's title, 2 for its sections, 3 below
    paragraphs: list[str] = field(default_factory=list)
    code: str = ""


def _clean(text: str) -> str:
    text = re.sub(r"^[\d.]+\s+", "", " ".join(text.split()))  # "4.1. if Statements" → "if Statements"
    return text.replace("¶", "").strip()


def _shorten(paragraphs: list[str], words: int) -> list[str]:
    """Whole paragraphs up to `words` words; the last one cut at a sentence end if it overflows."""
    kept, count = [], 0
    for paragraph in paragraphs:
        n = len(paragraph.split())
        if count + n > words:
            sentences = re.split(r"(?<=[.!?])\s+", paragraph)
            part = []
            for sentence in sentences:
                if count + len(sentence.split()) > words:
                    break
                part.append(sentence)
                count += len(sentence.split())
            if part:
                kept.append(" ".join(part))
            break
        kept.append(paragraph)
        count += n
    return kept or paragraphs[:1]


def _python_code(sample: str) -> str:
    """A documentation code sample as a notebook cell: an interactive session keeps its input lines (prompts
    removed, printed output dropped); anything that is not valid Python (regex syntax, shell lines) is left out."""
    lines = sample.strip().splitlines()
    if lines and lines[0].startswith(">>>"):
        lines = [line[4:] for line in lines if line.startswith((">>> ", "... ", ">>>", "..."))]
    code = "\n".join(lines).strip()
    try:
        compile(code, "<sample>", "exec")
    except SyntaxError:
        return ""
    return code


def page_sections(path: Path, limit: int) -> tuple[str, list[Section]]:
    """The page's title and its first `limit` sections (the top section's introduction first), each with its
    own prose paragraphs (not its subsections') and first code sample."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    main = soup.find(attrs={"role": "main"})
    sections: list[Section] = []
    for node in main.find_all("section"):
        heading_tag = node.find(["h1", "h2", "h3"], recursive=False)
        if heading_tag is None:
            continue
        section = Section(_clean(heading_tag.get_text(" ")), int(heading_tag.name[1]))
        for child in node.find_all(["p", "div"], recursive=False):
            if child.name == "p" and len(child.get_text().split()) > 8:
                section.paragraphs.append(" ".join(child.get_text(" ").split()).replace(" ,", ",").replace(" .", "."))
            elif child.name == "div" and "highlight" in " ".join(child.get("class") or []) and not section.code:
                section.code = _python_code(child.get_text())
        section.paragraphs = _shorten(section.paragraphs, SECTION_WORDS) if section.paragraphs else []
        if section.paragraphs:
            sections.append(section)
        if len(sections) == limit:
            break
    return _clean(main.find("h1").get_text(" ")), sections


def write_docx(title: str, sections: list[Section], path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = "Python Software Foundation"
    for section in sections:
        document.add_heading(section.heading, level=section.level)
        for paragraph in section.paragraphs:
            document.add_paragraph(paragraph)
    document.save(str(path))


def write_pptx(title: str, sections: list[Section], path: Path) -> None:
    """A title slide, then one slide per section: its heading as the title, its sentences as bullets."""
    import pptx

    deck = pptx.Presentation()
    deck.core_properties.title = title
    for section in sections:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = section.heading
        body = slide.placeholders[1].text_frame
        sentences = [s for p in section.paragraphs for s in re.split(r"(?<=[.!?])\s+", p) if s]
        for n, sentence in enumerate(sentences):
            (body.paragraphs[0] if n == 0 else body.add_paragraph()).text = sentence
    deck.save(str(path))


def write_ipynb(title: str, sections: list[Section], path: Path) -> None:
    cells = []
    if sections[0].level > 1:  # the page's introduction had no prose of its own: the title heads the notebook
        cells.append({"cell_type": "markdown", "metadata": {}, "source": [f"# {title}"]})
    for section in sections:
        markdown = f"{'#' * section.level} {section.heading}\n\n" + "\n\n".join(section.paragraphs)
        cells.append({"cell_type": "markdown", "metadata": {}, "source": markdown.splitlines(keepends=True)})
        if section.code:
            code = section.code.splitlines(keepends=True)
            cells.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": code})
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"title": title}, "cells": cells}
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def write_epub(title: str, chapters: list[tuple[str, list[Section]]], path: Path) -> None:
    """EPUB 3 by its specification: mimetype first and stored, the container, the package, one XHTML per chapter."""

    def add(book: zipfile.ZipFile, name: str, data: str, stored: bool = False) -> None:
        info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        book.writestr(info, data)

    items = "".join(
        f'<item id="c{n}" href="c{n}.xhtml" media-type="application/xhtml+xml"/>' for n in range(len(chapters))
    )
    spine = "".join(f'<itemref idref="c{n}"/>' for n in range(len(chapters)))
    with zipfile.ZipFile(path, "w") as book:
        add(book, "mimetype", "application/epub+zip", stored=True)
        add(
            book,
            "META-INF/container.xml",
            '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
            '<rootfiles><rootfile full-path="OEBPS/book.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>",
        )
        add(
            book,
            "OEBPS/book.opf",
            '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
            '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
            '<dc:identifier id="id">python-3.11-tutorial</dc:identifier>'
            f"<dc:title>{escape(title)}</dc:title><dc:creator>Python Software Foundation</dc:creator>"
            f"<dc:language>en</dc:language></metadata><manifest>{items}</manifest><spine>{spine}</spine></package>",
        )
        for n, (chapter, sections) in enumerate(chapters):
            body = "".join(
                f"<h{s.level}>{escape(s.heading)}</h{s.level}>" + "".join(f"<p>{escape(p)}</p>" for p in s.paragraphs)
                for s in sections
            )
            add(
                book,
                f"OEBPS/c{n}.xhtml",
                f'<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>'
                f"{escape(chapter)}</title></head><body>{body}</body></html>",
            )


def build_documents(doc_root: Path, out: Path) -> int:
    """Write the files; returns how many."""
    out.mkdir(parents=True, exist_ok=True)
    writers = {".docx": write_docx, ".pptx": write_pptx, ".ipynb": write_ipynb}
    for page, (name, limit) in SOURCES.items():
        title, sections = page_sections(doc_root / page, limit)
        writers[Path(name).suffix](title, sections, out / name)
    name, title, pages = BOOK
    write_epub(title, [page_sections(doc_root / page, 5) for page in pages], out / name)
    return len(SOURCES) + 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--doc-root", type=Path, default=Path("/usr/share/doc/python3.11/html"))
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent.parent / "sample_data" / "documents"
    )
    args = parser.parse_args(argv)
    print(f"documents: {build_documents(args.doc_root, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
