"""Loaders, file discovery and the ingest run, on real files written here and on sample_data, into real Milvus Lite."""

from __future__ import annotations

import itertools
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fpdf import FPDF

from ingest.formats import FORMATS, help_text
from ingest.loaders import TableOptions, load_file
from ingest.pipeline import IngestReport, ingest_files
from ingest.readers import LoadError
from ingest.sinks import EngineSink
from ingest.sources import MissingPath, discover, source_id
from semsearch.chunking import content_hash, storage_key
from semsearch.engine import Engine
from semsearch.indexer import Document

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"
SAMPLE_PDFS = sorted((SAMPLE_DATA / "howto").glob("*.pdf"))
DEFAULTS = TableOptions()


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def load_one(path: Path) -> Document:
    docs = load_file(path, DEFAULTS)
    assert len(docs) == 1
    return docs[0]


def make_pdf(path: Path, pages: list[str], title: str | None = None) -> Path:
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


def write_table(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write `rows` in the format the suffix names, as a user's tool would."""
    frame = pd.DataFrame(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    else:
        frame.to_parquet(path, index=False)
    return path


TABLE_SUFFIXES = [".csv", ".jsonl", ".parquet"]


# -- prose formats ----------------------------------------------------------------------------------------------


def test_a_text_file_is_one_document_named_by_its_path(tmp_path: Path) -> None:
    path = write(tmp_path / "notes" / "meeting.txt", "We agreed to ship on Friday.\n")
    doc = load_one(path)
    assert doc.id == doc.source == source_id(path) == path.resolve().as_posix()
    assert doc.text == "We agreed to ship on Friday.\n"
    assert doc.metadata == {"format": "txt", "title": "meeting"}


def test_a_utf8_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    doc = load_one(write(tmp_path / "bom.txt", "\ufeffStarts with a BOM"))
    assert doc.text == "Starts with a BOM"


@pytest.mark.parametrize(
    ("markdown", "title"),
    [
        pytest.param("# Getting started\n\nInstall it.", "Getting started", id="atx-heading"),
        pytest.param("# Getting started ##\n\nInstall it.", "Getting started", id="closing-hashes"),
        pytest.param("Intro line\n\n## Section\n\n# Main title\n", "Main title", id="first-level-one-heading"),
        pytest.param("No heading here, just text.", "readme", id="file-name-without-heading"),
        pytest.param("#hashtag is not a heading", "readme", id="hashtag-is-not-a-heading"),
        pytest.param(
            "# Using C#\n\nTips.",
            "Using C#",
            id="hash-inside-title",
        ),
    ],
)
def test_markdown_title_is_the_first_level_one_heading(tmp_path: Path, markdown: str, title: str) -> None:
    doc = load_one(write(tmp_path / "readme.md", markdown))
    assert doc.metadata == {"format": "md", "title": title}
    assert doc.text == markdown


HTML_PAGE = """<!DOCTYPE html>
<html><head><title>Page title</title><style>body { color: red; }</style>
<script>var secret = "tracking code";</script></head>
<body>
<nav>Home | About | Contact</nav>
<h1>Heading</h1>
<p>First   paragraph
   spread over lines.</p>
<noscript>Enable JavaScript</noscript>
<template><p>template text</p></template>
<script type="text/javascript">document.write("inline script");</script>
<p>Second paragraph with <b>bold</b> text.</p>
<footer>Copyright footer</footer>
</body></html>
"""


def test_html_keeps_the_readable_text_and_drops_scripts_styles_and_chrome(tmp_path: Path) -> None:
    doc = load_one(write(tmp_path / "page.html", HTML_PAGE))
    assert doc.metadata == {"format": "html", "title": "Page title"}
    assert doc.text.splitlines()[0] == "Heading"
    words = " ".join(doc.text.split())
    assert "Heading First paragraph spread over lines. Second paragraph with bold text." in words
    for gone in ("color: red", "tracking code", "inline script", "Enable JavaScript", "template text", "Home |"):
        assert gone not in doc.text
    assert "Copyright" not in doc.text


@pytest.mark.parametrize(
    ("html", "title"),
    [
        pytest.param(
            "<html><head><title>From title</title></head><body><h1>H</h1>x</body></html>", "From title", id="title-tag"
        ),
        pytest.param("<html><body><h1>From <em>h1</em></h1><p>x</p></body></html>", "From h1", id="h1-fallback"),
        pytest.param("<html><body><p>no title at all</p></body></html>", "page", id="file-name-fallback"),
        pytest.param("<p>a fragment, no html element</p>", "page", id="fragment"),
        pytest.param(
            "<html><head><title></title></head><body><h1>Real heading</h1><p>x</p></body></html>",
            "Real heading",
            id="empty-title-tag",
        ),
        pytest.param(
            "<html><body><header><h1>Article heading</h1></header><p>x</p></body></html>",
            "Article heading",
            id="h1-inside-header",
        ),
    ],
)
def test_html_title_comes_from_title_then_h1_then_the_file_name(tmp_path: Path, html: str, title: str) -> None:
    assert load_one(write(tmp_path / "page.html", html)).metadata["title"] == title


def test_an_html_title_wrapped_in_the_source_reads_as_one_line(tmp_path: Path) -> None:
    html = "<html><head><title>\n  Python\n    documentation\n</title></head><body><p>x</p></body></html>"
    assert load_one(write(tmp_path / "page.html", html)).metadata["title"] == "Python documentation"


@pytest.mark.parametrize("pdf", SAMPLE_PDFS, ids=[p.name for p in SAMPLE_PDFS])
def test_sample_pdfs_load_with_their_title_and_text(pdf: Path) -> None:
    doc = load_one(pdf)
    assert doc.metadata["format"] == "pdf"
    assert doc.metadata["pages"] >= 1
    assert doc.metadata["title"] != pdf.stem
    assert doc.text.startswith(doc.metadata["title"])
    assert len(doc.text) > 1_000


def test_a_pdf_keeps_every_page_and_its_metadata_title(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "report.pdf", ["First page about whales.", "Second page about dolphins."], "Sea Report")
    doc = load_one(path)
    assert doc.metadata == {"format": "pdf", "title": "Sea Report", "pages": 2}
    assert "First page about whales." in doc.text and "Second page about dolphins." in doc.text
    assert doc.text.index("whales") < doc.text.index("dolphins")


def test_a_pdf_without_a_metadata_title_is_titled_by_its_name(tmp_path: Path) -> None:
    assert load_one(make_pdf(tmp_path / "untitled.pdf", ["Some text."])).metadata["title"] == "untitled"


CORRUPT_PDFS: dict[str, Callable[[], bytes]] = {
    "truncated": lambda: SAMPLE_PDFS[0].read_bytes()[: SAMPLE_PDFS[0].stat().st_size // 2],
    "random-bytes": lambda: bytes(range(256)) * 20,
    "text-renamed": lambda: b"this is not a pdf at all\n",
    "header-only": lambda: b"%PDF-1.4\n",
}


@pytest.mark.parametrize("content", CORRUPT_PDFS.values(), ids=CORRUPT_PDFS.keys())
def test_a_corrupt_pdf_is_refused_with_a_reason(tmp_path: Path, content: Callable[[], bytes]) -> None:
    with pytest.raises(LoadError, match=r"^corrupt or unreadable PDF: \S"):
        load_file(write(tmp_path / "broken.pdf", content()), DEFAULTS)


def test_a_pdf_without_text_is_refused_saying_ocr_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match=r"no extractable text.*OCR"):
        load_file(make_pdf(tmp_path / "scan.pdf", [""]), DEFAULTS)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("latin1.txt", "café crème"),
        ("latin1.md", "# Café\n\ncrème"),
        ("latin1.html", "<p>café crème</p>"),
        ("latin1.csv", "id,text\n1,café crème\n"),
        ("latin1.jsonl", '{"text": "café crème"}\n'),
    ],
)
def test_non_utf8_text_is_refused(tmp_path: Path, name: str, text: str) -> None:
    with pytest.raises(LoadError, match="not valid UTF-8"):
        load_file(write(tmp_path / name, text.encode("latin-1")), DEFAULTS)


