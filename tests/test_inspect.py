"""Issue 15: inspect and delete through every door — `semsearch status/list/show/delete`, `GET /documents`,
`GET /documents/{id}`, `POST /documents/delete` — and folder sync through `ingest --api`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from tests.helpers import run_cli

FILES = {
    "zebra.txt": "Zebras graze on the savanna in large herds, watching for lions.",
    "penguin.txt": "Penguins huddle together against the Antarctic cold through the long winter.",
    "notes/otter.md": "# Otters\n\nSea otters hold hands while they sleep so that they do not drift apart.",
}


def project(root: Path) -> Path:
    (root / ".git").mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (root / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "docs" / name).write_text(text)
    return root


def test_status_list_show_and_delete_on_the_command_line(tmp_path: Path) -> None:
    root = project(tmp_path)
    env = {"SEMSEARCH_MILVUS_URI": str(tmp_path / "kb.db"), "SEMSEARCH_COLLECTION": "inspect"}
    assert run_cli("ingest", "docs", "--json", cwd=root, env=env).returncode == 0

    status = json.loads(run_cli("status", "--json", cwd=root / "docs", env=env).stdout)
    assert (status["documents"], status["chunks"], status["dim"]) == (3, 3, 384)
    assert status["capabilities"]["backend"] == "milvus-lite" and status["location"] == str(tmp_path / "kb.db")
    assert {"format", "title"} <= set(status["metadata_fields"])

    listed = run_cli("list", "--source", "docs/notes/", "--json", cwd=root, env=env)
    assert [json.loads(line)["doc_id"] for line in listed.stdout.splitlines()] == ["docs/notes/otter.md"]
    shown = json.loads(run_cli("show", "docs/notes/otter.md", "--json", cwd=root, env=env).stdout)
    assert shown["text"] == FILES["notes/otter.md"] and shown["chunks"][0]["char_start"] == 0

    unknown = run_cli("show", "docs/nope.md", cwd=root, env=env)
    assert unknown.returncode == 1 and "'docs/nope.md'" in unknown.stderr

    txt = run_cli("delete", "--filter", '{"format": "txt"}', "--yes", "--json", cwd=root, env=env)
    assert json.loads(txt.stdout)["doc_ids"] == ["docs/penguin.txt", "docs/zebra.txt"]
    refused = run_cli("delete", "--source", "docs/", "--yes", cwd=root, env=env)  # the last document: everything
    assert refused.returncode == 2 and "--all" not in refused.stdout and "all" in refused.stderr
    unconfirmed = run_cli("delete", "docs/notes/otter.md", cwd=root, env=env)  # no tty answer: not confirmed
    assert unconfirmed.returncode == 2
    partial = run_cli("delete", "docs/notes/otter.md", "docs/nope.md", "--yes", "--json", cwd=root, env=env)
    assert partial.returncode == 1 and "'docs/nope.md'" in partial.stderr
    assert json.loads(partial.stdout)["removed_documents"] == 1


def test_documents_routes_page_show_and_delete_by_selection(client: TestClient) -> None:
    docs = [
        {"id": f"d{n}", "text": f"Document number {n} about birds.", "source": f"src/{n % 2}/d{n}.md"} for n in range(5)
    ]
    assert client.post("/documents", json={"documents": docs}).status_code == 200
    first = client.get("/documents", params={"limit": 3}).json()
    rest = client.get("/documents", params={"limit": 3, "after": first["next"]}).json()
    assert rest["next"] is None
    assert sorted(d["doc_id"] for d in first["documents"] + rest["documents"]) == [f"d{n}" for n in range(5)]
    odd = client.get("/documents", params={"source_prefix": "src/1/"}).json()["documents"]
    assert sorted(d["doc_id"] for d in odd) == ["d1", "d3"] and odd[0]["chunks"] == 1
    assert client.get("/documents", params={"filter": "{not json"}).status_code == 400

    assert client.get("/documents/d2").json()["text"] == "Document number 2 about birds."
    missing = client.get("/documents/nope")
    assert missing.status_code == 404 and "'nope'" in missing.json()["detail"]

    assert client.post("/documents/delete", json={}).status_code == 400
    assert client.post("/documents/delete", json={"source_prefix": "src/"}).status_code == 400  # everything
    removed = client.post("/documents/delete", json={"source_prefix": "src/1/"}).json()
    assert (removed["removed_documents"], removed["deleted"]) == (2, 2)
    everything = client.post("/documents/delete", json={"all": True}).json()
    assert everything["removed_documents"] == 3
    schema = client.get("/openapi.json").json()["paths"]
    assert {"/documents", "/documents/delete", "/documents/{doc_id}"} <= set(schema)


def test_ingest_through_the_api_prunes_removed_files(running_server: tuple[str, Path], tmp_path: Path) -> None:
    base, _ = running_server
    root = project(tmp_path / "proj")
    assert run_cli("ingest", "docs", "--api", base, "--json", cwd=root).returncode == 0
    (root / "docs" / "zebra.txt").unlink()
    report = json.loads(run_cli("ingest", ".", "--api", base, "--json", cwd=root / "docs").stdout)
    assert (report["removed_documents"], report["deleted"], report["embedded"]) == (1, 1, 0)
    stored = httpx.get(f"{base}/documents").json()["documents"]
    assert sorted(d["doc_id"] for d in stored) == ["docs/notes/otter.md", "docs/penguin.txt"]
