#!/usr/bin/env python3
"""Rebuild ``sample_data/`` from the Python 3.11 documentation shipped by Debian.

The sample corpus is a few hundred short, real documents taken from the official Python
documentation (PSF License Version 2), spread over every format the ingester reads:

* ``sample_data/library/*.html``, ``*.md``, ``*.txt`` -- one standard-library page each
  (title plus its first paragraphs),
* ``sample_data/modules.csv`` -- more library pages, one row each (id, title, text, category),
* ``sample_data/glossary.jsonl`` -- entries of the documentation glossary, one JSON object a line,
* ``sample_data/howto/*.pdf`` -- the opening of a few HOWTO guides, as real text PDFs,
* ``sample_data/documents/`` -- a Word file, a slide deck, a notebook and an e-book, each a page with its
  sections (``sample_documents.py``),
* ``sample_data/NOTICE`` -- source, version, licence and how the corpus was built.

Requirements
------------
apt (Debian 12 "bookworm")::

    apt-get update && apt-get install -y python3.11-doc   # HTML under /usr/share/doc/python3.11/html

pip (any Python >= 3.11 environment; the project's ``dev`` extra has it)::

    pip install "fpdf2>=2.7"      # writes the PDFs (pypdf, a runtime dependency, is used to check them)
    # python-docx, python-pptx and beautifulsoup4 (runtime dependencies) write sample_data/documents/

Usage::

    python scripts/build_sample_data.py [--doc-root /usr/share/doc/python3.11/html] [--out sample_data]

The output is deterministic for a given documentation package version.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

from sample_documents import build_documents
from sample_pages import SKIP_DIV_CLASSES, VOID_TAGS, normalize, parse_page, word_count
from sample_writers import Doc, check_pdf, write_csv, write_html, write_jsonl, write_markdown, write_pdf, write_text

DEFAULT_DOC_ROOT = Path("/usr/share/doc/python3.11/html")
DEBIAN_PACKAGE = "python3.11-doc"

# Word budget for one document: gather paragraphs until TARGET words, never exceed MAX_WORDS,
# and skip pages that have fewer than MIN_WORDS of prose.
MIN_WORDS = 80
TARGET_WORDS = 160
MAX_WORDS = 320
GLOSSARY_MIN_WORDS = 25

# Library pages are dealt round-robin over these formats (sorted by page name).
LIBRARY_FORMATS = ("html", "md", "txt", "csv")

# HOWTO guides rendered to PDF: page names in howto/, written to sample_data/howto/<name>.pdf.
HOWTO_PDFS = ("sorting", "logging", "unicode", "sockets", "ipaddress", "functional")
PDF_MAX_WORDS = 380


def is_prose(paragraph: str) -> bool:
    if paragraph.startswith(("Source code:", "Availability:", "See also", "Author:", "Release:")):
        return False
    if paragraph.endswith(":") and word_count(paragraph) < 12:
        return False  # an orphaned lead-in to a code sample or a list we dropped
    return word_count(paragraph) >= 4


def truncate_sentences(text: str, max_words: int) -> str:
    """Cut ``text`` at a sentence end so that it has at most ``max_words`` words."""
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z])", text)
    out: list[str] = []
    count = 0
    for sentence in sentences:
        n = word_count(sentence)
        if out and count + n > max_words:
            break
        out.append(sentence)
        count += n
    result = " ".join(out)
    if word_count(result) > max_words:  # a single monster sentence
        result = " ".join(result.split()[:max_words]) + " ..."
    return result


def select_paragraphs(paragraphs: list[str], target: int, maximum: int) -> list[str]:
    chosen: list[str] = []
    count = 0
    for paragraph in filter(is_prose, paragraphs):
        n = word_count(paragraph)
        if count + n > maximum:
            if count < target:
                chosen.append(truncate_sentences(paragraph, maximum - count))
            break
        chosen.append(paragraph)
        count += n
        if count >= target:
            break
    return chosen


def slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9_.-]+", "-", text).strip("-.")


def library_docs(doc_root: Path) -> list[Doc]:
    docs: list[Doc] = []
    for path in sorted((doc_root / "library").glob("*.html")):
        page = parse_page(path)
        if path.stem == "index" or not page.title:
            continue
        # Chapter pages (parent is the library index) that only list modules are skipped.
        category = page.breadcrumbs[1] if len(page.breadcrumbs) > 1 else "Core language and built-ins"
        if len(page.breadcrumbs) < 2 and page.has_toctree:
            continue
        paragraphs = select_paragraphs(page.paragraphs, TARGET_WORDS, MAX_WORDS)
        prose_words = word_count(" ".join(paragraphs))
        if prose_words < TARGET_WORDS:
            # A terse introduction: continue with the descriptions of the module's functions.
            paragraphs += select_paragraphs(page.api_paragraphs, TARGET_WORDS - prose_words, MAX_WORDS - prose_words)
        if word_count(" ".join(paragraphs)) < MIN_WORDS:
            continue
        docs.append(Doc(id=slug(path.stem), title=page.title, paragraphs=paragraphs, category=category))
    return docs


class GlossaryParser(HTMLParser):
    """Collect (term, id, definition paragraphs) from the Sphinx glossary page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.entries: list[tuple[str, str, list[str]]] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, starts a skipped region)
        self.skip = 0
        self.dt_parts: list[str] | None = None
        self.dt_id = ""
        self.dd_depth = 0
        self.para_parts: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_TAGS:
            return
        attr = {k: (v or "") for k, v in attrs}
        classes = set(attr.get("class", "").split())
        skipping = (
            (tag == "a" and "headerlink" in classes)
            or tag in {"pre", "table", "script", "style", "nav"}
            or bool(classes & SKIP_DIV_CLASSES)
        )
        self.stack.append((tag, skipping))
        self.skip += skipping
        if tag == "dt" and not self.dd_depth:
            self.dt_parts = []
            self.dt_id = attr.get("id", "")
        elif tag == "dd":
            if self.dd_depth == 0 and self.dt_parts is not None:
                self.entries.append((normalize("".join(self.dt_parts)), self.dt_id, []))
                self.dt_parts = None
            self.dd_depth += 1
        elif tag == "p" and self.dd_depth and not self.skip and self.para_parts is None:
            self.para_parts = []

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_TAGS:
            return
        while self.stack:
            open_tag, skipping = self.stack.pop()
            self.skip -= skipping
            if open_tag == "dd":
                self.dd_depth -= 1
            elif open_tag == "p" and self.para_parts is not None:
                text = normalize("".join(self.para_parts))
                if text and self.entries:
                    self.entries[-1][2].append(text)
                self.para_parts = None
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.dt_parts is not None:
            self.dt_parts.append(data)
        elif self.para_parts is not None:
            self.para_parts.append(data)


