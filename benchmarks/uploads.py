"""Files in over HTTP against a local ingest, and 20 uploads at once (issue 25's targets).

    .venv/bin/python benchmarks/uploads.py [--rounds 1] [--pages 100] [--slides 50] [--concurrent 20]

1. A generated 100-page PDF and a 50-slide deck, each ingested locally (`KnowledgeBase.add_files`, in this process,
   model loaded) and uploaded to a real `python -m search_api` process (`POST /files`, then `GET /jobs/{id}` every
   50 ms), alternating, each into a collection that has never seen its text: seconds until searchable (the ingest
   returns / the job is done and a search filtered to the file finds it). Target: upload within local + 10%.
2. `--concurrent` uploads at once (one small PDF each, all different) while a thread searches without pause:
   every job done, every file stored, chunks stored = chunks the jobs wrote (no duplicate, none lost), and the
   search p50 during the uploads against the p50 before them.

Prints the load average beside the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import ROOT, api_server, in_the_repo, percentiles, print_table


def words(seed: str) -> list[str]:
    """A vocabulary from sample_data's text, shuffled per `seed`: every document of every round differs, so no
    chunk's content hash repeats and every run embeds everything."""
    vocabulary = sorted({w for p in (ROOT / "sample_data" / "library").glob("*.md") for w in p.read_text().split()})
    rng = random.Random(seed)
    return [rng.choice(vocabulary) for _ in range(400_000)]


def paragraph(pool: list[str], start: int, count: int) -> str:
    return " ".join(pool[start : start + count]).encode("latin-1", "replace").decode("latin-1")


def make_pdf(path: Path, pages: int, seed: str) -> Path:
    from fpdf import FPDF

    pool, pdf = words(seed), FPDF()
    pdf.set_font("Helvetica", size=10)
    for page in range(pages):
        pdf.add_page()
        pdf.multi_cell(0, 5, f"Page {page + 1}. " + paragraph(pool, page * 320, 320))
    pdf.output(str(path))
    return path


def make_deck(path: Path, slides: int, seed: str) -> Path:
    from pptx import Presentation

    pool, deck = words(seed), Presentation()
    for slide in range(slides):
        page = deck.slides.add_slide(deck.slide_layouts[1])
        page.shapes.title.text = f"Slide {slide + 1}: " + paragraph(pool, slide * 200, 4)
        page.placeholders[1].text = paragraph(pool, slide * 200 + 4, 180)
    deck.save(str(path))
    return path


def searchable(http, base: str, doc_id: str) -> bool:
    body = {"query": "page slide", "top_k": 1, "filter": {"doc_id": doc_id}, "mode": "dense"}
    return bool(http.post(f"{base}/search", json=body).json()["results"])


def upload(http, base: str, path: Path, doc_id: str) -> tuple[float, dict]:
    started = time.perf_counter()
    with path.open("rb") as handle:
        job = http.post(f"{base}/files", files=[("files", (path.name, handle))], data={"doc_id": doc_id}).json()
    while job["state"] in ("queued", "running"):
        time.sleep(0.05)
        job = http.get(f"{base}/jobs/{job['id']}").json()
    assert job["state"] == "done" and job["files_done"] == 1, job
    assert searchable(http, base, doc_id)
    return time.perf_counter() - started, job


def local(kb, path: Path, doc_id: str) -> tuple[float, int]:
    started = time.perf_counter()
    report = kb.add_named_files({path: doc_id})
    assert not report.failures and kb.search("page slide", top_k=1, filter={"doc_id": doc_id}, mode="dense").results
    return time.perf_counter() - started, report.stats.chunks


def compare(args: argparse.Namespace, work: Path, http, base: str, kb) -> None:
    rows = []
    for round_ in range(args.rounds):
        for kind in ("pdf", "pptx"):
            times, chunks = {}, 0
            for way in ("local", "upload"):  # alternating, each on text no collection has seen
                seed = f"{round_}-{kind}-{way}"
                made = work / f"{seed}.{kind}"
                (make_pdf(made, args.pages, seed) if kind == "pdf" else make_deck(made, args.slides, seed))
                if way == "local":
                    times[way], chunks = local(kb, made, seed)
                else:
                    times[way], _ = upload(http, base, made, seed)
            size = f"{args.pages} pages" if kind == "pdf" else f"{args.slides} slides"
            ratio, load = times["upload"] / times["local"], os.getloadavg()[0]
            seconds = [f"{times['local']:.2f}", f"{times['upload']:.2f}", f"{ratio:.2f}"]
            rows.append((kind, size, chunks, *seconds, f"{load:.1f}"))
    print_table(("file", "size", "chunks", "local s", "upload s", "upload/local", "load avg"), rows)


def concurrent(args: argparse.Namespace, work: Path, http, base: str) -> None:
    import httpx

    files = [make_pdf(work / f"c{n:02d}.pdf", 3, f"concurrent-{n}") for n in range(args.concurrent)]
    idle = [search_ms(http, base, n) for n in range(30)]
    idle_load = os.getloadavg()[0]
    stop, during = threading.Event(), []

    def searching() -> None:
        n = 0
        with httpx.Client(timeout=60) as own:
            while not stop.is_set():
                during.append(search_ms(own, base, n))
                n += 1

    def one(path: Path) -> dict:
        with httpx.Client(timeout=600) as own:
            return upload(own, base, path, f"concurrent/{path.name}")[1]

    searcher = threading.Thread(target=searching)
    searcher.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(args.concurrent) as pool:
        jobs = list(pool.map(one, files))
    took = time.perf_counter() - started
    stop.set()
    searcher.join()
    stored = http.get(f"{base}/documents", params={"source_prefix": "concurrent/", "limit": 1000}).json()["documents"]
    written = sum(job["chunks"] for job in jobs)
    chunks = sum(doc["chunks"] for doc in stored)
    print_table(
        ("uploads", "all done", "files stored", "chunks written", "chunks stored", "took s", "load avg"),
        [(len(files), all(j["state"] == "done" for j in jobs), len(stored), written, chunks, f"{took:.1f}",
          f"{os.getloadavg()[0]:.1f}")],
    )  # fmt: skip
    assert len(stored) == len(files) and chunks == written, "a file was lost or a chunk duplicated"
    print_table(
        ("searches", "count", "p50 ms", "p95 ms", "p99 ms", "load avg"),
        [
            ("before the uploads", len(idle), *percentiles(idle).values(), f"{idle_load:.1f}"),
            ("during the uploads", len(during), *percentiles(during).values(), f"{os.getloadavg()[0]:.1f}"),
        ],
    )


def search_ms(http, base: str, n: int) -> float:
    started = time.perf_counter()
    answer = http.post(f"{base}/search", json={"query": f"how to sort a list {n}", "top_k": 5})
    assert answer.status_code == 200, answer.text
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--slides", type=int, default=50)
    parser.add_argument("--concurrent", type=int, default=20)
    args = parser.parse_args()
    in_the_repo()
    import httpx

    import semsearch

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cache = str(ROOT / "data" / "models")  # the ONNX files exported once, shared by both sides
        env = {"SEMSEARCH_MILVUS_URI": str(work / "served.db"), "SEMSEARCH_COLLECTION": "uploads"}
        with (
            api_server({**env, "SEMSEARCH_MODEL_CACHE": cache}) as api,
            httpx.Client(timeout=600) as http,
            semsearch.open(work / "local.db", collection="uploads", model_cache=cache) as kb,
        ):
            print(f"load average at start: {os.getloadavg()}")
            compare(args, work, http, api.base, kb)
            concurrent(args, work, http, api.base)
            print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
