"""The Python API (`semsearch.open` -> KnowledgeBase) on a real Milvus Lite file, the README's example as written,
and one answer shape: `semsearch search --json`, `POST /search` and MCP `search` return the same JSON."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from mcp import Client

import semsearch
from search_api.app import create_app
from search_api.mcp_server import build_server
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.errors import InvalidRequest
from semsearch.settings import Settings
from tests.helpers import ROOT, run_cli

NOTES = [
    {"id": "otters", "text": "Otters hold hands while they sleep on the water.", "metadata": {"kind": "animal"}},
    {"id": "decimal", "text": "Decimal arithmetic keeps cents exact when adding up prices.", "source": "money.md"},
    {"id": "sched", "text": "The scheduler runs a job later, at a moment you choose.", "metadata": {"kind": "code"}},
]


def kb_at(settings: Settings, embedder: Embedder) -> semsearch.KnowledgeBase:
    return semsearch.KnowledgeBase(Engine.open(settings, create=True, embedder=embedder))


def test_the_verbs_add_search_cite_count_and_delete(settings: Settings, embedder: Embedder) -> None:
    with kb_at(settings, embedder) as kb:
        stats = kb.add(NOTES)
        assert stats.documents == 3 and stats.embedded == stats.chunks == 3
        assert kb.add(NOTES).embedded == 0  # unchanged: nothing embedded again
        assert kb.count() == 3

        answer = kb.search("animals that sleep floating", top_k=2, mode="dense")
        assert isinstance(answer, semsearch.SearchAnswer) and answer.mode is semsearch.Mode.DENSE
        assert answer.results[0].doc_id == "otters" and 0 < answer.results[0].score <= 1
        assert [h.doc_id for h in kb.search("job", filter={"kind": "code"}, mode="keyword").results] == ["sched"]

        cited = kb.context("how do I keep prices exact?", token_budget=64)
        assert cited.passages[0].citation.doc_id == "decimal" and cited.passages[0].citation.source == "money.md"
        assert cited.context.startswith("[1] Decimal arithmetic") and cited.tokens <= 64

        assert kb.delete("otters", "no-such-doc") == 1
        assert kb.count() == 2 and kb.delete("otters") == 0


def test_delete_takes_ids_in_a_list_as_add_takes_documents(settings: Settings, embedder: Embedder) -> None:
    with kb_at(settings, embedder) as kb:
        kb.add(NOTES)
        assert kb.delete(["otters", "no-such-doc"]) == 1
        assert kb.delete(("decimal",), "sched") == 2  # a list and single ids mixed
        assert kb.count() == 0
        with pytest.raises(semsearch.Refused, match="must be strings"):
            kb.delete([1])


#: Input every door refuses: (verb, arguments, the field named). `semsearch.queries` holds the one validation.
BAD_ARGUMENTS = {
    "empty query": ("search", {"query": ""}, "query"),
    "blank query": ("search", {"query": " \t "}, "query"),
    "top_k 0": ("search", {"query": "otters", "top_k": 0}, "top_k"),
    "top_k 101": ("search", {"query": "otters", "top_k": 101}, "top_k"),
    "negative offset": ("search", {"query": "otters", "offset": -1}, "offset"),
    "unknown mode": ("search", {"query": "otters", "mode": "semantic"}, "mode"),
    "min_score above 1": ("search", {"query": "otters", "min_score": 2}, "min_score"),
    "empty context query": ("context", {"query": ""}, "query"),
    "token_budget 1": ("context", {"query": "otters", "token_budget": 1}, "token_budget"),
    "candidates 0": ("context", {"query": "otters", "candidates": 0}, "candidates"),
}


@pytest.mark.parametrize(("verb", "arguments", "field"), BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_python_and_http_refuse_the_same_input_with_the_same_words(
    sample_engine: Engine, sample_client: TestClient, verb: str, arguments: dict, field: str
) -> None:
    kb = semsearch.KnowledgeBase(sample_engine)  # the session's engine: not closed here
    with pytest.raises(InvalidRequest) as refused:  # the caller's input (Refused), never MilvusFailed or ValueError
        getattr(kb, verb)(**arguments)
    assert isinstance(refused.value, semsearch.Refused)
    answer = sample_client.post(f"/{verb}", json=arguments)
    assert answer.status_code == 422, answer.text
    said = "; ".join(f"{'.'.join(map(str, p['loc'][1:]))}: {p['msg']}" for p in answer.json()["detail"])
    assert str(refused.value) == said
    assert said.startswith(f"{field}: ")


def test_a_refused_document_stores_none_of_the_batch(settings: Settings, embedder: Embedder) -> None:
    with kb_at(settings, embedder) as kb:
        with pytest.raises(semsearch.Refused, match="has no text"):
            kb.add([NOTES[0], {"id": "empty", "text": "   "}])
        with pytest.raises(semsearch.Refused, match="'id' and 'text'"):
            kb.add([{"id": "x", "body": "wrong key"}])
        with pytest.raises(semsearch.Refused, match="more than once"):
            kb.add([NOTES[0], NOTES[0]])
        assert kb.count() == 0


def test_open_then_close_releases_the_lite_file_for_another_process(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    with semsearch.open(db, collection="notes") as kb:
        kb.add(NOTES[:1])
    probe = (
        "import semsearch, sys\n"
        f"with semsearch.open({str(db)!r}, collection='notes', create=False) as kb: print(kb.count())"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


def test_opening_a_missing_collection_without_create_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(semsearch.Unavailable, match="does not exist yet"):
        semsearch.open(tmp_path / "none.db", create=False)


def test_help_shows_the_api() -> None:
    text = semsearch.__doc__ or ""
    assert "semsearch.open" in text
    for name in ("open", "KnowledgeBase", "SearchAnswer", "ContextAnswer", "Refused", "Unavailable", "NotFound"):
        assert name in semsearch.__all__ and hasattr(semsearch, name)
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", semsearch.__version__)


def readme_example() -> str:
    """The README's Python example: the code block under the heading 'Python'."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("\n## Python\n") :]
    return re.search(r"```python\n(.*?)```", section, re.S)[1]