@pytest.mark.parametrize("suffix", [".txt", ".md", ".html"])
def test_a_binary_file_with_nul_bytes_is_refused(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(LoadError, match="binary"):
        load_file(write(tmp_path / f"image{suffix}", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)), DEFAULTS)


@pytest.mark.parametrize("suffix", [".txt", ".md", ".html", ".pdf", ".csv", ".jsonl", ".parquet"])
def test_an_empty_file_is_refused(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(LoadError, match="empty file"):
        load_file(write(tmp_path / f"empty{suffix}", b""), DEFAULTS)


@pytest.mark.parametrize("content", ["   \n\n\t  ", "\ufeff", "<html><body>  <script>x()</script> </body></html>"])
def test_a_file_with_only_whitespace_has_no_text(tmp_path: Path, content: str) -> None:
    with pytest.raises(LoadError, match="no text"):
        load_file(write(tmp_path / "blank.html", content), DEFAULTS)


def test_an_unsupported_file_type_is_refused_by_the_loader(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match=r"unsupported file type '\.doc'"):
        load_file(write(tmp_path / "report.doc", b"\xd0\xcf\x11\xe0"), DEFAULTS)


def test_every_sample_data_file_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SAMPLE_DATA.parent)
    files = discover(["sample_data"]).files
    assert {f.suffix for f in files} == {
        ".txt",
        ".md",
        ".html",
        ".pdf",
        ".csv",
        ".jsonl",
        ".docx",
        ".pptx",
        ".epub",
        ".ipynb",
    }
    for path in files:
        docs = load_file(path, DEFAULTS)
        assert docs and all(doc.text.strip() and doc.source == path.as_posix() for doc in docs), path


