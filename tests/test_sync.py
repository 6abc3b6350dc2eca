"""Issue 15, part one: one file one id, deletions and renames synced, on Milvus Lite and on a real Milvus server.

Every test does real file operations (delete, rename, edit, symlink, re-ingest from another working directory) and
asserts ids and counts exactly.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ingest.sources import source_id
from ingest.sync import glob_regex
from semsearch.knowledge_base import KnowledgeBase
from tests.helpers import ROOT
from tests.helpers import doc_ids as ids

ANIMALS = {
    "zebra.txt": "Zebras graze on the savanna in large herds, watching for lions.",
    "penguin.txt": "Penguins huddle together against the Antarctic cold through the long winter.",
    "notes/otter.md": "# Otters\n\nSea otters hold hands while they sleep so that they do not drift apart.",
}


def project(root: Path) -> Path:
    """A git work tree (ids are relative to its root) holding docs/ with ANIMALS."""
    (root / ".git").mkdir(parents=True)
    for name, text in ANIMALS.items():
        (root / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "docs" / name).write_text(text)
    return root


def test_one_file_has_one_id_however_it_is_spelled_and_wherever_the_command_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "proj")
    (tmp_path / "link").symlink_to(root / "docs")
    monkeypatch.chdir(root)
    spellings = [Path("docs/zebra.txt"), Path("./docs/zebra.txt"), root / "docs" / "zebra.txt"]
    seen = {source_id(p) for p in spellings} | {source_id(tmp_path / "link" / "zebra.txt")}
    monkeypatch.chdir(root / "docs")
    seen |= {source_id(Path("zebra.txt")), source_id(Path("../docs/./zebra.txt"))}
    assert seen == {"docs/zebra.txt"}
    assert source_id(Path("penguin.txt")) == "docs/penguin.txt" != source_id(Path("zebra.txt"))
    # outside any work tree: the absolute path (unique); with a base: relative to it
    loose = tmp_path / "loose.txt"
    assert source_id(loose) == loose.resolve().as_posix()
    assert source_id(loose, base=tmp_path) == "loose.txt"


def test_sample_data_ids_are_relative_to_the_repository_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert source_id(ROOT / "sample_data" / "library" / "decimal.md") == "sample_data/library/decimal.md"


def test_ingest_from_the_parent_then_from_inside_stores_each_file_once(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "proj")
    monkeypatch.chdir(root)
    first = kb.add_files(["docs"])
    assert (first.stats.documents, first.stats.embedded) == (3, 3)
    monkeypatch.chdir(root / "docs")
    again = kb.add_files(["."])
    assert (again.stats.embedded, again.stats.unchanged, again.stats.deleted, again.removed_documents) == (0, 3, 0, 0)
    assert ids(kb) == ["docs/notes/otter.md", "docs/penguin.txt", "docs/zebra.txt"]
    assert kb.count() == 3


def test_a_deleted_file_is_pruned_a_renamed_one_moves_without_embedding_an_edited_one_is_updated(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "proj")
    monkeypatch.chdir(root)
    kb.add_files(["docs"])
    (root / "docs" / "zebra.txt").unlink()
    (root / "docs" / "penguin.txt").rename(root / "docs" / "notes" / "emperor.txt")
    (root / "docs" / "notes" / "otter.md").write_text("# Otters\n\nRiver otters slide down muddy banks for fun.")
    monkeypatch.chdir(root / "docs" / "notes")  # another working directory, another spelling
    report = kb.add_files([str(root / "docs")])
    assert report.removed_documents == 2  # zebra (gone) and penguin (moved)
    assert (report.stats.documents, report.stats.embedded, report.stats.deleted) == (2, 1, 2)  # only the edit
    assert ids(kb) == ["docs/notes/emperor.txt", "docs/notes/otter.md"]
    assert kb.search("zebra savanna lions", mode="dense", top_k=1).results[0].doc_id != "docs/zebra.txt"
    assert kb.count() == 2


def test_no_prune_keeps_the_documents_of_removed_files(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "proj")
    monkeypatch.chdir(root)
    kb.add_files(["docs"])
    (root / "docs" / "zebra.txt").unlink()
    kept = kb.add_files(["docs"], prune=False)
    assert (kept.removed_documents, kept.stats.deleted) == (0, 0)
    assert "docs/zebra.txt" in ids(kb)


def test_a_glob_prunes_only_what_it_selects_and_api_documents_are_never_pruned(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "proj")
    monkeypatch.chdir(root)
    kb.add_files(["docs"])
    kb.add([{"id": "note-1", "text": "The team meets on Fridays.", "source": "api"}])
    (root / "docs" / "zebra.txt").unlink()
    (root / "docs" / "notes" / "otter.md").unlink()
    report = kb.add_files(["docs/*.txt"])  # selects the top-level .txt files only
    assert report.removed_documents == 1
    assert ids(kb) == ["docs/notes/otter.md", "docs/penguin.txt", "note-1"]
    assert kb.add_files(["."]).removed_documents == 1  # the work-tree root: otter goes, the API's note stays
    assert ids(kb) == ["docs/penguin.txt", "note-1"]


def test_base_makes_a_collection_refreshable_from_another_mount_point(kb: KnowledgeBase, tmp_path: Path) -> None:
    first_mount = tmp_path / "mnt" / "a"
    for name, text in ANIMALS.items():
        (first_mount / name).parent.mkdir(parents=True, exist_ok=True)
        (first_mount / name).write_text(text)
    kb.add_files([str(first_mount)], base=first_mount)
    second_mount = tmp_path / "media" / "b"
    shutil.copytree(first_mount, second_mount)
    (second_mount / "zebra.txt").unlink()
    report = kb.add_files([str(second_mount)], base=second_mount)
    assert (report.stats.embedded, report.stats.unchanged, report.removed_documents) == (0, 2, 1)
    assert ids(kb) == ["notes/otter.md", "penguin.txt"]


def test_a_collection_of_the_earlier_cwd_relative_ids_keeps_them_with_base(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Earlier versions wrote ids relative to the working directory. Run from the project root, those are the ids
    the new rule gives; written from elsewhere, `base=` (`--base`) set to that directory keeps them."""
    root = project(tmp_path / "proj")
    docs = root / "docs"
    legacy = [{"id": name, "text": text, "source": name} for name, text in ANIMALS.items()]
    kb.add(legacy)  # what an earlier version stored after `cd docs && semsearch ingest .`
    monkeypatch.chdir(tmp_path)
    report = kb.add_files([str(docs)], base=docs)
    assert (report.stats.embedded, report.removed_documents) == (0, 0)
    assert ids(kb) == sorted(ANIMALS)


def test_glob_patterns_follow_glob_semantics() -> None:
    assert glob_regex("*.md").fullmatch("a.md") and not glob_regex("*.md").fullmatch("sub/a.md")
    assert glob_regex("**/*.md").fullmatch("a.md") and glob_regex("**/*.md").fullmatch("x/y/a.md")
    assert glob_regex("[!a]?.txt").fullmatch("bc.txt") and not glob_regex("[!a]?.txt").fullmatch("ac.txt")
    assert not glob_regex("a+b.md").fullmatch("aab.md")  # other characters are literal


def test_rename_of_many_files_embeds_nothing(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    (root / "old").mkdir()
    for n in range(100):
        (root / "old" / f"note{n:03d}.txt").write_text(f"Note number {n} says the {n}th bird sang at dawn.")
    monkeypatch.chdir(root)
    assert kb.add_files(["old"]).stats.embedded == 100
    os.rename(root / "old", root / "new")
    (root / "old").mkdir()
    report = kb.add_files(["new", "old"])
    assert (report.stats.embedded, report.removed_documents, report.stats.documents) == (0, 100, 100)
    assert len(ids(kb)) == 100 and all(doc_id.startswith("new/") for doc_id in ids(kb))
