"""The supported file formats, declared once: discovery picks files by these suffixes, loading reads them with these
readers, and `help_text()` lists them for `semsearch ingest --help`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest import html_site, markup_readers, office_readers, readers, table_readers
from ingest.prose import Prose

ProseReader = Callable[[Path], Prose]
RowReader = Callable[[Path], table_readers.TableRows]


@dataclass(frozen=True)
class Format:
    """One kind of file. Prose is one document per file (`read_text`: text, metadata and layout); a table is one
    document per row (`read_rows`: column names, then rows in batches). Exactly one reader is set. A `zipped` format
    is a zip container, checked for encryption and its unpacked size before its reader opens it."""

    description: str
    read_text: ProseReader | None = None
    read_rows: RowReader | None = None
    zipped: bool = False

    @property
    def table(self) -> bool:
        return self.read_rows is not None


_TEXT = Format("plain text (UTF-8), one document per file", read_text=readers.read_plain)
_MARKDOWN = Format(
    "Markdown, titled by its first '# heading'; YAML front matter becomes metadata", read_text=readers.read_markdown
)
_HTML = Format(
    "HTML main content (<main>, <article>, role=main) without navigation, sidebars, header or footer",
    read_text=html_site.read_html,
)
_PDF = Format("PDF text layer, with page numbers (scans need OCR, which is not supported)", read_text=readers.read_pdf)

#: Lower-case suffix → format, in the order `help_text` lists them.
FORMATS: dict[str, Format] = {
    ".txt": _TEXT,
    ".md": _MARKDOWN,
    ".markdown": _MARKDOWN,
    ".html": _HTML,
    ".htm": _HTML,
    ".pdf": _PDF,
    # Office, e-book and notebook formats (issue 16): headings, lists, table rows and slide numbers survive.
    ".docx": Format("Word document: headings, lists, tables as rows", read_text=office_readers.read_docx, zipped=True),
    ".pptx": Format("PowerPoint deck: one page per slide, titled", read_text=office_readers.read_pptx, zipped=True),
    ".xlsx": Format(
        "Excel workbook: a section per sheet, a line per row", read_text=office_readers.read_xlsx, zipped=True
    ),
    ".odt": Format(
        "OpenDocument text: headings, lists, tables as rows", read_text=markup_readers.read_odt, zipped=True
    ),
    ".epub": Format(
        "EPUB e-book (without DRM), chapters in reading order", read_text=markup_readers.read_epub, zipped=True
    ),
    ".rst": Format("reStructuredText, sections as headings (no includes)", read_text=markup_readers.read_rst),
    ".ipynb": Format("Jupyter notebook: markdown and code cells, outputs skipped", read_text=markup_readers.read_ipynb),
    ".csv": Format("CSV table with a header row, one document per row", read_rows=table_readers.read_csv_rows),
    ".jsonl": Format("JSON Lines, one object per line, one document per row", read_rows=table_readers.read_jsonl_rows),
    ".parquet": Format("Parquet table, one document per row", read_rows=table_readers.read_parquet_rows),
}


def format_of(path: Path) -> Format | None:
    """The format a file's suffix names (any case); None for an unsupported file."""
    return FORMATS.get(path.suffix.lower())


def is_table(path: Path) -> bool:
    found = format_of(path)
    return found is not None and found.table


def supported_suffixes() -> str:
    """The suffixes as one sorted, comma-separated list, for error messages."""
    return ", ".join(sorted(FORMATS))


def help_text() -> str:
    """One line per format, its suffixes first, for a command's help."""
    grouped: dict[Format, list[str]] = {}
    for suffix, found in FORMATS.items():
        grouped.setdefault(found, []).append(suffix)
    lines = [f"{', '.join(suffixes):<16} {found.description}" for found, suffixes in grouped.items()]
    return "Supported formats (by file suffix, any case):\n" + "\n".join(f"  {line}" for line in lines)
