"""The command line's help cannot drift from the code: `--help` names the environment variable behind each option
that sets a setting, shows every help text whole, and `--version` works; the README stays short and links to the
manual, whose configuration table and figures `tests/test_docs_site.py` keeps true."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
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
#: The README is what a newcomer reads on one screen or three; the manual (docs/) holds the rest.
README_MAX_LINES = 200


def test_the_readme_is_short_and_links_only_to_pages_that_exist() -> None:
    """Measured tables and the configuration table live in docs/ (tests/test_docs_site.py keeps them true); the
    README points there, and every link it gives to the manual opens a page."""
    readme = ROOT.joinpath("README.md").read_text()
    assert len(readme.splitlines()) <= README_MAX_LINES
    links = re.findall(r"\]\((docs/[^)#]+)", readme)
    assert links and all(ROOT.joinpath(link).is_file() for link in links), links
    assert "## Next: reach `semsearch`" in readme and "source .venv/bin/activate" in readme


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