def glossary_docs(doc_root: Path) -> list[Doc]:
    parser = GlossaryParser()
    parser.feed((doc_root / "glossary.html").read_text(encoding="utf-8"))
    docs: list[Doc] = []
    seen: set[str] = set()
    for term, _term_id, paragraphs in parser.entries:
        if not term or not paragraphs:
            continue
        chosen = select_paragraphs(paragraphs, MAX_WORDS, MAX_WORDS) or paragraphs[:1]
        if word_count(" ".join(chosen)) < GLOSSARY_MIN_WORDS:
            continue
        doc_id = slug(term)
        if not doc_id or doc_id in seen:
            continue
        seen.add(doc_id)
        docs.append(Doc(id=doc_id, title=term, paragraphs=chosen, category="Glossary"))
    return docs


def howto_docs(doc_root: Path) -> list[Doc]:
    docs: list[Doc] = []
    for name in HOWTO_PDFS:
        page = parse_page(doc_root / "howto" / f"{name}.html")
        paragraphs = select_paragraphs(page.paragraphs, PDF_MAX_WORDS - 60, PDF_MAX_WORDS)
        docs.append(Doc(id=slug(name), title=page.title, paragraphs=paragraphs, category="HOWTO"))
    return docs


def package_version() -> str:
    try:
        result = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", DEBIAN_PACKAGE], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return result.stdout.strip() or "unknown"


def python_release(doc_root: Path) -> str:
    match = re.search(r"<title>\s*([0-9][0-9.]*) Documentation", (doc_root / "index.html").read_text())
    return match.group(1) if match else "3.11"