# -- tables -----------------------------------------------------------------------------------------------------

ROWS = [
    {"id": "r1", "title": "Whales", "text": "Their songs travel far underwater.", "category": "ocean"},
    {"id": "r2", "title": "Bees", "text": "A dance tells the hive where flowers are.", "category": "insects"},
    {"id": "r3", "title": "Owls", "text": "Silent flight helps them hunt at night.", "category": "birds"},
]


@pytest.mark.parametrize("suffix", TABLE_SUFFIXES)
def test_each_table_row_is_a_document_with_guessed_columns_and_title_prepended(tmp_path: Path, suffix: str) -> None:
    path = write_table(tmp_path / f"animals{suffix}", ROWS)
    docs = load_file(path, DEFAULTS)
    file_id = source_id(path)
    fmt = suffix.lstrip(".")
    assert [(d.id, d.source, d.text, d.metadata) for d in docs] == [
        (
            f"{file_id}:{r['id']}",
            file_id,
            f"{r['title']}\n\n{r['text']}",
            {"title": r["title"], "category": r["category"], "format": fmt},
        )
        for r in ROWS
    ]


@pytest.mark.parametrize("suffix", TABLE_SUFFIXES)
@pytest.mark.parametrize(
    ("text_column", "id_column"), [("content", "_id"), ("Body", "UUID"), ("abstract", "doc_id"), ("passage", "id")]
)
def test_text_and_id_columns_are_guessed_case_insensitively(
    tmp_path: Path, suffix: str, text_column: str, id_column: str
) -> None:
    path = write_table(tmp_path / f"t{suffix}", [{id_column: "a", text_column: "Alpha text.", "lang": "en"}])
    [doc] = load_file(path, DEFAULTS)
    assert (doc.id, doc.text, doc.metadata) == (
        f"{source_id(path)}:a",
        "Alpha text.",
        {"lang": "en", "format": suffix[1:]},
    )


@pytest.mark.parametrize("suffix", TABLE_SUFFIXES)
def test_without_an_id_column_rows_are_numbered(tmp_path: Path, suffix: str) -> None:
    path = write_table(tmp_path / f"t{suffix}", [{"text": "zero"}, {"text": ""}, {"text": "two"}])
    assert [d.id for d in load_file(path, DEFAULTS)] == [f"{source_id(path)}:0", f"{source_id(path)}:2"]


@pytest.mark.parametrize("suffix", TABLE_SUFFIXES)
def test_explicit_text_id_and_metadata_columns_win(tmp_path: Path, suffix: str) -> None:
    rows = [{"id": "x", "text": "ignored", "sku": "A-1", "summary": "Red shoes.", "brand": "Acme", "price": "10"}]
    path = write_table(tmp_path / f"products{suffix}", rows)
    options = TableOptions(text_column="summary", id_column="sku", metadata_columns=("brand",))
    [doc] = load_file(path, options)
    assert (doc.id, doc.text, doc.metadata) == (
        f"{source_id(path)}:A-1",
        "Red shoes.",
        {"brand": "Acme", "format": suffix[1:]},
    )


def test_an_explicit_title_column_is_prepended(tmp_path: Path) -> None:
    path = write_table(tmp_path / "t.csv", [{"id": "1", "headline": "Big news", "text": "Details follow."}])
    [doc] = load_file(path, TableOptions(title_column="headline"))
    assert doc.text == "Big news\n\nDetails follow."


