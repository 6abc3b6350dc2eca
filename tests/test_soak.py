"""A test-suite-sized soak: 8 clients over loopback against a real uvicorn server, mixing searches in every mode with
document writes, for a bounded time (SEMSEARCH_SOAK_SECONDS, default 20). Nothing may fail, and afterwards every
document written must be stored and findable."""

from __future__ import annotations

import asyncio
import os
import random
from dataclasses import dataclass, field

import httpx

CLIENTS = 8
SECONDS = float(os.environ.get("SEMSEARCH_SOAK_SECONDS", "20"))
QUERIES = ["how do birds migrate", "volcanic eruptions", "ocean tides and the moon", "ancient libraries", "xylophone"]
MODES = ["dense", "keyword", "hybrid"]


@dataclass
class Tally:
    searches: int = 0
    written: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def marker(doc_id: str) -> str:
    """A made-up word unique to one document, so keyword search can find exactly it."""
    return "zq" + doc_id.replace("-", "x")


async def client_loop(base: str, number: int, tally: Tally, stop_at: float) -> None:
    rng = random.Random(number)
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        sequence = 0
        while asyncio.get_running_loop().time() < stop_at:
            if rng.random() < 0.2:
                doc_id = f"c{number}-{sequence}"
                sequence += 1
                doc = {"id": doc_id, "text": f"Field note {doc_id}: {marker(doc_id)} was seen near the river."}
                response = await http.post("/documents", json={"documents": [doc]})
                if response.status_code == 200:
                    tally.written.append(doc_id)
            else:
                body = {"query": rng.choice(QUERIES), "mode": rng.choice(MODES), "top_k": rng.choice([1, 5, 20])}
                response = await http.post("/search", json=body)
                tally.searches += 1
            if response.status_code != 200:
                tally.errors.append(f"{response.request.url.path} {response.status_code}: {response.text[:200]}")


async def soak(base: str) -> Tally:
    tally = Tally()
    stop_at = asyncio.get_running_loop().time() + SECONDS
    await asyncio.gather(*(client_loop(base, n, tally, stop_at) for n in range(CLIENTS)))
    return tally


def test_eight_clients_searching_and_writing_see_no_errors_and_lose_nothing(running_server: tuple) -> None:
    base, _ = running_server
    seed = [{"id": f"seed-{i}", "text": f"Seed document {i} about {q}."} for i, q in enumerate(QUERIES)]
    httpx.post(f"{base}/documents", json={"documents": seed}, timeout=60).raise_for_status()

    tally = asyncio.run(soak(base))

    assert tally.errors == []
    assert tally.searches > 100 and len(tally.written) > 10, (tally.searches, len(tally.written))
    with httpx.Client(base_url=base, timeout=60) as http:
        assert http.get("/ready").json()["chunks"] == len(seed) + len(tally.written)  # one chunk per document
        stored: set[str] = set()
        for start in range(0, len(tally.written), 100):
            ids = tally.written[start : start + 100]
            body = {"query": "field note", "mode": "dense", "top_k": 100, "filter": {"doc_id": {"$in": ids}}}
            stored |= {hit["doc_id"] for hit in http.post("/search", json=body).json()["results"]}
        assert stored == set(tally.written)
        for doc_id in random.Random(0).sample(tally.written, 10):
            hits = http.post("/search", json={"query": marker(doc_id), "mode": "keyword", "top_k": 1}).json()
            assert [hit["doc_id"] for hit in hits["results"]] == [doc_id]
