"""HTML read speed: every page of the real-documents sets through the ingest's own file reader (`load_file`).

    .venv/bin/python benchmarks/realdocs/read_speed.py [--repeat 3]
    PYTHONPATH=OLD_TREE .venv/bin/python benchmarks/realdocs/read_speed.py    # the same pages, another version

Reading is the part of HTML ingest that issue 27 changed (chrome, link lists, repeated lines, code blocks); the
model's embedding, which dominates ingest, is the same per chunk. Pages are read in sorted order, as a folder
ingest reads them, with the reader's caches emptied before each pass. Times are the process's CPU time (the
machine is shared: wall time there measures the neighbours), best pass of `--repeat`, with the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE))
from corpus import DEFAULT_CACHE, SETS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from ingest import loaders

    try:
        from ingest import html_site
    except ImportError:  # a version before the folder sampling
        html_site = None
    print(f"reader: {Path(loaders.__file__).parent}; {time.strftime('%Y-%m-%d')}\n")
    print("| set | pages | MB of HTML | best pass, CPU s | CPU ms a page | chars of text | load average |")
    print("|---|---|---|---|---|---|---|")
    for name, docset in SETS.items():
        pages = sorted(docset.corpus(args.cache).rglob("*.html"))
        size = sum(page.stat().st_size for page in pages) / 1e6
        best, chars = float("inf"), 0
        for _ in range(args.repeat):
            if html_site is not None:
                html_site._sampled.cache_clear()
            started = time.process_time()
            chars = sum(len(doc.text) for page in pages for doc in loaders.load_file(page, loaders.TableOptions()))
            best = min(best, time.process_time() - started)
        load = os.getloadavg()[0]
        print(
            f"| {name} | {len(pages)} | {size:.1f} | {best:.2f} | {best * 1000 / len(pages):.1f} | {chars:,} | "
            f"{load:.2f} |"
        )


if __name__ == "__main__":
    main()