def test_a_title_already_at_the_start_of_the_text_is_not_repeated(tmp_path: Path) -> None:
    path = write_table(tmp_path / "t.csv", [{"id": "1", "title": "Owls", "text": "Owls hunt at night."}])
    assert load_file(path, DEFAULTS)[0].text == "Owls hunt at night."


@pytest.mark.parametrize("suffix", TABLE_SUFFIXES)
def test_rows_without_text_are_skipped(tmp_path: Path, suffix: str) -> None:
    rows = [
        {"id": "a", "text": "kept"},
        {"id": "b", "text": "   "},
        {"id": "c", "text": None},
        {"id": "d", "text": "also kept"},
    ]
    path = write_table(tmp_path / f"t{suffix}", rows)
    assert [d.id.rsplit(":", 1)[1] for d in load_file(path, DEFAULTS)] == ["a", "d"]


@pytest.mark.parametrize("suffix", TABLE_SUFFIXES)
def test_a_table_with_no_text_in_any_row_is_refused(tmp_path: Path, suffix: str) -> None:
    path = write_table(tmp_path / f"t{suffix}", [{"id": "a", "text": ""}, {"id": "b", "text": " "}])
    with pytest.raises(LoadError, match="no rows with text in column 'text'"):
        load_file(path, DEFAULTS)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_missing_metadata_values_are_dropped_not_stored_as_nan(tmp_path: Path, suffix: str) -> None:
    rows = [
        {"id": "a", "text": "one", "lang": "en", "score": 0.5},
        {"id": "b", "text": "two", "lang": None, "score": None},
    ]
    path = write_table(tmp_path / f"t{suffix}", rows)
    assert [d.metadata for d in load_file(path, DEFAULTS)] == [
        {"lang": "en", "score": 0.5, "format": suffix[1:]},
        {"format": suffix[1:]},
    ]


def test_jsonl_integers_stay_integers_when_other_rows_lack_the_key(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", '{"id": "a", "text": "one", "year": 2020}\n{"id": "b", "text": "two"}\n')
    value = load_file(path, DEFAULTS)[0].metadata["year"]
    assert (type(value), value) == (int, 2020)


def test_nested_jsonl_values_are_kept_as_metadata(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", '{"id": 7, "text": "one", "tags": ["a", "b"], "author": {"name": "Ann"}}\n')
    [doc] = load_file(path, DEFAULTS)
    assert doc.id.endswith(":7")
    assert doc.metadata == {"tags": ["a", "b"], "author": {"name": "Ann"}, "format": "jsonl"}


@pytest.mark.parametrize("suffix", TABLE_SUFFIXES)
def test_duplicate_ids_are_refused_naming_the_id(tmp_path: Path, suffix: str) -> None:
    path = write_table(
        tmp_path / f"t{suffix}", [{"id": "a", "text": "one"}, {"id": "b", "text": "two"}, {"id": "a", "text": "three"}]
    )
    with pytest.raises(LoadError, match="duplicate id 'a' in column 'id'"):
        load_file(path, DEFAULTS)


@pytest.mark.parametrize("suffix", TABLE_SUFFIXES)
def test_an_empty_id_is_refused(tmp_path: Path, suffix: str) -> None:
    path = write_table(tmp_path / f"t{suffix}", [{"id": "a", "text": "one"}, {"id": "", "text": "two"}])
    with pytest.raises(LoadError, match="row 1 has an empty id"):
        load_file(path, DEFAULTS)


@pytest.mark.parametrize("suffix", TABLE_SUFFIXES)
def test_a_missing_text_column_is_refused_listing_the_columns(tmp_path: Path, suffix: str) -> None:
    path = write_table(tmp_path / f"t{suffix}", [{"id": "a", "summary": "one", "lang": "en"}])
    with pytest.raises(LoadError) as caught:
        load_file(path, DEFAULTS)
    assert "no text column" in str(caught.value) and "['id', 'summary', 'lang']" in str(caught.value)
    assert "--text-column" in str(caught.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (TableOptions(text_column="body"), "text column 'body' not found; columns are ['id', 'text']"),
        (TableOptions(id_column="sku"), "id column 'sku' not found; columns are ['id', 'text']"),
        (TableOptions(title_column="name"), "title column 'name' not found; columns are ['id', 'text']"),
        (
            TableOptions(metadata_columns=("lang", "text")),
            "metadata column(s) ['lang'] not found; columns are ['id', 'text']",
        ),
    ],
)
def test_an_explicit_column_that_does_not_exist_is_refused_listing_the_columns(
    tmp_path: Path, options: TableOptions, message: str
) -> None:
    path = write_table(tmp_path / "t.csv", [{"id": "a", "text": "one"}])
    with pytest.raises(LoadError) as caught:
        load_file(path, options)
    assert str(caught.value) == message


def test_a_csv_with_a_byte_order_mark_still_finds_its_id_column(tmp_path: Path) -> None:
    path = write(tmp_path / "excel.csv", "\ufeffid,text\nx1,Exported from a spreadsheet.\n")
    assert load_file(path, DEFAULTS)[0].id == f"{source_id(path)}:x1"


def test_csv_ids_keep_their_leading_zeros(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "id,text\n007,Bond.\n")
    assert load_file(path, DEFAULTS)[0].id.endswith(":007")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param('[1, 2]\n{"text": "x"}\n', "every JSONL line must be a JSON object", id="not-an-object"),
        pytest.param(
            '{"id": 1, "text": "fine"}\n{"id": 2, "text": oops}\n',
            "invalid JSON on line 2",
            id="bad-json-names-its-line",
        ),
    ],
)
def test_malformed_jsonl_is_refused_with_its_reason(tmp_path: Path, content: str, reason: str) -> None:
    with pytest.raises(LoadError, match=reason):
        load_file(write(tmp_path / "t.jsonl", content), DEFAULTS)


