"""Write rate against collection size: insert vs upsert through the store, on Milvus Lite and the Milvus server.

Rows come from `_corpus.py` (real sample_data text, vectors near real embeddings), written through the store in
batches of 20,000 rows (`BUILD_BATCH`; the store sends `WRITE_BATCH` rows per request, `--request-rows` changes it)
into a fresh collection; the table has one line per `--step` rows: the collection's size after the step, seconds
and rows/s. Modes:
- `upsert`: `upsert_chunks`, what every write was before (Milvus Lite runs it as a delete plus an insert);
- `insert`: `insert_chunks`, for ids known to be new;
- `checked`: what `Indexer.write` does with chunks its plan found new: read which ids are present
  (`present_ids`), then insert the rest;
- `alternate`: batches of new rows alternately upserted and inserted into one collection, so both rates are
  measured at the same size and under the same machine load (e.g. on a copy of scale.py's 1M collection).
The server is Milvus standalone 2.3.5 (`milvus-server`, started here on free ports) unless `--server-uri`.

    .venv/bin/python benchmarks/writes.py [--backends lite,server] [--modes insert,upsert] [--chunks 300000]
        [--step 100000] [--request-rows 500] [--db PATH (keep the Lite .db, e.g. as scale.py's cache)]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from _common import RESULTS, in_the_repo, milvus_server, print_table, write_json
from _corpus import BUILD_BATCH, batches

COLLECTION = "bench_writes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="lite,server")
    parser.add_argument("--modes", default="insert,upsert")
    parser.add_argument("--chunks", type=int, default=300_000)
    parser.add_argument("--step", type=int, default=100_000)
    parser.add_argument("--request-rows", type=int, default=None, help="Rows per Milvus request (store default).")
    parser.add_argument("--server-uri", default=None)
    parser.add_argument("--db", type=Path, default=None, help="Write Lite here and keep it (one mode only).")
    parser.add_argument("--collection", default=COLLECTION)
    parser.add_argument("--json", type=Path, default=RESULTS / "writes.json")
    args = parser.parse_args()
    in_the_repo()
    from semsearch.store import chunk_writes

    if args.request_rows:
        chunk_writes.WRITE_BATCH = args.request_rows
    backends, modes = args.backends.split(","), args.modes.split(",")
    workdir = Path(tempfile.mkdtemp(prefix="semsearch-writes-"))
    results: dict[str, list[dict]] = {}
    try:
        wants_server = "server" in backends and not args.server_uri
        with milvus_server(workdir / "milvus") if wants_server else nullcontext(args.server_uri) as server_uri:
            for backend in backends:
                for mode in modes:
                    uri = str(args.db or workdir / f"{mode}.db") if backend == "lite" else server_uri
                    steps = write_steps(uri, args.collection, mode, args.chunks, args.step)
                    if mode == "alternate":
                        for verb in ("upsert", "insert"):
                            results[f"{backend} {verb} (alternating)"] = [s[verb] for s in steps]
                    else:
                        results[f"{backend} {mode}"] = steps
                    write_json(args.json, results)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"rows/s per {args.step:,}-row step ({chunk_writes.WRITE_BATCH} rows per request)")
    sizes = [step["rows"] for step in next(iter(results.values()))]
    print_table(
        ["rows after step", *results],
        ([f"{size:,}", *(_rate(results[key], size) for key in results)] for size in sizes),
    )
    print_table(
        ["run", "total s", "rows/s"],
        ([key, round(sum(s["seconds"] for s in steps), 1), _overall(steps)] for key, steps in results.items()),
    )


def write_steps(uri: str, collection: str, mode: str, n: int, step: int, keep: bool = False) -> list[dict]:
    """Write rows 0..n into a new (or resumed) collection with `mode`; seconds in Milvus per `step` rows. A server
    collection is dropped afterwards unless `keep`."""
    from semsearch.engine import Engine
    from semsearch.settings import Settings

    settings = Settings(milvus_uri=uri, collection=collection, milvus_timeout=600, _env_file=None)
    engine = Engine.open(settings, create=True)
    store = engine.store
    have = store.count()
    first = have - have % BUILD_BATCH  # rows are generated on a grid of BUILD_BATCH: redo a partial batch
    steps: list[dict] = []
    spent, written, done = {"upsert": 0.0, "insert": 0.0}, {"upsert": 0, "insert": 0}, first
    try:
        for number, rows in enumerate(batches(first, n)):
            verb = _verb(mode, number, done < have)
            started = time.perf_counter()
            if verb == "checked":
                present = store.present_ids([row["id"] for row in rows])
                store.insert_chunks([row for row in rows if row["id"] not in present])
            else:
                getattr(store, f"{verb}_chunks")(rows)
            verb = "upsert" if verb == "upsert" else "insert"
            spent[verb] += time.perf_counter() - started
            written[verb] += len(rows)
            done += len(rows)
            if done % step == 0 or done == n:
                steps.append(_step(done, spent, written, mode))
                print(f"{uri} {mode}: {done:,} rows, {steps[-1]}", flush=True)
                spent, written = {"upsert": 0.0, "insert": 0.0}, {"upsert": 0, "insert": 0}
        if not uri.endswith(".db") and not keep:
            store.client.drop_alias(store.collection)
            store.client.drop_collection(store.target)
    finally:
        engine.close()
    return steps


def _verb(mode: str, number: int, rewriting: bool) -> str:
    """The store verb for batch `number`: a batch the collection may already hold (a resumed build) is upserted."""
    if rewriting or mode == "upsert":
        return "upsert"
    if mode == "alternate":
        return ("upsert", "insert")[number % 2]
    return mode


def _step(rows: int, spent: dict[str, float], written: dict[str, int], mode: str) -> dict:
    """One step's figures: for `alternate` one per verb, else the step's total."""

    def figures(seconds: float, count: int) -> dict:
        return {"rows": rows, "written": count, "seconds": round(seconds, 2), "rows_per_s": round(count / seconds)}

    if mode == "alternate":
        return {verb: figures(spent[verb], written[verb]) for verb in ("upsert", "insert")}
    return figures(sum(spent.values()), sum(written.values()))


def _rate(steps: list[dict], size: int) -> object:
    return next((f"{s['rows_per_s']:,}" for s in steps if s["rows"] == size), "-")


def _overall(steps: list[dict]) -> str:
    seconds = sum(s["seconds"] for s in steps)
    return f"{round(sum(s['written'] for s in steps) / seconds):,}" if seconds else "-"


if __name__ == "__main__":
    main()
