"""Optional parts are optional: with an extra's module missing, the doors import and work, and the part that needs
it says in one line which extra to install (never an ImportError traceback). "Missing" is made real in a child
process: a `sitecustomize` on its path installs an import hook that answers ModuleNotFoundError for the blocked
modules, as an interpreter without them installed would, for the real `semsearch` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from semsearch.extras import DISTRIBUTION, EXTRA_OF_MODULE
from tests.helpers import ROOT, run_cli

#: Put on a child's path as sitecustomize.py: blocks the modules in SEMSEARCH_TEST_BLOCK and, with
#: SEMSEARCH_TEST_IMPORTERS set, records which file asked for each (the frame that ran the import statement).
BLOCKER = """
import os, sys, traceback

BLOCKED = set(filter(None, os.environ.get("SEMSEARCH_TEST_BLOCK", "").split(",")))
ASKED = []


class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] not in BLOCKED:
            return None
        frames = [f for f in traceback.extract_stack()[:-1] if "importlib" not in f.filename]
        ASKED.append((name, frames[-1].filename if frames else "?"))
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)


sys.meta_path.insert(0, Blocker())
if os.environ.get("SEMSEARCH_TEST_IMPORTERS"):
    import atexit, json
    atexit.register(lambda: open(os.environ["SEMSEARCH_TEST_IMPORTERS"], "w").write(json.dumps(ASKED)))
"""


def without(tmp_path: Path, *modules: str) -> dict[str, str]:
    """The environment of a child interpreter in which `modules` are not installed."""
    hooks = tmp_path / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(BLOCKER)
    path = os.pathsep.join(filter(None, [str(hooks), str(ROOT), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, "SEMSEARCH_TEST_BLOCK": ",".join(modules)}


def hint(extra: str) -> str:
    return f"needs the [{extra}] extra: pip install '{DISTRIBUTION}[{extra}]'"


def test_without_tables_a_parquet_file_is_skipped_with_one_line_and_the_rest_ingests(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "otters.md").write_text("# Otters\n\nOtters hold hands while they sleep on the water.\n")
    pd.DataFrame([{"id": "t1", "text": "The printer on floor two jams."}]).to_csv(docs / "tickets.csv", index=False)
    pd.DataFrame([{"id": "p1", "text": "A parquet row about lighthouses."}]).to_parquet(docs / "rows.parquet")

    result = run_cli("ingest", "docs", cwd=tmp_path, env=without(tmp_path, "pyarrow"))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output  # some inputs failed, the rest landed
    assert "Traceback" not in output and "ModuleNotFoundError" not in output
    [line] = [line for line in output.splitlines() if hint("tables") in line]
    assert "rows.parquet" in line and "reading .parquet" in line

    listed = run_cli("list", "--json", cwd=tmp_path, env=without(tmp_path, "pyarrow"))
    assert listed.returncode == 0, listed.stderr
    sources = {Path(json.loads(line)["source"]).name for line in listed.stdout.splitlines()}
    assert sources == {"otters.md", "tickets.csv"}
    found = run_cli(
        "search", "animals asleep on a river", "-k", "1", "--json", cwd=tmp_path, env=without(tmp_path, "pyarrow")
    )
    assert found.returncode == 0, found.stderr
    assert Path(json.loads(found.stdout)["results"][0]["source"]).name == "otters.md"


@pytest.mark.parametrize(
    ("command", "module", "extra"),
    [(["mcp"], "mcp", "mcp"), (["eval", "no-such-beir-dir"], "pytrec_eval", "eval")],
    ids=["mcp", "eval"],
)
def test_a_command_whose_extra_is_missing_exits_2_with_one_line_naming_it(
    tmp_path: Path, command: list[str], module: str, extra: str
) -> None:
    """Said first, before the model loads or the input is read: nothing else is worth a user's wait."""
    result = run_cli(*command, cwd=tmp_path, env=without(tmp_path, module), timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip() == f"error: semsearch {command[0]} {hint(extra)}"
    assert not (tmp_path / "data").exists()  # no knowledge base was opened


OUR_PACKAGES = ("semsearch", "ingest", "search_api", "semsearch_cli", "evaluation")


def _child(tmp_path: Path, code: str, *blocked: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **without(tmp_path, *blocked), "SEMSEARCH_TEST_IMPORTERS": str(tmp_path / "asked.json")}
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)


def test_every_door_imports_without_any_optional_module_and_none_of_ours_asks_for_one(tmp_path: Path) -> None:
    """pandas probes for pyarrow on import (and does without it); our modules import optional parts only where
    they are used, so importing the doors asks for none of them."""
    code = f"import {', '.join(OUR_PACKAGES)}, ingest.pipeline, search_api.app, evaluation.runner"
    result = _child(tmp_path, code, *EXTRA_OF_MODULE)
    assert result.returncode == 0, result.stderr
    asked = json.loads((tmp_path / "asked.json").read_text())
    packages = [ROOT / name for name in OUR_PACKAGES]  # not ROOT itself: under `make` the venv is in it
    ours = [(module, by) for module, by in asked if any(Path(by).is_relative_to(p) for p in packages)]
    assert not ours, f"imported at import time by our code: {ours}"


def test_the_cli_help_works_without_any_optional_module(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path, env=without(tmp_path, *EXTRA_OF_MODULE), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "mcp" in result.stdout and "eval" in result.stdout


@pytest.mark.parametrize(
    ("code", "module", "extra"),
    [
        ("from evaluation.metrics import evaluate; evaluate({'q': {'d': 1}}, {'q': ['d']})", "pytrec_eval", "eval"),
        ("import search_api.client", "langchain_core", "langchain"),
    ],
    ids=["evaluation", "langchain-client"],
)
def test_the_python_api_raises_an_import_error_naming_the_extra(
    tmp_path: Path, code: str, module: str, extra: str
) -> None:
    wrapped = f"try:\n    {code}\nexcept ImportError as exc:\n    print(exc)\n    raise SystemExit(7)"
    result = _child(tmp_path, wrapped, module)
    assert result.returncode == 7, result.stderr
    assert hint(extra) in result.stdout