def test_a_file_that_is_not_parquet_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="cannot read table"):
        load_file(write(tmp_path / "t.parquet", b"id,text\n1,not parquet\n"), DEFAULTS)


# -- discover ---------------------------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    for name in [
        "a.txt",
        "b.md",
        "sub/c.html",
        "sub/deeper/d.PDF",
        "sub/table.csv",
        "image.png",
        "notes.doc",
        "Makefile",
        ".hidden.txt",
        ".git/config.md",
        "sub/.cache/e.txt",
    ]:
        write(root / name, "x")
    return root


def names(paths: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def test_a_directory_is_walked_recursively_keeping_supported_visible_files(tree: Path) -> None:
    selection = discover([str(tree)])
    assert names(selection.files, tree) == ["a.txt", "b.md", "sub/c.html", "sub/deeper/d.PDF", "sub/table.csv"]
    assert selection.rejected == []


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("*.txt", ["a.txt"]),
        ("**/*.html", ["sub/c.html"]),
        ("**/*.*", ["a.txt", "b.md", "sub/c.html", "sub/deeper/d.PDF", "sub/table.csv"]),
        ("sub", ["sub/c.html", "sub/deeper/d.PDF", "sub/table.csv"]),
        ("s*", ["sub/c.html", "sub/deeper/d.PDF", "sub/table.csv"]),
    ],
)
def test_globs_expand_to_supported_files(tree: Path, pattern: str, expected: list[str]) -> None:
    selection = discover([str(tree / pattern)])
    assert names(selection.files, tree) == expected
    assert selection.rejected == []


@pytest.mark.parametrize(
    ("name", "shown"), [("image.png", "'.png'"), ("notes.doc", "'.doc'"), ("Makefile", "'(none)'")]
)
def test_an_unsupported_file_named_explicitly_is_rejected_with_a_reason(tree: Path, name: str, shown: str) -> None:
    selection = discover([str(tree / name)])
    assert selection.files == []
    [(path, reason)] = selection.rejected
    assert path == tree / name
    assert reason.startswith(f"unsupported file type {shown}") and ".txt" in reason and ".parquet" in reason


def test_one_table_of_formats_drives_discovery_loading_and_the_help(tmp_path: Path) -> None:
    for suffix in [*FORMATS, ".doc"]:
        write(tmp_path / f"file{suffix.upper()}", "x")
    discovered = discover([str(tmp_path)]).files
    assert sorted(path.suffix.lower() for path in discovered) == sorted(FORMATS)
    assert sorted(suffix for suffix, kind in FORMATS.items() if kind.table) == TABLE_SUFFIXES
    assert all((kind.read_rows is None) != (kind.read_text is None) for kind in FORMATS.values())
    listed = help_text()
    assert all(suffix in listed for suffix in FORMATS) and not re.search(r"\.doc\b", listed)


