"""Issue 15, `ingest --watch`: creates, edits, renames and deletes under a watched folder are applied within a few
seconds (real inotify events, real Milvus Lite), a folder that disappears is a message, and Ctrl-C ends the command
cleanly with a summary."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from ingest.loaders import TableOptions
from ingest.pipeline import IngestReport
from ingest.sinks import EngineSink
from ingest.watch import apply_changes, watch
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.knowledge_base import KnowledgeBase
from semsearch.settings import Settings
from semsearch_cli.watching import WATCHING
from tests.helpers import semsearch_bin

#: How long to wait for a change to be applied before calling the watch stuck: a guard against a hang, not a
#: speed test (a batch is applied in about a second, the debounce being 0.5 s; the delays are printed, and speed
#: belongs to benchmarks/). Generous, because a loaded machine embeds slowly.
DEADLINE_S = 120.0


def wait_until_watching(proc: subprocess.Popen) -> None:
    """The command says on stderr when its watches are set; a change made before that line may be missed."""
    while line := proc.stderr.readline():  # type: ignore[union-attr]
        if WATCHING in line:
            return
    pytest.fail("the watch ended before saying it was watching")


@pytest.fixture
def kb(tmp_path: Path, embedder: Embedder) -> Iterator[KnowledgeBase]:
    settings = Settings(milvus_uri=str(tmp_path / "kb" / "milvus.db"), collection="watch", _env_file=None)
    engine = Engine.open(settings, create=True, embedder=embedder)
    try:
        yield KnowledgeBase(engine)
    finally:
        engine.close()


def ids(kb: KnowledgeBase) -> list[str]:
    return sorted(doc.doc_id for doc in kb.documents())


def test_creates_edits_renames_and_deletes_are_applied_within_seconds(kb: KnowledgeBase, tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "docs" / "zebra.txt").write_text("Zebras graze on the savanna in large herds.")
    kb.add_files([root / "docs"])
    batches: queue.Queue[IngestReport] = queue.Queue()
    stop = threading.Event()
    args = [str(root / "docs")]
    watching = threading.Event()
    thread = threading.Thread(
        target=watch,
        args=(args, EngineSink(kb.engine), TableOptions()),
        kwargs={"on_batch": lambda r, g: batches.put(r), "stop": stop, "on_ready": watching.set},
    )
    thread.start()
    delays: list[float] = []

    def until(done: Callable[[IngestReport], bool]) -> IngestReport:
        started, total = time.monotonic(), IngestReport()
        while not done(total):
            report = batches.get(timeout=DEADLINE_S - (time.monotonic() - started))
            total.stats.add(report.stats)
            total.removed_documents += report.removed_documents
        delays.append(time.monotonic() - started)
        return total

    try:
        assert watching.wait(DEADLINE_S), "the watch did not start"
        (root / "docs" / "otter.md").write_text("# Otters\n\nSea otters hold hands while they sleep.")
        assert until(lambda t: t.stats.documents >= 1).stats.embedded >= 1
        assert ids(kb) == ["docs/otter.md", "docs/zebra.txt"]
        (root / "docs" / "otter.md").write_text("# Otters\n\nSea otters hold hands and float on their backs.")
        assert until(lambda t: t.stats.embedded >= 1).stats.embedded >= 1
        (root / "docs" / "zebra.txt").rename(root / "docs" / "stripes.txt")
        renamed = until(lambda t: t.removed_documents >= 1)
        assert renamed.stats.embedded == 0 and ids(kb) == ["docs/otter.md", "docs/stripes.txt"]
        (root / "docs" / "otter.md").unlink()
        until(lambda t: t.removed_documents >= 1)
        assert ids(kb) == ["docs/stripes.txt"]
        assert "floating" not in kb.document("docs/stripes.txt").text
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    print(f"watch delays (s): {[round(d, 2) for d in delays]}")


def test_ctrl_c_stops_the_watch_with_a_summary_and_a_vanished_folder_is_a_message(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    for folder in ("docs", "more"):
        (root / folder).mkdir()
        (root / folder / "a.txt").write_text(f"Penguins huddle together in the {folder} folder.")
    env = {"SEMSEARCH_MILVUS_URI": str(tmp_path / "kb.db"), "SEMSEARCH_COLLECTION": "watch", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [semsearch_bin(), "ingest", "docs", "more", "--watch", "--json"],
        cwd=root,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
        assert (first["event"], first["documents"]) == ("ingested", 2)
        wait_until_watching(proc)
        (root / "more" / "a.txt").unlink()
        (root / "more").rmdir()
        gone = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
        assert gone["event"] == "applied" and gone["gone"] == ["more"]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["documents"] == 2 and "Traceback" not in err and "stopped after" in err


def test_watch_through_the_api_applies_a_new_file_and_a_delete(
    running_server: tuple[str, Path], tmp_path: Path
) -> None:
    base, _ = running_server
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "docs" / "zebra.txt").write_text("Zebras graze on the savanna in large herds.")
    proc = subprocess.Popen(
        [semsearch_bin(), "ingest", "docs", "--api", base, "--watch", "--json"],
        cwd=root,
        env={**os.environ, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert json.loads(proc.stdout.readline())["documents"] == 1  # type: ignore[union-attr]
        wait_until_watching(proc)
        (root / "docs" / "otter.md").write_text("# Otters\n\nSea otters hold hands while they sleep.")
        (root / "docs" / "zebra.txt").unlink()
        applied = IngestReport()
        while applied.removed_documents < 1 or applied.stats.documents < 1:
            line = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
            applied.stats.documents += line["documents"]
            applied.removed_documents += line["removed_documents"]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    stored = httpx.get(f"{base}/documents").json()["documents"]
    assert [d["doc_id"] for d in stored] == ["docs/otter.md"]


def test_a_batch_with_no_prune_keeps_the_documents_of_deleted_files(kb: KnowledgeBase, tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    (root / "docs").mkdir()
    for name in ("zebra.txt", "otter.txt"):
        (root / "docs" / name).write_text(f"A note about the {name[:-4]}, who lives far away.")
    kb.add_files([root / "docs"])
    (root / "docs" / "zebra.txt").unlink()
    changed = {root / "docs" / "zebra.txt"}
    sink, args = EngineSink(kb.engine), [str(root / "docs")]
    kept, _ = apply_changes(args, changed, sink, TableOptions(), prune_missing=False)
    assert kept.removed_documents == 0 and ids(kb) == ["docs/otter.txt", "docs/zebra.txt"]
    pruned, _ = apply_changes(args, changed, sink, TableOptions())
    assert (pruned.removed_documents, pruned.stats.embedded) == (1, 0) and ids(kb) == ["docs/otter.txt"]
