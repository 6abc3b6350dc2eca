"""Issue 15, export and import: a collection moves as a JSON Lines file, with its vectors (0 embedded) or without
(rebuilt and embedded), and a bad file is named by its line and completed by a re-run; on real Milvus Lite and,
for the Lite → server → Lite round trip, on the real Milvus 2.3.5 server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from semsearch import transfer
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.knowledge_base import KnowledgeBase
from semsearch.settings import Settings
from semsearch.transfer import NotAnExport
from tests.helpers import run_cli
from tests.milvus_server import MilvusServer

FILES = {
    "zebra.txt": "Zebras graze on the savanna in large herds, watching for lions.",
    "penguin.txt": "Penguins huddle together against the Antarctic cold through the long winter.",
    "notes/otter.md": "# Otters\n\nSea otters hold hands while they sleep so that they do not drift apart.",
    "notes/long.md": "# Rivers\n\n" + " ".join(f"The river bend number {i} floods in spring." for i in range(120)),
}
QUERIES = ["zebra savanna", "otters sleeping", "cold winter birds", "river floods"]


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    for name, text in FILES.items():
        (root / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "docs" / name).write_text(text)
    return root / "docs"


@contextmanager
def lite(path: Path, embedder: Embedder, collection: str = "moved") -> Iterator[KnowledgeBase]:
    settings = Settings(milvus_uri=str(path), collection=collection, _env_file=None)
    engine = Engine.open(settings, create=True, embedder=embedder)
    try:
        yield KnowledgeBase(engine)
    finally:
        engine.close()


def results(kb: KnowledgeBase) -> list[list[tuple[str, float]]]:
    """Per query, the dense hits as (chunk id, score to 4 places): equal vectors give equal scores."""
    return [[(h.id, round(h.score, 4)) for h in kb.search(q, mode="dense", top_k=5).results] for q in QUERIES]


def keyword_results(kb: KnowledgeBase) -> list[list[tuple[str, float]]]:
    """Per query, the keyword hits as (chunk id, BM25 score to 3 places): equal windows give equal scores."""
    return [[(h.id, round(h.raw_score, 3)) for h in kb.search(q, mode="keyword", top_k=5).results] for q in QUERIES]


def texts(kb: KnowledgeBase) -> dict[str, str]:
    return {doc.doc_id: kb.document(doc.doc_id).text for doc in kb.documents()}


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_export_then_import_with_vectors_embeds_nothing_and_searches_alike(
    tmp_path: Path, docs: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transfer, "DOC_BATCH", 2)  # several batches each way
    with lite(tmp_path / "a.db", embedder, "original") as kb:
        kb.add_files([docs])
        before, before_texts, chunks = results(kb), texts(kb), kb.count()
        before_keyword = keyword_results(kb)
        exported = kb.export(tmp_path / "kb.jsonl")
    header, *rows = lines(tmp_path / "kb.jsonl")
    assert header["format"] == "semsearch-export" and header["schema_version"] == 1 and header["vectors"] is True
    assert (header["model"], header["dim"], header["chunks"]) == (embedder.model_id, embedder.dim, chunks)
    assert (exported.documents, exported.chunks, len(rows)) == (4, chunks, chunks) and chunks > 4
    assert set(rows[0]) == {*transfer.CHUNK_FIELDS, "embedding"}
    runs = [r["doc_id"] for i, r in enumerate(rows) if i == 0 or rows[i - 1]["doc_id"] != r["doc_id"]]
    assert sorted(runs) == sorted(set(runs))  # document by document,
    for doc_id in runs:  # each in chunk order
        indexes = [r["chunk_index"] for r in rows if r["doc_id"] == doc_id]
        assert indexes == list(range(len(indexes)))
    with lite(tmp_path / "b.db", embedder) as kb:
        imported = kb.import_from(tmp_path / "kb.jsonl")
        assert (imported.stats.embedded, imported.rebuilt, imported.chunks) == (0, False, chunks)
        assert kb.count() == chunks and results(kb) == before and texts(kb) == before_texts
        assert keyword_results(kb) == before_keyword  # each chunk's keyword window rebuilt as ingest made it
        assert kb.import_from(tmp_path / "kb.jsonl").stats.embedded == 0 and kb.count() == chunks  # no duplicates


@pytest.mark.parametrize("change", ["no vectors", "another model"])
def test_an_import_without_vectors_or_from_another_model_rebuilds_and_embeds_the_documents(
    tmp_path: Path, docs: Path, embedder: Embedder, change: str
) -> None:
    with lite(tmp_path / "a.db", embedder, "original") as kb:
        kb.add_files([docs], metadata={"tenant": "acme"})
        before_texts, chunks = texts(kb), kb.count()
        kb.export(tmp_path / "kb.jsonl", vectors=change == "another model")
    if change == "another model":  # as if exported from a collection built with another model
        header, *rest = (tmp_path / "kb.jsonl").read_text().splitlines(keepends=True)
        other = json.dumps({**json.loads(header), "model": "other/model", "dim": 768}) + "\n"
        (tmp_path / "kb.jsonl").write_text(other + "".join(rest))
    else:
        assert "embedding" not in lines(tmp_path / "kb.jsonl")[1]
    with lite(tmp_path / "b.db", embedder) as kb:
        imported = kb.import_from(tmp_path / "kb.jsonl")
        assert imported.rebuilt and imported.stats.embedded == chunks and kb.count() == chunks
        assert texts(kb) == before_texts
        assert {doc.metadata["tenant"] for doc in kb.documents()} == {"acme"}
        assert kb.search("otters sleeping", top_k=1).results[0].doc_id == "docs/notes/otter.md"


def test_a_bad_file_is_named_by_its_line_and_a_rerun_completes_the_import(
    tmp_path: Path, docs: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transfer, "DOC_BATCH", 1)
    with lite(tmp_path / "a.db", embedder, "original") as kb:
        kb.add_files([docs])
        chunks = kb.count()
        kb.export(tmp_path / "kb.jsonl")
    good = (tmp_path / "kb.jsonl").read_text().splitlines(keepends=True)
    header = json.loads(good[0])
    bad = tmp_path / "bad.jsonl"
    cases = {
        "not an export": ('{"hello": "world"}\n', ":1: not a semsearch export"),
        "another schema version": (json.dumps({**header, "schema_version": 99}) + "\n", ":1: export schema version 99"),
    }
    with lite(tmp_path / "b.db", embedder) as kb:
        for first, message in cases.values():
            bad.write_text(first + "".join(good[1:]))
            with pytest.raises(NotAnExport, match=message):
                kb.import_from(bad)
        assert kb.count() == 0
        last_doc = json.loads(good[-1])["doc_id"]
        cut = next(i for i, line in enumerate(good) if json.loads(line).get("doc_id") == last_doc)
        bad.write_text("".join(good[:cut]) + '{"id": "truncat\n' + "".join(good[cut:]))
        with pytest.raises(NotAnExport, match=rf"bad.jsonl:{cut + 1}: corrupt line"):
            kb.import_from(bad)
        assert 0 < kb.count() < chunks and last_doc not in {d.doc_id for d in kb.documents()}
        bad.write_text("".join(good))  # fixed: a re-run completes it, nothing twice
        assert kb.import_from(bad).stats.embedded == 0 and kb.count() == chunks


def test_export_and_import_on_the_command_line(tmp_path: Path, docs: Path) -> None:
    env = {"SEMSEARCH_MILVUS_URI": str(tmp_path / "a.db"), "SEMSEARCH_COLLECTION": "cli"}
    assert run_cli("ingest", str(docs), "--json", cwd=tmp_path, env=env).returncode == 0
    done = run_cli("export", "kb.jsonl", "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["documents"] == 4
    thin = run_cli("export", "thin.jsonl", "--no-vectors", cwd=tmp_path, env=env)
    assert thin.returncode == 0 and "without vectors" in thin.stdout
    assert (tmp_path / "thin.jsonl").stat().st_size < (tmp_path / "kb.jsonl").stat().st_size / 3
    other = {**env, "SEMSEARCH_MILVUS_URI": str(tmp_path / "b.db")}
    loaded = run_cli("import", "kb.jsonl", "--json", cwd=tmp_path, env=other)
    assert loaded.returncode == 0, loaded.stderr
    assert (json.loads(loaded.stdout)["embedded"], json.loads(loaded.stdout)["rebuilt"]) == (0, False)
    (tmp_path / "bad.jsonl").write_text("not json\n")
    refused = run_cli("import", "bad.jsonl", cwd=tmp_path, env=other)
    assert refused.returncode == 1 and "bad.jsonl:1: not a semsearch export" in refused.stderr
    assert run_cli("import", "missing.jsonl", cwd=tmp_path, env=other).returncode == 2


@pytest.mark.server
def test_a_round_trip_lite_to_server_to_lite_gives_the_same_search_results(
    tmp_path: Path, docs: Path, embedder: Embedder, milvus_server: MilvusServer
) -> None:
    with lite(tmp_path / "a.db", embedder, "original") as kb:
        kb.add_files([docs])
        before, before_texts = results(kb), texts(kb)
        kb.export(tmp_path / "lite.jsonl")
    settings = Settings(milvus_uri=milvus_server.uri, collection=f"moved_{uuid.uuid4().hex[:12]}", _env_file=None)
    engine = Engine.open(settings, create=True, embedder=embedder)
    try:
        kb = KnowledgeBase(engine)
        assert kb.import_from(tmp_path / "lite.jsonl").stats.embedded == 0
        assert results(kb) == before and texts(kb) == before_texts
        kb.export(tmp_path / "server.jsonl")
    finally:
        store = engine.store
        store.client.drop_alias(store.collection)
        store.client.drop_collection(store.target)
        store.client.drop_collection(f"{store.collection}__keys")
        engine.close()
    with lite(tmp_path / "c.db", embedder) as kb:
        assert kb.import_from(tmp_path / "server.jsonl").stats.embedded == 0
        assert results(kb) == before and texts(kb) == before_texts
