"""One-shot read commands on a Milvus Lite `.db` that a `semsearch serve` holds go through that server by
themselves (it leaves `.NAME.db.serve.json` beside the `.db`), and a stale file never misleads them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from semsearch.settings import Settings
from semsearch.store import LoadProgress
from semsearch_cli.progress import spinner
from semsearch_cli.running import find_server, serve_file
from tests.helpers import run_cli, semsearch_server


def test_search_goes_through_the_running_server_that_holds_the_db(tmp_path: Path) -> None:
    db = tmp_path / "served.db"
    env = {"SEMSEARCH_MILVUS_URI": str(db), "SEMSEARCH_COLLECTION": "served"}
    with semsearch_server("serve", "--log-level", "warning", cwd=tmp_path, env=env) as base:
        added = httpx.post(
            f"{base}/documents",
            json={"documents": [{"id": "otters", "text": "Otters sleep holding hands so they do not drift."}]},
            timeout=60,
        )
        assert added.status_code == 200, added.text
        record = json.loads(serve_file(db).read_text())
        assert record["url"] == base and record["collection"] == "served" and not record["needs_api_key"]
        result = run_cli("search", "where do otters sleep?", "--json", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        assert "through the running server" in result.stderr
        assert json.loads(result.stdout)["results"][0]["doc_id"] == "otters"
    assert not serve_file(db).exists(), "the server removes its file when it stops"


def test_a_stale_serve_file_is_ignored_and_removed(tmp_path: Path) -> None:
    db = tmp_path / "milvus.db"
    finished = subprocess.Popen(["true"])  # its process id runs no more once it is waited for
    finished.wait()
    path = serve_file(db)
    path.write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": finished.pid, "collection": "documents"}))
    assert find_server(Settings(milvus_uri=str(db), _env_file=None)) is None
    assert not path.exists()


@pytest.mark.parametrize("rows, hinted", [(500_000, True), (2_000, False)])
def test_a_long_load_is_announced_with_its_estimate_and_serve_suggested(
    rows: int, hinted: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    with spinner(lite=True, one_shot=True) as progress:
        progress(LoadProgress("loading collection 'documents'", 0, rows))
        progress(LoadProgress("loading collection 'documents'", 50, rows, 3.0))
    err = capsys.readouterr().err
    assert (f"loading {rows:,} chunks takes about" in err) is hinted
    assert ("semsearch serve" in err) is hinted
    assert err.count("takes about") <= 1
