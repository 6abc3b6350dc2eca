"""The docs cannot drift from the code: the README's configuration table is `Settings` (every variable, its
default), `--help` names the environment variable behind each option that sets a setting, `--version` works, and
every table of figures names the command that produces it or says it was measured once."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from pydantic import TypeAdapter
from typer.testing import CliRunner

import semsearch
from semsearch.settings import Settings
from semsearch_cli import app
from tests.helpers import ROOT

#: Options named like a setting that are not that setting: `reindex --model` is the model to switch *to*.
NOT_THE_SETTING = {
    ("reindex", "model"),
    ("eval", "collection"),
}  # options that are not the setting: eval_<DIR> by default
ROW = re.compile(r"^\| `SEMSEARCH_([A-Z0-9_]+)` \| (.+?) \| (.+) \|$")


def readme_table() -> dict[str, str]:
    """`field name -> default cell` of the table under "## Configuration"."""
    section = ROOT.joinpath("README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return {m[1].lower(): m[2] for line in section.splitlines() if (m := ROW.match(line))}


def test_the_readme_table_lists_every_setting_and_nothing_else() -> None:
    assert sorted(readme_table()) == sorted(Settings.model_fields)


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_the_readme_gives_each_settings_default(name: str) -> None:
    """A literal default is written in backticks and means the same value; no default (None, an empty list) is
    written in words (a dash, "auto", where it is derived), never as a literal that would look like one."""
    cell, default = readme_table()[name], Settings.default(name)
    literal = re.fullmatch(r"`([^`]*)`", cell)
    if default in (None, []):
        assert literal is None, f"{name}: the README shows {cell} but there is no default"
        return
    assert literal, f"{name}: write the default {default!r} in backticks, not {cell!r}"
    field: Any = Settings.model_fields[name]
    read = TypeAdapter(field.annotation).validate_python(literal[1], strict=False)
    assert read == default, f"{name}: the README says {literal[1]}, Settings says {default!r}"


def _commands() -> list[str]:
    return sorted(info.name for info in app.registered_commands if info.name)


@pytest.mark.parametrize("command", _commands())
def test_help_names_the_environment_variable_of_each_option_that_is_a_setting(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "250", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    options = set(re.findall(r"--([a-z][a-z0-9-]*)", result.output))
    settings = sorted(o.replace("-", "_") for o in options if o.replace("-", "_") in Settings.model_fields)
    missing = [
        s for s in settings if (command, s) not in NOT_THE_SETTING and f"SEMSEARCH_{s.upper()}" not in result.output
    ]
    assert not missing, f"semsearch {command} --help does not name the variables of {missing}"


def test_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"semsearch {semsearch.__version__}"


#: What names a figure's source in the README: a benchmark script, the eval or test command, the CI run, a test
#: that checks it on every run, or a mark that it was measured once.
FIGURE_SOURCE = re.compile(r"benchmarks/\w+\.py|semsearch eval|pytest|\.ci/run|checked by `tests/|[Oo]ne-off")


def readme_tables(*headings: str) -> list[tuple[str, str]]:
    """(the text between the previous table or heading and the table, the table's first line) for every table in
    the README's sections with these headings (their subsections included)."""
    found = []
    for section in re.split(r"\n(?=## )", ROOT.joinpath("README.md").read_text()):
        if section.split("\n", 1)[0].removeprefix("## ").strip() not in headings:
            continue
        before: list[str] = []
        for line, previous in zip(section.splitlines(), ["", *section.splitlines()], strict=False):
            if line.startswith("|") and not previous.startswith("|"):
                found.append(("\n".join(before), line))
                before = []
            elif not line.startswith("|"):
                before = [] if line.startswith("#") else [*before, line]
    return found


@pytest.mark.parametrize(
    ("before", "table"), readme_tables("What the demo shows", "Measured", "Performance", "Why Milvus Lite 2.5.1")
)
def test_each_readme_table_of_figures_names_the_command_that_made_it_or_is_marked_one_off(
    before: str, table: str
) -> None:
    assert FIGURE_SOURCE.search(f"{before}\n{table}"), f"the table {table!r} names no command nor is marked one-off"


def _words(text: str) -> str:
    """Text as a reader sees it: Rich's panel borders dropped and every run of whitespace one space."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def _help_texts() -> list[tuple[str, str]]:
    """(command, text) for the one-line summary and every option's and argument's help of each command."""
    group: Any = typer.main.get_command(app)
    found = [("", group.help or "")]
    for name, command in sorted(group.commands.items()):
        found.append((name, (command.help or "").split("\n\n")[0]))
        found += [(name, param.help) for param in command.params if getattr(param, "help", None)]
    return [(name, text) for name, text in found if text.strip()]


@pytest.mark.parametrize(("command", "text"), _help_texts(), ids=lambda v: v[:40])
def test_help_shows_every_help_text_whole(command: str, text: str) -> None:
    """Rich reads `[...]` as markup and drops it, so a help text written with brackets would lose words."""
    args = [command, "--help"] if command else ["--help"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "250", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    assert _words(text) in _words(result.output), f"semsearch {command} --help cuts: {text!r}"
