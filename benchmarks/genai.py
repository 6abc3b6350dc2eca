"""GenAI plug-in numbers: /v1/embeddings through the openai client vs the model in process, /metrics, the page, and
what the request-metrics middleware costs per request.

Starts `semsearch serve` as a real uvicorn process on a fresh Milvus Lite .db holding sample_data/library/*.md,
then times N sequential requests of each kind over loopback. Prints one table, writes JSON.

    .venv/bin/python benchmarks/genai.py [--requests 100] [--json benchmarks/results/genai.json]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from _common import RESULTS, ROOT, api_server, in_the_repo, percentiles, print_table, write_json

TEXT = "calculate money amounts without losing cents to rounding errors"


def timed(call: Callable[[], object], n: int) -> dict[str, float]:
    call()  # warm-up
    ms = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        ms.append((time.perf_counter() - started) * 1000)
    return percentiles(ms)


def middleware_overhead_us(n: int = 20_000) -> float:
    """Per-request cost of RequestMetrics around a trivial ASGI app, in microseconds (no network, no FastAPI)."""
    from search_api.metrics import HttpMetrics, RequestMetrics
    from semsearch.metrics import EngineMetrics

    async def bare(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    wrapped = RequestMetrics(bare, HttpMetrics.register(EngineMetrics().registry))

    async def run(app) -> float:
        async def receive() -> dict:
            return {"type": "http.request", "body": b""}

        async def send(message) -> None:
            return None

        started = time.perf_counter()
        for _ in range(n):
            await app({"type": "http", "method": "GET", "path": "/x", "headers": []}, receive, send)
        return time.perf_counter() - started

    bare_s, wrapped_s = asyncio.run(run(bare)), asyncio.run(run(wrapped))
    return round((wrapped_s - bare_s) / n * 1e6, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--json", type=Path, default=RESULTS / "genai.json")
    args = parser.parse_args()
    in_the_repo()
    import openai

    from semsearch.embedder import Embedder
    from semsearch.settings import DEFAULT_MODEL, Settings

    workdir = Path(tempfile.mkdtemp(prefix="semsearch-genai-"))
    env = {"SEMSEARCH_MILVUS_URI": str(workdir / "g.db"), "SEMSEARCH_COLLECTION": "genai"}
    with api_server(env, command=[str(Path(sys.executable).parent / "semsearch"), "serve"]) as api:
        base = api.base
        docs = [
            {"id": str(p.relative_to(ROOT)), "text": p.read_text(), "source": str(p.relative_to(ROOT))}
            for p in sorted((ROOT / "sample_data/library").glob("*.md"))
        ]
        httpx.post(f"{base}/documents", json={"documents": docs}, timeout=600).raise_for_status()

        n = args.requests
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused")
        batch = [f"{TEXT} ({i})" for i in range(32)]
        http = httpx.Client(base_url=base, timeout=60)
        embedder = Embedder.load(Settings(_env_file=None))
        rows = {
            "model.encode in process, 1 text": timed(lambda: embedder.embed_documents([TEXT]), n),
            "openai client /v1/embeddings, 1 text (base64)": timed(
                lambda: client.embeddings.create(model=DEFAULT_MODEL, input=TEXT), n
            ),
            "httpx /v1/embeddings, 1 text (float JSON)": timed(
                lambda: http.post("/v1/embeddings", json={"model": DEFAULT_MODEL, "input": TEXT}), n
            ),
            "model.encode in process, 32 texts": timed(lambda: embedder.embed_documents(batch), max(10, n // 5)),
            "openai client /v1/embeddings, 32 texts": timed(
                lambda: client.embeddings.create(model=DEFAULT_MODEL, input=batch), max(10, n // 5)
            ),
            "POST /search dense": timed(lambda: http.post("/search", json={"query": TEXT, "mode": "dense"}), n),
            "GET /metrics": timed(lambda: http.get("/metrics"), n),
            "GET / (search page)": timed(lambda: http.get("/"), n),
            "GET /health": timed(lambda: http.get("/health"), n),
        }
        metrics_bytes = len(http.get("/metrics").content)
    overhead = middleware_overhead_us()

    print_table(["request", "p50 ms", "p95 ms", "p99 ms"], ([name, *row.values()] for name, row in rows.items()))
    print(f"/metrics body after the run: {metrics_bytes} bytes; RequestMetrics middleware: {overhead} µs per request")
    write_json(
        args.json, {"requests": n, "rows": rows, "metrics_bytes": metrics_bytes, "middleware_overhead_us": overhead}
    )


if __name__ == "__main__":
    main()
