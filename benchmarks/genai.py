"""GenAI plug-in numbers: /v1/embeddings through the openai client vs the model in process, /metrics, the page, and
what the request-metrics middleware costs per request.

Starts `semsearch serve` as a real uvicorn process on a fresh Milvus Lite .db holding sample_data/library/*.md,
then times N sequential requests of each kind over loopback. Prints one table, writes JSON.

    .venv/bin/python benchmarks/genai.py [--requests 100] [--json benchmarks/results/genai.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TEXT = "calculate money amounts without losing cents to rounding errors"


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
    }


def timed(call: Callable[[], object], n: int) -> dict[str, float]:
    call()  # warm-up
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


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
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/genai.json")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import openai

    from semsearch.embedder import Embedder
    from semsearch.logs import quiet_libraries
    from semsearch.settings import DEFAULT_MODEL, Settings

    quiet_libraries()
    workdir = Path(tempfile.mkdtemp(prefix="semsearch-genai-"))
    port = 8700 + os.getpid() % 200
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SEMSEARCH_MILVUS_URI": str(workdir / "g.db"), "SEMSEARCH_COLLECTION": "genai"}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "semsearch"), "serve", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.3)
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
    finally:
        server.terminate()
        server.wait(timeout=30)
    overhead = middleware_overhead_us()

    print(f"{'request':52} {'p50 ms':>8} {'p95 ms':>8}")
    for name, row in rows.items():
        print(f"{name:52} {row['p50_ms']:>8} {row['p95_ms']:>8}")
    print(f"/metrics body after the run: {metrics_bytes} bytes; RequestMetrics middleware: {overhead} µs per request")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    result = {"requests": n, "rows": rows, "metrics_bytes": metrics_bytes, "middleware_overhead_us": overhead}
    args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
