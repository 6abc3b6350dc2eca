"""Our HTML reader against well-kept extractors, on every page of the real-documents sets.

    .venv/bin/python benchmarks/realdocs/extractors.py             # ours (the product's venv)
    OTHER/bin/python benchmarks/realdocs/extractors.py --others    # trafilatura, readability-lxml, jusText
    .venv/bin/python benchmarks/realdocs/extractors.py --table     # the table, from both runs' results

The others are not dependencies of the product, so they run from a venv of their own (`pip install trafilatura
readability-lxml justext`); each run keeps its texts in `CACHE/extract/EXTRACTOR-SET.json`. The reference of each
page is what its generator marks as the content (Sphinx: `role="main"`; asciidoc: `#header` and `#content`), read
with BeautifulSoup; measured against it, per page then averaged:
* text kept: the share of the reference's words found in the output (as a multiset);
* boilerplate: the share of the output's words that are not in the reference (navigation, footers, sidebars);
* code kept: the share of `<pre>` blocks whose every line is in the output, lines intact (indentation aside);
* CPU ms per page (process time: the machine is shared, wall time there measures the neighbours).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE))
from corpus import DEFAULT_CACHE, SETS  # noqa: E402

REFERENCE = {"flask": [{"role": "main"}], "git": [{"id": "header"}, {"id": "content"}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--others", action="store_true", help="run trafilatura, readability-lxml and jusText")
    parser.add_argument("--table", action="store_true", help="print the table from the saved texts")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    out = args.cache / "extract"
    out.mkdir(parents=True, exist_ok=True)
    if args.table:
        table(out, args.cache)
        return
    extractors = others() if args.others else {"ours": ours()}
    for name, docset in SETS.items():
        pages = sorted(docset.corpus(args.cache).rglob("*.html"))
        for label, extract in extractors.items():
            texts, started = {}, time.process_time()
            for page in pages:
                texts[str(page)] = extract(page) or ""
            seconds = time.process_time() - started
            record = {"seconds": seconds, "pages": len(pages), "load": os.getloadavg()[0], "texts": texts}
            (out / f"{label}-{name}.json").write_text(json.dumps(record))
            print(f"{label} {name}: {len(pages)} pages, {seconds * 1000 / len(pages):.1f} ms a page", file=sys.stderr)


def ours():
    sys.path.insert(0, str(HERE.parent.parent))
    from ingest.html_site import read_html

    return lambda page: read_html(page).text


def others() -> dict:
    import justext
    import trafilatura
    from readability import Document

    def read(page: Path) -> str:
        return page.read_text(encoding="utf-8", errors="replace")

    def jt(page: Path) -> str:
        paragraphs = justext.justext(read(page).encode(), justext.get_stoplist("English"))
        return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)

    def readability(page: Path) -> str:
        from bs4 import BeautifulSoup

        return BeautifulSoup(Document(read(page)).summary(), "html.parser").get_text("\n")

    return {
        "trafilatura": lambda page: trafilatura.extract(read(page), include_tables=True, include_formatting=False),
        "readability-lxml": readability,
        "jusText": jt,
    }


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def reference(page: Path, name: str) -> tuple[str, list[list[str]]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.read_text(encoding="utf-8", errors="replace"), "html.parser")
    parts = [found for attrs in REFERENCE[name] for found in soup.find_all(attrs=attrs)]
    for part in parts:
        for junk in part.find_all(["script", "style"]) + part.find_all(class_="headerlink"):
            junk.decompose()
    codes = [
        [line.strip() for line in pre.get_text().splitlines() if line.strip()] for part in parts for pre in part("pre")
    ]
    return " ".join(part.get_text(" ") for part in parts), [c for c in codes if c]


def table(out: Path, cache: Path) -> None:
    print("| set | extractor | text kept | boilerplate | code kept | CPU ms a page (load) |")
    print("|---|---|---|---|---|---|")
    for name in SETS:
        refs = {}
        for path in sorted(out.glob(f"*-{name}.json")):
            label = path.stem.rsplit("-", 1)[0]
            record = json.loads(path.read_text())
            kept, noise, code = [], [], []
            for page, text in record["texts"].items():
                if page not in refs:
                    refs[page] = reference(Path(page), name)
                ref_text, codes = refs[page]
                want, got = Counter(words(ref_text)), Counter(words(text))
                if not want:
                    continue
                common = sum((want & got).values())
                kept.append(common / sum(want.values()))
                noise.append(1 - common / sum(got.values()) if got else 0.0)
                lines = {line.strip() for line in text.splitlines()}
                code += [all(line in lines for line in block) for block in codes]
            ms = record["seconds"] * 1000 / record["pages"]
            print(
                f"| {name} | {label} | {mean(kept):.3f} | {mean(noise):.3f} | "
                f"{mean(code):.3f} ({len(code)}) | {ms:.1f} ({record['load']:.1f}) |"
            )


def mean(values: list) -> float:
    return sum(values) / len(values) if values else 0.0


if __name__ == "__main__":
    main()
