"""`semsearch collections ...` and `--collection` on the other commands, directly on Milvus Lite and through `--api`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_cli

ENV = {"SEMSEARCH_MILVUS_URI": "m.db"}


def _json(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_collections_are_created_filled_searched_listed_and_dropped_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "otters.md").write_text("# Otters\n\nSea otters hold hands while they sleep so they do not drift.\n")
    created = _json(run_cli("collections", "create", "zoo", "--chunk-tokens", "64", "--json", cwd=tmp_path, env=ENV))
    assert created["settings"]["chunk_tokens"] == 64
    ingested = run_cli("ingest", "--collection", "zoo", "otters.md", cwd=tmp_path, env=ENV)
    assert ingested.returncode == 0, ingested.stderr
    found = _json(run_cli("search", "--collection", "zoo", "animals asleep", "--json", cwd=tmp_path, env=ENV))
    assert found["results"][0]["doc_id"].endswith("otters.md")
    listed = _json(run_cli("collections", "list", "--json", cwd=tmp_path, env=ENV))
    assert [c["name"] for c in listed["collections"]] == ["zoo"]

    for args in [
        ("collections", "show", "nope"),
        ("search", "--collection", "nope", "q"),
        ("list", "--collection", "nope"),
    ]:
        missing = run_cli(*args, cwd=tmp_path, env=ENV)
        assert missing.returncode == 4, (args, missing.stderr)
        assert "'nope'" in missing.stderr and "Traceback" not in missing.stderr

    clash = run_cli("collections", "create", "zoo", "--chunk-tokens", "128", cwd=tmp_path, env=ENV)
    assert clash.returncode == 2 and "chunk_tokens is 64" in clash.stderr
    dropped = _json(run_cli("collections", "drop", "zoo", "--yes", "--json", cwd=tmp_path, env=ENV))
    assert "zoo" in dropped["dropped"]
    assert run_cli("collections", "show", "zoo", cwd=tmp_path, env=ENV).returncode == 4


def test_collection_commands_go_through_a_running_api(running_server: tuple[str, Path], tmp_path: Path) -> None:
    base, _ = running_server
    (tmp_path / "otters.md").write_text("Sea otters hold hands while they sleep so they do not drift apart.\n")
    _json(run_cli("collections", "create", "zoo", "--api", base, "--json", cwd=tmp_path))
    ingested = run_cli("ingest", "--api", base, "--collection", "zoo", "otters.md", cwd=tmp_path)
    assert ingested.returncode == 0, ingested.stderr
    found = _json(run_cli("search", "--api", base, "--collection", "zoo", "animals asleep", "--json", cwd=tmp_path))
    assert found["results"][0]["doc_id"].endswith("otters.md")
    served = _json(run_cli("collections", "list", "--api", base, "--json", cwd=tmp_path))
    assert {c["name"] for c in served["collections"]} == {"served", "zoo"}
    missing = run_cli("search", "--api", base, "--collection", "nope", "q", cwd=tmp_path)
    assert missing.returncode == 4 and "'nope'" in missing.stderr


def test_show_and_export_read_the_collection_named_with_collection(tmp_path: Path) -> None:
    (tmp_path / "otters.md").write_text("# Otters\n\nSea otters hold hands while they sleep so they do not drift.\n")
    (tmp_path / "bees.md").write_text("# Bees\n\nHoney bees dance to tell the hive where the flowers are.\n")
    _json(run_cli("collections", "create", "zoo", "--chunk-tokens", "64", "--json", cwd=tmp_path, env=ENV))
    for args in [("ingest", "--collection", "zoo", "otters.md"), ("ingest", "bees.md")]:  # bees: the default one
        ingested = run_cli(*args, cwd=tmp_path, env=ENV)
        assert ingested.returncode == 0, ingested.stderr
    listed = run_cli("list", "--collection", "zoo", "--json", cwd=tmp_path, env=ENV)
    assert listed.returncode == 0, listed.stderr
    otters = [json.loads(line)["doc_id"] for line in listed.stdout.splitlines()]
    assert len(otters) == 1 and otters[0].endswith("otters.md")

    shown = _json(run_cli("show", otters[0], "--collection", "zoo", "--json", cwd=tmp_path, env=ENV))
    assert "Sea otters hold hands" in shown["text"]
    elsewhere = run_cli("show", otters[0], cwd=tmp_path, env=ENV)  # the default collection has no otters
    assert elsewhere.returncode == 1 and otters[0] in elsewhere.stderr and "Traceback" not in elsewhere.stderr

    exported = _json(run_cli("export", "zoo.jsonl", "--collection", "zoo", "--json", cwd=tmp_path, env=ENV))
    assert exported["documents"] == 1
    header, *chunks = [json.loads(line) for line in (tmp_path / "zoo.jsonl").read_text().splitlines()]
    assert header["collection"] == "zoo" and header["chunks"] == len(chunks) > 0
    assert {chunk["doc_id"] for chunk in chunks} == set(otters)

    for args in [("show", otters[0], "--collection", "nope"), ("export", "nope.jsonl", "--collection", "nope")]:
        missing = run_cli(*args, cwd=tmp_path, env=ENV)
        assert missing.returncode == 4, (args, missing.stderr)
        assert "'nope'" in missing.stderr and "Traceback" not in missing.stderr
    assert not (tmp_path / "nope.jsonl").exists()
