"""Seconds to create a knowledge base: `Engine.open(create=True)` of a new collection, on Milvus Lite and on a
Milvus server (standalone 2.3.5 from the `milvus` package, its default config, started here on free ports).

What a user waits for when an app creates a vector store or `semsearch collections create` runs: the chunk
collection and its metadata-keys companion are created, indexed and loaded. The model is loaded once before
timing; every round creates and closes a collection of its own name, and the server's are dropped afterwards.

    .venv/bin/python benchmarks/create.py [--rounds 5] [--server-uri http://host:19530]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from contextlib import nullcontext
from pathlib import Path

from _common import RESULTS, in_the_repo, milvus_server, print_table, write_json


def _create_seconds(uri: str, rounds: int, embedder: object) -> list[float]:
    from semsearch.engine import Engine
    from semsearch.settings import Settings
    from semsearch.store.catalog import Catalog

    seconds = []
    for _ in range(rounds):
        settings = Settings(milvus_uri=uri, collection=f"bench_create_{uuid.uuid4().hex[:8]}", _env_file=None)
        started = time.perf_counter()
        engine = Engine.open(settings, create=True, embedder=embedder)
        seconds.append(time.perf_counter() - started)
        if not settings.is_lite:  # a server keeps what a round made; the product's own drop removes all of it
            Catalog(engine.store).drop(settings.collection)
        engine.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--server-uri", default="", help="a running Milvus server (default: start one here)")
    args = parser.parse_args()
    in_the_repo()
    from semsearch.embedder import Embedder
    from semsearch.settings import Settings

    embedder = Embedder.load(Settings())
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        lite = _create_seconds(str(Path(scratch) / "lite" / "milvus.db"), args.rounds, embedder)
        rows.append(("Milvus Lite", lite))
        server = nullcontext(args.server_uri) if args.server_uri else milvus_server(Path(scratch) / "server")
        with server as uri:
            rows.append(("Milvus server", _create_seconds(uri, args.rounds, embedder)))
    table = [(name, len(s), f"{statistics.median(s):.2f}", f"{min(s):.2f}", f"{max(s):.2f}") for name, s in rows]
    print_table(["backend", "rounds", "p50 s", "min s", "max s"], table)
    write_json(RESULTS / "create.json", {name: seconds for name, seconds in rows})


if __name__ == "__main__":
    main()