def test_the_readme_python_example_runs_as_written(tmp_path: Path) -> None:
    code = readme_example()
    assert len(code.strip().splitlines()) <= 10
    (tmp_path / "docs").mkdir()
    (tmp_path / ".git").mkdir()  # run in a project: ids are relative to its root
    (tmp_path / "docs" / "otters.md").write_text("# Otters\n\nOtters hold hands while they sleep on the water.\n")
    (tmp_path / "docs" / "money.txt").write_text("Decimal arithmetic keeps cents exact when adding up prices.\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith("  docs/otters.md")  # best hit first
    assert "[1] # Otters\n\nOtters hold hands" in done.stdout  # the cited context


def test_cli_json_api_json_and_mcp_are_one_answer(tmp_path: Path, embedder: Embedder) -> None:
    """The same question through every door: the same JSON, field for field (bar the time it took)."""
    (tmp_path / "docs").mkdir()
    (tmp_path / ".git").mkdir()  # a project: ids are relative to its root
    for note in NOTES:
        (tmp_path / "docs" / f"{note['id']}.txt").write_text(note["text"] + "\n")
    env = {"SEMSEARCH_MILVUS_URI": str(tmp_path / "doors.db"), "SEMSEARCH_COLLECTION": "doors"}
    assert run_cli("ingest", "docs", "--json", cwd=tmp_path, env=env).returncode == 0
    query = ["animals that sleep floating", "-k", "2", "--filter", "format=txt"]
    cli = run_cli("search", *query, "--json", cwd=tmp_path, env=env)
    assert cli.returncode == 0, cli.stderr
    request = {"query": query[0], "top_k": 2, "filter": {"format": "txt"}}

    settings = Settings(milvus_uri=env["SEMSEARCH_MILVUS_URI"], collection="doors", _env_file=None)
    with TestClient(create_app(settings, embedder=embedder)) as client:
        deadline = time.monotonic() + 60
        while client.get("/ready").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)  # the app loads an existing collection in the background (503 "loading" until then)
        api = client.post("/search", json=request).json()
        api_context = client.post("/context", json={"query": query[0], "token_budget": 64}).json()
        engine = client.app.state.engine

        async def ask_mcp() -> tuple[dict, dict]:
            async with Client(build_server(engine)) as mcp:
                found = await mcp.call_tool("search", request)
                context = await mcp.call_tool("get_context", {"query": query[0], "token_budget": 64})
                return found.structured_content, context.structured_content

        mcp_search, mcp_context = asyncio.run(ask_mcp())

    def untimed(body: dict) -> dict:
        return {key: value for key, value in body.items() if key != "took_ms"}

    cli_body = json.loads(cli.stdout)
    assert set(cli_body) == set(api) == set(mcp_search) and "took_ms" in cli_body
    assert untimed(cli_body) == untimed(api) == untimed(mcp_search)
    assert api["results"][0]["doc_id"] == "docs/otters.txt"
    assert untimed(api_context) == untimed(mcp_context)
