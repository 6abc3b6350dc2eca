"""The real `semsearch` command in subprocesses: exit codes, summaries and messages a user sees."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from ingest.pipeline import IngestReport
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.settings import Settings
from semsearch_cli.ingest import _print_summary
from tests.helpers import ROOT, SAMPLE_DATA, run_cli

SMALL_SET = ["library/copy.txt", "library/decimal.md", "library/calendar.html", "howto/unicode.pdf", "modules.csv"]


def _small_corpus(folder: Path) -> Path:
    corpus = folder / "corpus"
    for name in SMALL_SET:
        target = corpus / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLE_DATA / name, target)
    return corpus


def _summary(result: subprocess.CompletedProcess) -> dict:
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout)


def _adds_up(summary: dict) -> dict:
    """Every chunk is counted once in the summary: embedded, unchanged or reused (issue 23)."""
    assert summary["chunks"] == summary["embedded"] + summary["unchanged"] + summary["reused"], summary
    return summary


def test_the_ingest_summary_adds_up_and_counts_a_renamed_files_chunks_as_reused(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (tmp_path / ".git").mkdir()
    for name in ("decimal.md", "copy.txt", "calendar.html"):
        shutil.copy(SAMPLE_DATA / "library" / name, corpus / name)
    first = _adds_up(_summary(run_cli("ingest", "corpus", "--json", cwd=tmp_path)))
    assert first["embedded"] == first["chunks"] and first["reused"] == 0

    (corpus / "decimal.md").rename(corpus / "money.md")  # new id, same text: its chunks keep their vectors
    moved = _adds_up(_summary(run_cli("ingest", "corpus", "--json", cwd=tmp_path)))
    assert moved["embedded"] == 0 and moved["removed_documents"] == 1
    assert moved["reused"] > 0 and moved["unchanged"] == first["chunks"] - moved["reused"]

    table = run_cli("ingest", "corpus", cwd=tmp_path)
    assert "reused" in table.stdout


def test_ingest_twice_embeds_nothing_the_second_time_and_bad_files_are_reported(tmp_path: Path) -> None:
    corpus = _small_corpus(tmp_path)
    (tmp_path / ".git").mkdir()  # a project: ids are relative to its root
    first = run_cli("ingest", "corpus", "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    summary = _adds_up(_summary(first))
    assert summary["files"] == 5 and summary["failed"] == 0
    assert summary["documents"] == 4 + 69  # four files plus one document per CSV row
    assert summary["embedded"] == summary["chunks"] > 0

    second = _adds_up(_summary(run_cli("ingest", "corpus", "--json", cwd=tmp_path)))
    assert second["embedded"] == 0 and second["deleted"] == 0
    assert second["unchanged"] == summary["chunks"]

    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (corpus / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (corpus / "new.md").write_text("# Otters\n\nOtters hold hands while they sleep on the water.\n")
    third = run_cli("ingest", "corpus", "--json", cwd=tmp_path)
    assert third.returncode == 1
    report = _summary(third)
    reasons = {Path(f["path"]).name: f["reason"] for f in report["failures"]}
    assert set(reasons) == {"broken.pdf", "latin1.txt"}
    assert "PDF" in reasons["broken.pdf"] and "UTF-8" in reasons["latin1.txt"]
    assert report["embedded"] == 1  # only the new file

    found = run_cli("search", "animals sleeping while floating", "-k", "1", "--json", cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["results"][0]["doc_id"] == "corpus/new.md"


def test_ingest_prints_a_summary_table_by_default(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("A single small document about lighthouses.")
    result = run_cli("ingest", "one.txt", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for column in ("files", "documents", "chunks", "embedded", "unchanged", "deleted", "failed"):
        assert column in result.stdout


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("ingest", "does-not-exist", "*.nothing", cwd=tmp_path)
    assert result.returncode == 2
    assert "does-not-exist" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "problem"),
    [(["   "], "query"), (["x", "--fusion", "max"], "fusion"), (["x", "--weights", "1"], "--weights")],
)
def test_bad_search_options_are_usage_errors(tmp_path: Path, args: list[str], problem: str) -> None:
    result = run_cli("search", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert problem in result.stderr and "Traceback" not in result.stderr


def test_search_before_any_ingest_says_so(tmp_path: Path) -> None:
    result = run_cli("search", "anything", cwd=tmp_path)
    assert result.returncode == 3
    assert "ingest some documents first" in result.stderr
    assert "Traceback" not in result.stderr


def test_second_process_on_a_served_lite_db_is_told_to_use_the_api(
    running_server: tuple[str, Path], tmp_path: Path
) -> None:
    base, db = running_server
    doc = tmp_path / "note.md"
    (tmp_path / ".git").mkdir()  # a project: ids are relative to its root
    doc.write_text("# Tides\n\nThe moon's gravity pulls the oceans, raising and lowering sea level twice a day.\n")

    blocked = run_cli("ingest", str(doc), "--milvus-uri", str(db), "--collection", "served", cwd=tmp_path)
    assert blocked.returncode == 3
    assert "open in another process" in blocked.stderr
    assert f"--api {base}" in blocked.stderr, blocked.stderr  # the URL the server's serve file names, not a guess
    assert "Traceback" not in blocked.stderr and "MilvusException" not in blocked.stderr

    through_api = run_cli("ingest", str(doc), "--api", base, "--json", cwd=tmp_path)
    assert through_api.returncode == 0, through_api.stderr
    assert _summary(through_api)["embedded"] == 1

    hits = httpx.post(f"{base}/search", json={"query": "why does the sea rise and fall", "top_k": 1}).json()["results"]
    assert hits[0]["doc_id"] == "note.md" and hits[0]["metadata"]["title"] == "Tides"

    cli_hits = run_cli("search", "sea level and the moon", "--api", base, "--json", cwd=tmp_path)
    assert json.loads(cli_hits.stdout)["results"][0]["doc_id"] == "note.md"
    assert "HTTP Request" not in cli_hits.stderr + through_api.stderr  # the HTTP client's own INFO lines stay out


def test_ingest_help_lists_every_format_of_the_one_table(tmp_path: Path) -> None:
    from ingest.formats import FORMATS

    shown = run_cli("ingest", "--help", cwd=tmp_path, env={"COLUMNS": "120"})
    assert shown.returncode == 0, shown.stderr
    assert all(suffix in shown.stdout for suffix in FORMATS)


def test_version_is_the_installed_distributions(tmp_path: Path) -> None:
    from importlib.metadata import version

    shown = run_cli("--version", cwd=tmp_path)
    assert shown.returncode == 0 and shown.stdout.strip() == f"semsearch {version('milvus-semantic-search')}"


@pytest.mark.parametrize(
    ("module", "option"), [("ingest", "--text-column"), ("search_api", "--port"), ("semsearch_cli", "--version")]
)
def test_python_dash_m_runs_the_same_commands(module: str, option: str) -> None:
    """Every module entry point runs (one `--help` process each) and is the command it stands for."""
    shown = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert shown.returncode == 0, shown.stderr
    assert "Usage" in shown.stdout and option in shown.stdout


BROKEN_FRONT_MATTER = "---\ntitle: [unclosed\n---\n# Notes\n\nLighthouses guide ships at night.\n"


def test_json_ingest_with_json_logs_keeps_stdout_one_object_and_lists_warnings(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text(BROKEN_FRONT_MATTER)
    result = run_cli("ingest", "notes.md", "--json", cwd=tmp_path, env={"SEMSEARCH_LOG_FORMAT": "json"})
    assert result.returncode == 0, result.stderr  # a warning is not a failure
    [line] = result.stdout.splitlines()
    summary = json.loads(line)
    assert summary["failed"] == 0 and summary["documents"] == 1
    [warning] = summary["warnings"]
    assert Path(warning["path"]).name == "notes.md" and "front matter ignored" in warning["message"]
    logs = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert any("front matter ignored" in record["message"] for record in logs)


def test_the_summary_lists_warnings_beside_failures_each_on_one_line_as_written() -> None:
    failures = [("a.pdf", "not a PDF"), ("[x].parquet", "reading .parquet needs the [tables] extra " + "x" * 100)]
    report = IngestReport(files=2, failures=failures, warnings=[("b.md", "front matter ignored")])
    console = Console(record=True, width=80)
    _print_summary(report, console)
    text = console.export_text()
    assert "failed: a.pdf: not a PDF" in text and "warning: b.md: front matter ignored" in text
    assert f"failed: [x].parquet: {failures[1][1]}" in text.splitlines()  # brackets kept, not wrapped at 80


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_json_search_of_an_empty_collection_prints_one_object_and_no_milvus_lite_noise(
    tmp_path: Path, embedder: Embedder, mode: str
) -> None:
    """Milvus Lite's server process prints "Invalid sparse row" for a BM25 query on an empty collection; its output
    goes to a log beside the .db, never into ours."""
    db = tmp_path / "data" / "milvus.db"
    Engine.open(Settings(milvus_uri=str(db), _env_file=None), create=True, embedder=embedder).close()
    result = run_cli("search", "anything at all", "--json", "--mode", mode, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    assert json.loads(line)["results"] == []
    assert "Invalid sparse row" not in result.stderr


def test_one_shot_commands_are_quiet_unless_asked_and_tables_are_never_cut_in_a_pipe(tmp_path: Path) -> None:
    """stdout and stderr are pipes here, as in a script: no INFO lines, no progress, and a table shows every value
    whole, however narrow COLUMNS says the screen is (issue 23)."""
    (tmp_path / ".git").mkdir()
    long_name = "a-rather-long-file-name-that-a-narrow-table-would-cut-in-the-middle.md"
    (tmp_path / long_name).write_text("# Tides\n\nThe moon's gravity raises the oceans twice a day.\n")
    narrow = {"COLUMNS": "40"}
    ingested = run_cli("ingest", long_name, cwd=tmp_path, env=narrow)
    assert ingested.returncode == 0 and ingested.stderr == "", ingested.stderr
    assert "unchanged (skipped)" in ingested.stdout and "…" not in ingested.stdout  # header names whole

    listed = run_cli("list", cwd=tmp_path, env=narrow)
    assert listed.stderr == "" and long_name in listed.stdout and "…" not in listed.stdout
    found = run_cli("search", "why do tides happen", cwd=tmp_path, env=narrow)
    assert found.stderr == "" and long_name in found.stdout

    verbose = run_cli("-v", "search", "tides", "--json", cwd=tmp_path)
    assert "INFO" in verbose.stderr and json.loads(verbose.stdout)["results"]
    assert run_cli("-q", "search", "tides", cwd=tmp_path, env={"SEMSEARCH_LOG_LEVEL": "info"}).stderr == ""
