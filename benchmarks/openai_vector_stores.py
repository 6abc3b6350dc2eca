"""What the OpenAI vector stores layer costs over the product's own routes, on one real server process.

    .venv/bin/python benchmarks/openai_vector_stores.py [--searches 40]

1. Each PDF of sample_data/howto uploaded twice, each time into a collection that has not seen it: `POST /files?wait=
   true` (the default collection), and the `openai` client's `files.create` + `vector_stores.create` +
   `vector_stores.files.create_and_poll` (polling every 100 ms; a new vector store each, created first and timed on
   its own: it is a new Milvus collection): seconds until searchable.
2. Search latency on one vector store (it is a collection): `POST /collections/{vs id}/search` against
   `POST /v1/vector_stores/{vs id}/search` with the `openai` client, same queries, alternating.

Prints the load average beside the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from _common import ROOT, api_server, in_the_repo, percentiles, print_table

QUERIES = ["how do I create a socket", "sorting with a key function", "unicode code points and encodings"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--searches", type=int, default=40, help="searches per route")
    args = parser.parse_args()
    in_the_repo()
    import httpx
    import openai

    pdfs = sorted((ROOT / "sample_data" / "howto").glob("*.pdf"))
    with tempfile.TemporaryDirectory() as folder:
        env = {
            "SEMSEARCH_MILVUS_URI": str(Path(folder) / "bench.db"),
            "SEMSEARCH_COLLECTION": "bench",
            "SEMSEARCH_FILES_DIR": str(Path(folder) / "files"),
        }
        with api_server(env) as api:
            http = httpx.Client(base_url=api.base, timeout=600)
            client = openai.OpenAI(base_url=f"{api.base}/v1", api_key="none", max_retries=0)
            rows, vs_id = [], ""
            for pdf in pdfs:
                started = time.perf_counter()
                with pdf.open("rb") as handle:
                    answer = http.post("/files", params={"wait": "true"}, files={"files": handle})
                answer.raise_for_status()
                native = time.perf_counter() - started
                started = time.perf_counter()
                vs_id = client.vector_stores.create(name=pdf.stem).id
                created = time.perf_counter() - started
                started = time.perf_counter()
                with pdf.open("rb") as handle:
                    kept = client.files.create(file=handle, purpose="assistants")
                file = client.vector_stores.files.create_and_poll(kept.id, vector_store_id=vs_id, poll_interval_ms=100)
                assert file.status == "completed", file.last_error
                compat = time.perf_counter() - started
                rows.append([pdf.name, pdf.stat().st_size, round(native, 2), round(created, 2), round(compat, 2)])
            load = os.getloadavg()[0]
            print(f"Searchable after upload, seconds (load average {load:.1f})\n")
            header = ["file", "bytes", "POST /files?wait", "vector_stores.create", "files.create + create_and_poll"]
            print_table(header, rows)
            native_ms, compat_ms = [], []
            for number in range(args.searches):
                query = QUERIES[number % len(QUERIES)]
                started = time.perf_counter()
                http.post(f"/collections/{vs_id}/search", json={"query": query, "top_k": 10}).raise_for_status()
                native_ms.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                client.vector_stores.search(vs_id, query=query, max_num_results=10)
                compat_ms.append((time.perf_counter() - started) * 1000)
            load = os.getloadavg()[0]
            print(f"\nSearch latency, {args.searches} each, ms (load average {load:.1f})\n")
            print_table(
                ["route", "p50_ms", "p95_ms"],
                [
                    ["POST /collections/{vs}/search (httpx)", *list(percentiles(native_ms).values())[:2]],
                    ["POST /v1/vector_stores/{vs}/search (openai)", *list(percentiles(compat_ms).values())[:2]],
                ],
            )


if __name__ == "__main__":
    main()
