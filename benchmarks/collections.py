"""Many collections in one service against one process per collection, on Milvus Lite.

`--collections` collections of `--chunks` chunks each are written once into one Milvus Lite `.db` (cached under
benchmarks/results/collections/), each created as the service creates one (its model and settings recorded with
it), its rows written through the store: real sample_data text (so keyword search works) with vectors near real
embeddings (`_corpus.py`; no model runs over 100,000 chunks). Then:

- **one service**: `python -m search_api` on that `.db` (a real process, the first collection its default), with
  `SEMSEARCH_MAX_OPEN_COLLECTIONS` = `--max-open`: seconds until `/ready`, RSS at ready (the API and Milvus Lite,
  its child), the first query of every other collection (`POST /collections/NAME/search`: the collection is opened
  and loaded by that request; a 503 `loading` is polled every 0.1 s until it answers 200), RSS as collections
  open (its slope is the memory one more open collection costs), the p50 of a warm collection, and the first query
  of a collection closed by the bound (opened again).
- **one process per collection**: `--processes` APIs, each on a `.db` of its own holding one collection of
  `--chunks` chunks (Milvus Lite serves one process per `.db`), started one after another: seconds to ready and
  RSS after a query, extrapolated linearly to `--collections` processes (each holds its own model copy).

Queries are the default mode (hybrid: dense + BM25) with top 10; every query text is new (no query-vector cache).
The CPU is shared: the load average is printed beside every figure.

    .venv/bin/python benchmarks/collections.py [--collections 100] [--chunks 1000] [--processes 3] [--max-open 100,16]
        [--queries 100]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from datetime import date
from pathlib import Path

from _common import QUERIES, RESULTS, api_server, in_the_repo, percentiles, print_table, write_json
from _corpus import chunk_rows

CACHE = RESULTS / "collections"
#: Longer than the service's `RETIRE_AFTER` (30 s): a collection closed by the bound is released from Milvus then.
RETIRE_WAIT_S = 35


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--max-open", default="100,16", help="SEMSEARCH_MAX_OPEN_COLLECTIONS, one run each.")
    parser.add_argument("--queries", type=int, default=100, help="Queries for the warm p50.")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--json", type=Path, default=RESULTS / "collections.json")
    args = parser.parse_args()
    in_the_repo()
    names = [f"kb{number:03d}" for number in range(args.collections)]
    shared = CACHE / f"{args.collections}x{args.chunks}" / "milvus.db"
    build(shared, names, args.chunks)
    singles = [CACHE / f"1x{args.chunks}" / name / "milvus.db" for name in names[: args.processes]]
    for number, db in enumerate(singles):
        build(db, [names[number]], args.chunks)
    if args.build_only:
        return
    result = {
        "date": str(date.today()),
        "collections": args.collections,
        "chunks": args.chunks,
        "one_service": [one_service(shared, names, int(bound), args.queries) for bound in args.max_open.split(",")],
        "per_process": per_process(singles, names),
    }
    write_json(args.json, result)
    report(result)


# -- building --------------------------------------------------------------------------------------------------------


def build(db: Path, names: list[str], chunks: int) -> None:
    """Each of `names` in `db` with `chunks` rows (collection `i` holds rows `i*chunks`..), unless `db` was built
    so already (a `built.json` beside it says which); a half-built `db` is built again from nothing."""
    marker = db.with_suffix(".built.json")
    wanted = {"names": names, "chunks": chunks}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return
    from semsearch.embedder import Embedder
    from semsearch.engine import Engine
    from semsearch.settings import Settings

    shutil.rmtree(db.parent, ignore_errors=True)
    db.parent.mkdir(parents=True)
    started = time.perf_counter()
    embedder = None
    for number, name in enumerate(names):
        settings = Settings(milvus_uri=str(db), collection=name, milvus_timeout=600, _env_file=None)
        embedder = embedder or Embedder.load(settings)
        engine = Engine.open(settings, create=True, embedder=embedder)
        try:
            first = int(name.removeprefix("kb")) * chunks
            engine.store.insert_chunks(chunk_rows(first, first + chunks))
            assert engine.store.count() == chunks, (name, engine.store.count())
        finally:
            engine.close()
        if number % 10 == 9:
            print(f"built {number + 1} of {len(names)} in {time.perf_counter() - started:.0f} s", flush=True)
    marker.write_text(json.dumps(wanted))
    print(f"{db}: {len(names)} x {chunks} chunks in {time.perf_counter() - started:.0f} s", flush=True)


# -- measuring ---------------------------------------------------------------------------------------------------------


def one_service(db: Path, names: list[str], max_open: int, queries: int) -> dict:
    """One API over every collection of `db`; the figures the module docstring names."""
    import httpx

    env = {
        "SEMSEARCH_MILVUS_URI": str(db),
        "SEMSEARCH_COLLECTION": names[0],
        "SEMSEARCH_MAX_OPEN_COLLECTIONS": str(max_open),
    }
    started = time.perf_counter()
    with api_server(env) as api, httpx.Client(base_url=api.base, timeout=120) as client:
        ready_s = time.perf_counter() - started
        for i in range(5):  # the default collection's first queries: what every process pays once
            timed_ms(client, None, f"{QUERIES[i]} default {i}")
        at_ready = {"ready_s": round(ready_s, 1), "rss_mb": rss_mb(api.pid), "load": load_average()}
        began = time.perf_counter()
        listed = client.get("/collections").json()
        list_ms = round((time.perf_counter() - began) * 1000)
        count = len(listed.get("collections", listed))
        cold_ms, rss_by_open = [], [[1, at_ready["rss_mb"], lite_rss_mb(api.pid)]]
        for number, name in enumerate(names[1:], start=2):
            cold_ms.append(first_answer_ms(client, name, f"{QUERIES[number % len(QUERIES)]} cold {number}"))
            if number % 10 == 0 or number == len(names):
                rss_by_open.append([number, rss_mb(api.pid), lite_rss_mb(api.pid)])
                print(f"{number} collections queried, RSS {rss_by_open[-1][1]} MB, load {load_average()}", flush=True)
        cold_load = load_average()
        warm = names[-1]  # the last one opened: open whatever the bound
        warm_ms = [timed_ms(client, warm, f"{QUERIES[i % len(QUERIES)]} warm {i}") for i in range(queries)]
        reopened_ms = []
        if len(names) - 1 > max_open:  # the first collections queried were closed to keep the bound
            time.sleep(RETIRE_WAIT_S)  # and released from Milvus once the requests holding them had their time
            reopened_ms = [first_answer_ms(client, name, f"reopened {name}") for name in names[1:11]]
        return {
            "max_open": max_open,
            "listed": count,
            "list_ms": list_ms,
            "at_ready": at_ready,
            "cold_first_query": {**percentiles(cold_ms, 0), "max_ms": round(max(cold_ms)), "load": cold_load},
            "warm": {**percentiles(warm_ms), "load": load_average()},
            "reopened_first_query": {**percentiles(reopened_ms, 0), "load": load_average()} if reopened_ms else None,
            "rss_by_open": rss_by_open,
            "rss_per_open_mb": slope([point for point in rss_by_open if point[0] <= max_open + 1]),
            "rss_end_mb": rss_mb(api.pid),
        }


def per_process(dbs: list[Path], names: list[str]) -> dict:
    """One API per `.db` of one collection, one after another: ready seconds and RSS after a query, each."""
    import httpx

    runs = []
    for db, name in zip(dbs, names, strict=False):
        started = time.perf_counter()
        with api_server({"SEMSEARCH_MILVUS_URI": str(db), "SEMSEARCH_COLLECTION": name}) as api:
            ready_s = time.perf_counter() - started
            with httpx.Client(base_url=api.base, timeout=120) as client:
                warm_ms = [timed_ms(client, None, f"{QUERIES[i % len(QUERIES)]} single {i}") for i in range(20)]
            runs.append(
                {
                    "ready_s": round(ready_s, 1),
                    "rss_mb": rss_mb(api.pid),
                    "p50_ms": round(statistics.median(warm_ms), 1),
                }
            )
            runs[-1]["load"] = load_average()
            print(f"process for {name}: {runs[-1]}", flush=True)
    return {"runs": runs, "rss_mean_mb": round(statistics.mean(run["rss_mb"] for run in runs))}


def first_answer_ms(client, name: str, query: str) -> float:
    """Milliseconds until `name` answers a search with 200, polling a 503 `loading` every 0.1 s."""
    started = time.perf_counter()
    while True:
        response = client.post(f"/collections/{name}/search", json={"query": query, "top_k": 10})
        if response.status_code == 200:
            assert response.json()["results"], (name, query)
            return (time.perf_counter() - started) * 1000
        if response.status_code != 503:
            raise SystemExit(f"{name}: {response.status_code} {response.text[:300]}")
        time.sleep(0.1)


def timed_ms(client, name: str | None, query: str) -> float:
    path = "/search" if name is None else f"/collections/{name}/search"
    started = time.perf_counter()
    response = client.post(path, json={"query": query, "top_k": 10})
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
    return elapsed


def rss_mb(pid: int) -> int:
    """Resident memory of `pid` and its descendants (Milvus Lite runs as the API's child), MB."""
    return round(sum(resident_kb(each) for each in [pid, *descendants(pid)]) / 1024)


def lite_rss_mb(pid: int) -> int:
    """Resident memory of the API's descendants alone (Milvus Lite's server), MB."""
    return round(sum(resident_kb(each) for each in descendants(pid)) / 1024)


def resident_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)


def descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return found + [grandchild for child in found for grandchild in descendants(child)]


def slope(points: list[list[int]]) -> float:
    """MB per open collection: the least-squares slope of RSS against the number open."""
    if len(points) < 2:
        return 0.0
    return round(statistics.linear_regression([p[0] for p in points], [p[1] for p in points]).slope, 1)


def load_average() -> float:
    return round(os.getloadavg()[0], 1)


# -- the tables ------------------------------------------------------------------------------------------------------


def report(result: dict) -> None:
    services, many = result["one_service"], result["per_process"]
    n, mean = result["collections"], many["rss_mean_mb"]
    print(f"{result['date']}: {n} collections x {result['chunks']} chunks, Milvus Lite; hybrid top 10 over HTTP")
    rows = [
        [
            f"one service, max open {one['max_open']}",
            one["at_ready"]["ready_s"],
            one["at_ready"]["rss_mb"],
            max(point[1] for point in one["rss_by_open"]),
            one["rss_end_mb"],
            1,
            one["at_ready"]["load"],
        ]
        for one in services
    ]
    ready = statistics.mean(run["ready_s"] for run in many["runs"])
    rows.append(
        [
            f"one process per collection (x{n} from {len(many['runs'])})",
            round(ready, 1),
            mean,
            mean * n,
            mean * n,
            n,
            many["runs"][-1]["load"],
        ]
    )
    header = ["serving", "start-up to ready s", "RSS at ready MB", f"RSS peak, {n} opened MB", "RSS after MB"]
    header += ["model copies", "load"]
    print_table(header, rows)
    rows = []
    for one in services:
        cold, warm, again = one["cold_first_query"], one["warm"], one["reopened_first_query"]
        bound = f"max open {one['max_open']}"
        rows.append(
            [bound, "first query, cold collection", cold["p50_ms"], cold["p95_ms"], cold["max_ms"], cold["load"]]
        )
        rows.append([bound, "warm collection", warm["p50_ms"], warm["p95_ms"], "", warm["load"]])
        if again:
            rows.append(
                [bound, "first query, closed by the bound", again["p50_ms"], again["p95_ms"], "", again["load"]]
            )
        rows.append([bound, f"GET /collections ({one['listed']} listed)", one["list_ms"], "", "", ""])
    print_table(["one service", "query", "p50 ms", "p95 ms", "max ms", "load"], rows)
    for one in services:
        print(f"max open {one['max_open']}: [collections opened, RSS MB, Milvus Lite's RSS MB] {one['rss_by_open']}")
        print(f"RSS per open collection: {one['rss_per_open_mb']} MB; one process per collection: {mean} MB each")


if __name__ == "__main__":
    main()