def test_a_hidden_file_named_explicitly_is_taken(tree: Path) -> None:
    assert discover([str(tree / ".hidden.txt")]).files == [tree / ".hidden.txt"]


def test_a_file_reached_twice_is_listed_once_in_first_seen_order(tree: Path) -> None:
    selection = discover([str(tree / "b.md"), str(tree), str(tree / "a.txt")])
    assert names(selection.files, tree) == ["b.md", "a.txt", "sub/c.html", "sub/deeper/d.PDF", "sub/table.csv"]


@pytest.mark.parametrize("missing", ["nope.txt", "nope", "*.nothing", "**/nothing-*.md"])
def test_a_path_or_glob_that_matches_nothing_is_a_usage_error(tree: Path, missing: str) -> None:
    with pytest.raises(MissingPath, match="no such file, directory or glob match"):
        discover([str(tree / "a.txt"), str(tree / missing)])


# -- the ingest run into real Milvus Lite -----------------------------------------------------------------------

NOTES = "\n\n".join(
    f"Paragraph {i}. The vector database stores one embedding per chunk, and chunk {i} covers topic number {i} "
    f"in enough words to need several chunks in total; searching finds the nearest chunks by cosine similarity."
    for i in range(40)
)
GOOD_ROWS = [
    {"id": "r1", "text": "Whales sing long songs.", "category": "ocean"},
    {"id": "r2", "text": "Bees dance to share directions.", "category": "insects"},
    {"id": "r3", "text": "Owls hunt at night.", "category": "birds"},
]
BAD_FILES: dict[str, tuple[bytes, str]] = {
    "latin1.txt": ("café".encode("latin-1"), "not valid UTF-8"),
    "binary.txt": (b"\x00\x01\x02binary", "binary file"),
    "empty.md": (b"", "empty file"),
    "blank.html": (b"<html><body>  </body></html>", "no text in file"),
    "corrupt.pdf": (b"%PDF-1.4\n", "corrupt or unreadable PDF"),
    "dupes.csv": (b"id,text\n1,a\n1,b\n", "duplicate id '1'"),
    "no-text-column.csv": (b"id,summary\n1,a\n", "no text column"),
    "broken.jsonl": (b'{"text": "ok"}\n{oops\n', "invalid JSON"),
    "bad-metadata-key.csv": (b"id,text,publication year\n1,a,2020\n", "metadata key 'publication year'"),
    "mixed-encodings.csv": ("id,text\n1,café\n".encode() + "2,crème\n".encode("latin-1"), "byte 0xe8 on line 3"),
    "huge.txt": (b"", "over the 32.0 MiB limit"),  # written as 50 MB of real text by the fixture
}
HUGE_SENTENCE, HUGE_COPIES = b"A sentence about nothing in particular. ", 50 * 2**20 // 40


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Good files of every format, bad files of every kind, and one type a directory walk ignores."""
    root = tmp_path / "kb"
    write(root / "notes.txt", NOTES)
    write(root / "guide.md", "# Guide\n\nInstall the package, then run the ingest command.")
    write(root / "web" / "page.html", HTML_PAGE)
    shutil.copy(SAMPLE_PDFS[0], root / "web" / SAMPLE_PDFS[0].name)
    write_table(root / "rows.csv", GOOD_ROWS)
    write_table(root / "rows.jsonl", GOOD_ROWS[:2])
    write_table(root / "rows.parquet", GOOD_ROWS[1:])
    for name, (content, _) in BAD_FILES.items():
        write(root / "bad" / name, HUGE_SENTENCE * HUGE_COPIES if name == "huge.txt" else content)
    write(root / "ignored.doc", b"PK\x03\x04")
    return root


def run(engine: Engine, root: Path) -> IngestReport:
    return ingest_files(discover([str(root)]).files, EngineSink(engine), DEFAULTS)


def chunk_ids(engine: Engine, doc_ids: list[str]) -> set[str]:
    return set(engine.store.existing_chunks(doc_ids))


def good_doc_ids(root: Path) -> list[str]:
    docs = [
        doc for path in discover([str(root)]).files if path.parent.name != "bad" for doc in load_file(path, DEFAULTS)
    ]
    return [doc.id for doc in docs]


def test_good_files_land_and_every_bad_file_is_reported_with_its_reason(engine: Engine, folder: Path) -> None:
    report = run(engine, folder)

    failures = {Path(path).name: reason for path, reason in report.failures}
    assert failures.keys() == BAD_FILES.keys()
    for name, (_, reason) in BAD_FILES.items():
        assert reason in failures[name], (name, failures[name])
    good = good_doc_ids(folder)
    assert report.stats.documents == len(good) == 4 + 3 + 2 + 2
    assert engine.store.count() == report.stats.chunks == report.stats.embedded > len(good)
    stored = engine.store.existing_chunks(good)
    assert {row["doc_id"] for row in stored.values()} == set(good)
    bad_sources = [source_id(folder / "bad" / name) for name in BAD_FILES]
    assert not any(engine.store.doc_ids_for_source(source) for source in bad_sources)


def test_a_second_run_over_unchanged_files_embeds_and_writes_nothing(engine: Engine, folder: Path) -> None:
    first = run(engine, folder)
    before = chunk_ids(engine, good_doc_ids(folder))

    second = run(engine, folder)

    # unchanged == chunks means no chunk was embedded or rewritten; deleted == 0 means none was removed
    assert (second.stats.embedded, second.stats.deleted) == (0, 0)
    assert second.stats.unchanged == second.stats.chunks == first.stats.chunks
    assert engine.store.count() == first.stats.chunks == len(before)
    assert chunk_ids(engine, good_doc_ids(folder)) == before
    assert second.failures == first.failures


def test_editing_one_file_re_embeds_only_its_changed_chunks(engine: Engine, folder: Path) -> None:
    run(engine, folder)
    notes = folder / "notes.txt"
    edited = NOTES.replace("Paragraph 39.", "Paragraph 39, rewritten.")
    old_chunks = {(c.key, c.text) for c in engine.indexer.chunk(Document(id=source_id(notes), text=NOTES, source=""))}
    new_chunks = {(c.key, c.text) for c in engine.indexer.chunk(Document(id=source_id(notes), text=edited, source=""))}
    write(notes, edited)

    report = run(engine, folder)

    changed = new_chunks - old_chunks
    assert 0 < len(changed) < len(new_chunks)
    assert report.stats.embedded == len(changed)
    assert report.stats.deleted == len({i for i, _ in old_chunks} - {i for i, _ in new_chunks})
    stored = engine.store.existing_chunks([source_id(notes)])
    assert {(i, row["content_hash"]) for i, row in stored.items()} == {
        (i, content_hash(text, engine.embedder.model_id)) for i, text in new_chunks
    }


def test_shortening_a_file_deletes_its_stale_chunks(engine: Engine, folder: Path) -> None:
    notes = folder / "notes.txt"
    doc_id = source_id(notes)
    run(engine, folder)
    long_count = len(chunk_ids(engine, [doc_id]))
    total = engine.store.count()
    write(notes, NOTES.split("\n\n")[0])

    report = run(engine, folder)

    assert long_count > 1
    assert chunk_ids(engine, [doc_id]) == {storage_key(doc_id, 0)}
    assert report.stats.deleted == long_count - 1
    assert engine.store.count() == total - (long_count - 1)


def test_removing_a_row_from_a_table_deletes_that_rows_document(engine: Engine, folder: Path) -> None:
    table = folder / "rows.csv"
    run(engine, folder)
    total = engine.store.count()
    write_table(table, [GOOD_ROWS[0], GOOD_ROWS[2]])

    report = run(engine, folder)

    file_id = source_id(table)
    assert engine.store.doc_ids_for_source(file_id) == {f"{file_id}:r1", f"{file_id}:r3"}
    assert chunk_ids(engine, [f"{file_id}:r2"]) == set()
    assert (report.stats.embedded, report.stats.deleted) == (0, 1)
    assert engine.store.count() == total - 1


def test_a_file_with_one_giant_unbroken_word_is_chunked_and_stored_whole(engine: Engine, tmp_path: Path) -> None:
    root = tmp_path / "kb"
    write(root / "good.txt", "A good file about vector search.")
    write(root / "blob.txt", "ab12" * 20_000)  # one 80,000-character "word": more than a VARCHAR chunk can hold
    report = run(engine, root)
    assert report.failures == []
    assert engine.store.doc_ids_for_source(source_id(root / "good.txt")) == {source_id(root / "good.txt")}
    blob = engine.store.existing_chunks([source_id(root / "blob.txt")])
    assert len(blob) > 1
    spans = sorted((row["char_start"], row["char_end"]) for row in blob.values())
    assert spans[0][0] == 0 and spans[-1][1] == 80_000
    assert all(a_end == b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
