"""Issue 14: chunks known to be new are inserted (Milvus Lite), and every id still has exactly one row.

Milvus does not enforce primary keys on insert, so these tests count rows, not documents: after first ingest,
unchanged re-ingest, edits that add and drop chunks, renames and a stale plan, `count(*)` must equal the number of
distinct ids, on Milvus Lite and on the real server.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from semsearch.engine import Engine
from semsearch.errors import InvalidFilter
from semsearch.knowledge_base import KnowledgeBase
from tests.helpers import stored_row


def stored_ids(engine: Engine) -> list[str]:
    """Every stored row's id, duplicates included (a scan returns each row, and `count(*)` counts each)."""
    return [row["id"] for row in engine.store.scan("", ["id"])]


def assert_one_row_per_id(engine: Engine) -> list[str]:
    ids = stored_ids(engine)
    assert len(ids) == len(set(ids)) == engine.store.count()
    return ids


def long_text(topic: str, paragraphs: int) -> str:
    return "\n\n".join(
        f"{topic} paragraph {i}: " + " ".join([f"{topic}{i}word{j}" for j in range(60)]) for i in range(paragraphs)
    )


def test_reingest_edits_and_renames_leave_exactly_one_row_per_chunk(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "docs" / "a.txt").write_text(long_text("alpha", 6))
    (root / "docs" / "b.txt").write_text(long_text("beta", 3))
    monkeypatch.chdir(root)
    first = kb.add_files(["docs"])
    assert first.stats.embedded == first.stats.chunks > 2
    assert len(assert_one_row_per_id(kb.engine)) == first.stats.chunks

    again = kb.add_files(["docs"])  # unchanged: nothing written
    assert (again.stats.embedded, again.stats.unchanged) == (0, first.stats.chunks)
    assert_one_row_per_id(kb.engine)

    (root / "docs" / "a.txt").write_text(long_text("alpha", 2) + "\n\n" + long_text("gamma", 6))  # edit: more chunks
    (root / "docs" / "b.txt").rename(root / "docs" / "c.txt")  # rename: new ids, reused vectors
    changed = kb.add_files(["docs"])
    assert changed.removed_documents == 1
    stats = changed.stats
    assert stats.reused > 0 and stats.chunks == stats.embedded + stats.unchanged + stats.reused
    ids = assert_one_row_per_id(kb.engine)
    assert len(ids) == changed.stats.chunks

    (root / "docs" / "a.txt").write_text(long_text("alpha", 1))  # edit: fewer chunks
    fewer = kb.add_files(["docs"])
    assert fewer.stats.deleted > 0
    assert len(assert_one_row_per_id(kb.engine)) == fewer.stats.chunks


def test_a_plan_gone_stale_before_its_write_still_leaves_one_row(kb: KnowledgeBase) -> None:
    doc = {"id": "note", "text": "Otters hold hands while they sleep.", "source": "api"}
    indexer = kb.engine.indexer
    first, second = indexer.plan([_doc(doc)]), indexer.plan([_doc(doc)])  # both see the chunk as new
    assert first.new == second.new == {r["id"] for r in first.rows}
    indexer.embed([first, second])
    indexer.write(first)
    indexer.write(second)
    assert len(assert_one_row_per_id(kb.engine)) == 1


def test_concurrent_writers_of_the_same_new_chunks_store_each_once(engine: Engine) -> None:
    rows = [stored_row(f"k{i}", f"d{i}", [0.05] * engine.embedder.dim) for i in range(50)]
    new = {row["id"] for row in rows}
    writers = [threading.Thread(target=engine.store.store_chunks, args=(rows, new)) for _ in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert sorted(assert_one_row_per_id(engine)) == sorted(new)


def test_a_bare_insert_of_a_present_id_would_duplicate_it_which_is_why_store_chunks_checks(engine: Engine) -> None:
    row = stored_row("k", "d", [0.05] * engine.embedder.dim)
    engine.store.insert_chunks([row])
    engine.store.store_chunks([row], new={"k"})  # the plan was wrong: checked, so upserted
    assert engine.store.count() == 1
    engine.store.insert_chunks([row])  # what an unchecked insert does
    assert engine.store.count() == 2


def _doc(fields: dict):
    from semsearch.indexer import Document

    return Document(**fields)


def test_a_metadata_key_stops_being_filterable_once_its_last_document_is_deleted(kb: KnowledgeBase) -> None:
    kb.add(
        [
            {"id": "otter", "text": "Otters sleep holding hands.", "metadata": {"habitat": "river", "kind": "a"}},
            {"id": "zebra", "text": "Zebras graze on the savanna.", "metadata": {"kind": "a"}},
        ]
    )
    assert {"habitat", "kind"} <= set(kb.status()["metadata_fields"])
    kb.delete("otter")
    fields = kb.status()["metadata_fields"]
    assert "habitat" not in fields and "kind" in fields  # still held by the zebra
    with pytest.raises(InvalidFilter, match="habitat"):
        kb.search("otters", filter={"habitat": "river"})
    kb.add([{"id": "heron", "text": "Herons stand still in the shallows.", "metadata": {"habitat": "river"}}])
    assert "habitat" in kb.status()["metadata_fields"]  # a key used again is filterable again