def write_notice(out: Path, doc_root: Path, counts: dict[str, int], total_words: int) -> None:
    release = python_release(doc_root)
    lines = [
        "Sample corpus for milvus semantic search",
        "=========================================",
        "",
        f"Source: the official Python {release} documentation, as shipped by the Debian package",
        f"{DEBIAN_PACKAGE} {package_version()} (HTML under {doc_root}).",
        "",
        "Licence: the documentation is licensed under the Python Software Foundation License Version 2",
        '("PSF LICENSE AGREEMENT FOR PYTHON"); examples, recipes and other code in the documentation are',
        "additionally licensed under the Zero Clause BSD License. The documentation's copyright notice:",
        "",
        "    Copyright \u00a9 2001-2023 Python Software Foundation. All rights reserved.",
        "    Copyright \u00a9 2000 BeOpen.com. All rights reserved.",
        "    Copyright \u00a9 1995-2000 Corporation for National Research Initiatives. All rights reserved.",
        "    Copyright \u00a9 1991-1995 Stichting Mathematisch Centrum. All rights reserved.",
        "",
        "The full licence text and history are in the documentation's license.html",
        f"({doc_root / 'license.html'}) and in /usr/share/doc/{DEBIAN_PACKAGE}/copyright.",
        "",
        "What was changed: the text is excerpted, not edited. Each document is the title and the first",
        f"prose paragraphs (about {TARGET_WORDS}-{MAX_WORDS} words) of one page; code samples, API",
        "signature blocks, tables, notes and version markers were dropped, and long paragraphs were cut",
        "at a sentence end. Glossary entries keep their full definition paragraphs. In the PDFs,",
        "characters the PDF core font cannot encode were replaced with ASCII look-alikes (e.g. a dash",
        "with '--').",
        "",
        "Layout:",
        f"  library/*.html, *.md, *.txt  one standard-library page each ({counts['html']} html, "
        f"{counts['md']} md, {counts['txt']} txt)",
        f"  modules.csv                  {counts['csv']} more library pages, columns id,title,text,category",
        f"  glossary.jsonl               {counts['jsonl']} glossary entries, fields id,title,text,category",
        f"  howto/*.pdf                  {counts['pdf']} HOWTO guides (opening section of each)",
        f"  documents/                   {counts['documents']} pages with their sections: the argparse tutorial",
        "                               (.docx), the enum HOWTO (.pptx, a slide per section), the regex HOWTO",
        "                               (.ipynb, with code cells), tutorial chapters 4-5 (.epub)",
        f"  total words: {total_words}",
        "",
        "Built by scripts/build_sample_data.py (see its docstring for the apt and pip packages it needs).",
        "",
    ]
    (out / "NOTICE").write_text("\n".join(lines), encoding="utf-8")


def build(doc_root: Path, out: Path) -> dict[str, int]:
    if not (doc_root / "library").is_dir():
        raise SystemExit(f"{doc_root} has no library/ folder: apt-get install {DEBIAN_PACKAGE}")
    library = library_docs(doc_root)
    glossary = glossary_docs(doc_root)
    howtos = howto_docs(doc_root)

    if out.exists():
        shutil.rmtree(out)
    (out / "library").mkdir(parents=True)
    (out / "howto").mkdir()

    counts = dict.fromkeys(("html", "md", "txt", "csv", "jsonl", "pdf"), 0)
    csv_docs: list[Doc] = []
    writers = {"html": write_html, "md": write_markdown, "txt": write_text}
    for index, doc in enumerate(library):
        fmt = LIBRARY_FORMATS[index % len(LIBRARY_FORMATS)]
        counts[fmt] += 1
        if fmt == "csv":
            csv_docs.append(doc)
        else:
            writers[fmt](doc, out / "library" / f"{doc.id}.{fmt}")
    write_csv(csv_docs, out / "modules.csv")
    write_jsonl(glossary, out / "glossary.jsonl")
    counts["jsonl"] = len(glossary)
    for doc in howtos:
        path = out / "howto" / f"{doc.id}.pdf"
        write_pdf(doc, path)
        check_pdf(path, doc)
    counts["pdf"] = len(howtos)
    counts["documents"] = build_documents(doc_root, out / "documents")

    total_words = sum(word_count(d.title) + word_count(d.text) for d in [*library, *glossary, *howtos])
    write_notice(out, doc_root, counts, total_words)
    counts["words"] = total_words
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--doc-root", type=Path, default=DEFAULT_DOC_ROOT)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "sample_data")
    args = parser.parse_args(argv)
    counts = build(args.doc_root, args.out)
    print(", ".join(f"{k}: {v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
