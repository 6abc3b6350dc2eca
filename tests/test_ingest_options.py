"""Issue 15, ingest options: `--metadata` tags a run, `--exclude` and `.gitignore` leave files out, and files left
out are pruned like deleted ones, in Python and on the command line, against real Milvus Lite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.sources import discover
from semsearch.errors import Refused
from semsearch.knowledge_base import KnowledgeBase
from tests.helpers import doc_ids as ids
from tests.helpers import run_cli

FILES = {
    "guide.md": "# Guide\n\nHow to feed the otters at the aquarium every morning.",
    "notes/zebra.txt": "Zebras graze on the savanna in large herds.",
    "notes/draft.txt": "An unfinished draft about penguins.",
    "build/out.txt": "Generated output that nobody should search.",
    "logs/run.txt": "A log line.",
    "logs/keep.txt": "A log worth keeping.",
}
GITIGNORE = {".gitignore": "build/\n", "logs/.gitignore": "*.txt\n!keep.txt\n"}


def tree(root: Path) -> Path:
    (root / ".git").mkdir(parents=True)
    for name, text in {**FILES, **GITIGNORE}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_gitignore_files_are_honoured_each_relative_to_its_directory_deeper_ones_winning(tmp_path: Path) -> None:
    root = tree(tmp_path / "proj")
    found = sorted(p.relative_to(root).as_posix() for p in discover([str(root)]).files)
    assert found == ["guide.md", "logs/keep.txt", "notes/draft.txt", "notes/zebra.txt"]
    excluded = discover([str(root)], exclude=["draft.*", "/guide.md"]).files
    assert sorted(p.relative_to(root).as_posix() for p in excluded) == ["logs/keep.txt", "notes/zebra.txt"]
    # a file named on its own is excluded by its path as given; a glob's matches too
    assert discover([str(root / "guide.md")], exclude=["*.md"]).files == []
    assert [p.name for p in discover([f"{root}/notes/*.txt"], exclude=["draft.txt"]).files] == ["zebra.txt"]


def test_metadata_tags_every_document_of_the_run_and_a_newly_excluded_file_is_pruned(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    root = tree(tmp_path / "proj")
    report = kb.add_files([root], metadata={"tenant": "acme", "year": 2024})
    assert report.stats.documents == 4 and report.removed_documents == 0
    assert ids(kb) == ["guide.md", "logs/keep.txt", "notes/draft.txt", "notes/zebra.txt"]
    assert all(doc.metadata["tenant"] == "acme" for doc in kb.documents())
    assert [d.doc_id for d in kb.documents(filter={"year": {"$gte": 2024}, "format": "md"})] == ["guide.md"]
    assert {h.doc_id for h in kb.search("otters", filter={"tenant": "acme"}).results} >= {"guide.md"}

    again = kb.add_files([root], metadata={"tenant": "acme", "year": 2024}, exclude=["notes/draft.txt"])
    assert (again.stats.embedded, again.removed_documents) == (0, 1)
    assert ids(kb) == ["guide.md", "logs/keep.txt", "notes/zebra.txt"]
    (root / ".gitignore").write_text("build/\nnotes/\n")  # newly ignored: pruned as well
    assert kb.add_files([root], metadata={"tenant": "acme", "year": 2024}).removed_documents == 1
    assert ids(kb) == ["guide.md", "logs/keep.txt"]
    with pytest.raises(Refused, match="metadata key 'bad key'"):
        kb.add_files([root], metadata={"bad key": 1})


def test_ingest_metadata_and_exclude_on_the_command_line(tmp_path: Path) -> None:
    root = tree(tmp_path / "proj")
    env = {"SEMSEARCH_MILVUS_URI": str(tmp_path / "kb.db"), "SEMSEARCH_COLLECTION": "options"}
    args = ["ingest", ".", "--metadata", "tenant=acme", "--metadata", 'tags=["a", "b"]', "--metadata", "year=2024"]
    done = run_cli(*args, "--exclude", "*.md", "--json", cwd=root, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["documents"] == 3
    listed = run_cli("list", "--filter", '{"year": 2024}', "--json", cwd=root, env=env).stdout
    docs = [json.loads(line) for line in listed.splitlines()]
    assert sorted(d["doc_id"] for d in docs) == ["logs/keep.txt", "notes/draft.txt", "notes/zebra.txt"]
    assert {json.dumps(d["metadata"]["tags"]) for d in docs} == {'["a", "b"]'}
    assert all(d["metadata"]["tenant"] == "acme" for d in docs)
    refused = run_cli("ingest", ".", "--metadata", "no-equals-sign", cwd=root, env=env)
    assert refused.returncode == 2 and "key=value" in refused.stderr
    bad_key = run_cli("ingest", ".", "--metadata", "1bad=x", cwd=root, env=env)
    assert bad_key.returncode == 2 and "'1bad'" in bad_key.stderr
