"""Writers of the sample corpus's formats, one function per format, split out of ``build_sample_data.py`` (which
extracts the documents) so each file has one job. The office, e-book and notebook files are ``sample_documents.py``.
"""

from __future__ import annotations

import csv
import html
import json
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

PDF_DATE = datetime(2023, 2, 8, tzinfo=UTC)  # Python 3.11.2 release day

# Characters the PDF core fonts (latin-1) cannot encode, mapped to ASCII look-alikes.
PDF_REPLACEMENTS = {
    "\u2014": "--",
    "\u2013": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
    "\u2192": "->",
    "\u2190": "<-",
    "\u2022": "*",
    "\u00a0": " ",
    "\u2212": "-",
    "\u2264": "<=",
    "\u2265": ">=",
    "\u00b6": "",
}


@dataclass
class Doc:
    id: str
    title: str
    paragraphs: list[str]
    category: str

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


# ---------------------------------------------------------------------------------------- writers


def write_html(doc: Doc, path: Path) -> None:
    body = "\n".join(f"<p>{html.escape(p, quote=False)}</p>" for p in doc.paragraphs)
    title = html.escape(doc.title, quote=False)
    path.write_text(
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n{body}\n</body>\n</html>\n",
        encoding="utf-8",
    )


def write_markdown(doc: Doc, path: Path) -> None:
    path.write_text(f"# {doc.title}\n\n{doc.text}\n", encoding="utf-8")


def write_text(doc: Doc, path: Path) -> None:
    path.write_text(f"{doc.title}\n\n{doc.text}\n", encoding="utf-8")


def pdf_safe(text: str) -> str:
    for char, replacement in PDF_REPLACEMENTS.items():
        text = text.replace(char, replacement)
    text = unicodedata.normalize("NFKC", text)
    return text.encode("latin-1", "replace").decode("latin-1")


def write_pdf(doc: Doc, path: Path) -> None:
    from fpdf import FPDF  # imported here so the other formats build without fpdf2

    pdf = FPDF(format="A4")
    pdf.set_title(pdf_safe(doc.title))
    pdf.set_author("Python Software Foundation")
    pdf.set_creation_date(PDF_DATE)  # a fixed date keeps the output reproducible
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.multi_cell(0, 8, pdf_safe(doc.title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", size=11)
    for paragraph in doc.paragraphs:
        pdf.multi_cell(0, 5.5, pdf_safe(paragraph), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    pdf.output(str(path))


def write_csv(docs: list[Doc], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "text", "category"])
        for doc in docs:
            writer.writerow([doc.id, doc.title, doc.text, doc.category])


def write_jsonl(docs: list[Doc], path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for doc in docs:
            record = {"id": doc.id, "title": doc.title, "text": doc.text, "category": doc.category}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def check_pdf(path: Path, doc: Doc) -> None:
    try:
        from pypdf import PdfReader
    except ImportError:
        return
    text = " ".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
    first_words = pdf_safe(doc.paragraphs[0]).split()[:5]
    if not all(word in text for word in first_words):
        raise SystemExit(f"pypdf could not read back the text of {path}")
