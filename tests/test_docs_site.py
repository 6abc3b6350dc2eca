"""The manual (docs/, mkdocs.yml) builds strictly and cannot drift from the code: a broken link, a page missing
from the nav or a nav entry without a page fails the build; the configuration table is `Settings`, the HTTP
reference is the app's OpenAPI schema, the Python reference is the docstrings; the site loads nothing from other
hosts; and every table of figures on the benchmark pages names the command that produces it and its date."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from scripts.mkdocs_hooks import openapi_schema, settings_table
from semsearch.settings import Settings
from tests.helpers import ROOT

DOCS = ROOT / "docs"
ROW = re.compile(r"^\| `SEMSEARCH_([A-Z0-9_]+)` \| (.+?) \| (.*) \|$")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The site as `mkdocs build --strict` writes it (into a temporary folder: the work tree stays clean)."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    yield out


def page(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text()


def test_the_site_builds_strictly_with_every_page_of_the_nav(site: Path) -> None:
    for markdown in DOCS.rglob("*.md"):
        built = site / markdown.relative_to(DOCS).with_suffix("") / "index.html"
        if markdown.name == "index.md":
            built = site / markdown.relative_to(DOCS).parent / "index.html"
        assert built.exists(), f"{markdown} was not built"


def test_the_site_loads_nothing_from_other_hosts(site: Path) -> None:
    """Scripts, styles and fonts come with the site: it reads the same on a machine without internet."""
    remote = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)=\"(?:https?:)?//[^\"]*\"")
    for html in site.rglob("*.html"):
        found = [m for m in remote.findall(html.read_text()) if 'rel="canonical"' not in m]
        assert not found, f"{html.relative_to(site)} loads {found}"


def configuration_table() -> dict[str, str]:
    """`field name -> default cell` of the generated configuration table."""
    return {m[1].lower(): m[2] for line in settings_table().splitlines() if (m := ROW.match(line))}


def test_the_configuration_page_shows_the_generated_table(site: Path) -> None:
    html = page(site, "configuration")
    for name in Settings.model_fields:
        assert f"SEMSEARCH_{name.upper()}" in html


def test_the_configuration_table_lists_every_setting_and_nothing_else() -> None:
    assert sorted(configuration_table()) == sorted(Settings.model_fields)


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_the_configuration_table_gives_each_settings_default_and_meaning(name: str) -> None:
    """A literal default is written in backticks and reads back as the same value; no default (None, an empty
    list) is a dash, never a literal that would look like one. Every setting says what it means."""
    cell, default = configuration_table()[name], Settings.default(name)
    assert Settings.model_fields[name].description, f"{name}: Settings gives it no description"
    literal = re.fullmatch(r"`([^`]*)`", cell)
    if default in (None, []):
        assert literal is None, f"{name}: the table shows {cell} but there is no default"
        return
    assert literal, f"{name}: write the default {default!r} in backticks, not {cell!r}"
    field: Any = Settings.model_fields[name]
    read = TypeAdapter(field.annotation).validate_python(literal[1], strict=False)
    assert read == default, f"{name}: the table says {literal[1]}, Settings says {default!r}"


def test_the_http_reference_has_every_operation_and_schema(site: Path) -> None:
    html = page(site, "http-api")
    schema = openapi_schema()
    for path, operations in schema["paths"].items():
        for method in operations:
            assert f"{method.upper()} {path}" in html, f"{method.upper()} {path} is not on the HTTP API page"
    for name in schema["components"]["schemas"]:
        assert f'id="schema-{name.lower()}"' in html
    assert (site / "openapi.json").read_text().count('"paths"') == 1


def test_the_python_reference_documents_the_verbs_from_their_docstrings(site: Path) -> None:
    html = page(site, "python-api")
    for verb in ("add", "add_files", "search", "context", "delete", "documents", "status", "close"):
        assert re.search(rf'id="semsearch\.KnowledgeBase\.{verb}"', html), f"KnowledgeBase.{verb} is not documented"
    for name in ("Refused", "Unavailable", "NotFound"):
        assert name in html


#: What names a figure's source: a benchmark script, the eval or test command, the CI run, a test that checks it
#: on every run, or a mark that it was measured once.
FIGURE_SOURCE = re.compile(r"benchmarks/[\w/]+\.py|semsearch eval|pytest|\.ci/run|checked by `tests/|[Oo]ne-off")


def tables(path: Path) -> list[tuple[str, str]]:
    """(the text between the previous table or heading and the table, the table's first line) for every table."""
    found, before = [], []
    lines = path.read_text().splitlines()
    for line, previous in zip(lines, ["", *lines], strict=False):
        if line.startswith("|") and not previous.startswith("|"):
            found.append(("\n".join(before), line))
            before = []
        elif not line.startswith("|"):
            before = [] if line.startswith("#") else [*before, line]
    return found


FIGURE_PAGES = [DOCS / "getting-started.md", *sorted(p for p in (DOCS / "benchmarks").glob("*.md"))]


@pytest.mark.parametrize(
    ("path", "before", "table"),
    [(path, before, table) for path in FIGURE_PAGES if path.name != "index.md" for before, table in tables(path)],
    ids=lambda v: v.name if isinstance(v, Path) else str(v)[:30],
)
def test_each_table_of_figures_names_the_command_that_made_it_or_is_marked_one_off(
    path: Path, before: str, table: str
) -> None:
    assert FIGURE_SOURCE.search(f"{before}\n{table}"), f"{path.name}: the table {table!r} names no command"
