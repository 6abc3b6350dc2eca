"""Install size: how much disk the default install takes and what each extra adds, from the installed files of the
environment this runs in (the locked one: `make install`), following pyproject.toml's requirements through each
installed distribution's own requirements (markers and extras evaluated here).

"Adds" counts only the distributions an extra brings that the default install lacks (scipy, which `[eval]` needs,
comes with sentence-transformers anyway). torch is whatever build is installed here (the CPU wheel under `make`;
PyPI's Linux wheel pulls CUDA libraries, GBs more). Sizes are of the installed files (RECORD), in MiB.

    .venv/bin/python benchmarks/install_size.py
"""

from __future__ import annotations

import tomllib
from importlib.metadata import Distribution, PackageNotFoundError, distribution

from _common import ROOT, print_table
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

MIB = 2**20
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def size_of(dist: Distribution) -> int:
    total = 0
    for file in dist.files or []:
        path = dist.locate_file(file)
        if path.is_file():  # type: ignore[union-attr]
            total += path.stat().st_size  # type: ignore[union-attr]
    return total


def closure(requirements: list[str]) -> dict[str, int]:
    """Every installed distribution these requirements pull in (the project's own extras followed inside
    pyproject.toml), with its size in bytes."""
    found: dict[str, int] = {}
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        requirement, for_extra = todo.pop()
        environment = {**default_environment(), "extra": for_extra}
        if requirement.marker is not None and not requirement.marker.evaluate(environment):  # type: ignore[arg-type]
            continue
        name = canonicalize_name(requirement.name)
        if name == canonicalize_name(PROJECT["name"]):
            todo += [(Requirement(r), "") for e in requirement.extras for r in PROJECT["optional-dependencies"][e]]
            continue
        extras_key = name + "".join(f"[{e}]" for e in sorted(requirement.extras))
        if extras_key in found or (name in found and not requirement.extras):
            continue
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            raise SystemExit(f"{name} is not installed here: run this in the environment of `make install`") from None
        found[name] = size_of(dist)
        if requirement.extras:
            found[extras_key] = 0  # marks "followed with these extras too"
        for extra in ("", *requirement.extras):
            todo += [(Requirement(r), extra) for r in dist.requires or []]
    return {name: size for name, size in found.items() if "[" not in name}


#: Parts of the default install measured apart, to decide whether they should be extras (README: Install).
DEFAULT_PARTS = {"office formats": ("python-docx", "python-pptx", "openpyxl")}


def mib(size: float) -> str:
    return f"{size / MIB:,.0f}"


def main() -> None:
    core = closure(PROJECT["dependencies"])
    biggest = sorted(core.items(), key=lambda item: -item[1])[:6]
    print(f"default install: {mib(sum(core.values()))} MiB in {len(core)} distributions")
    print_table(["largest in the default install", "MiB"], [(name, mib(size)) for name, size in biggest])
    print()
    parts = []
    for part, names in DEFAULT_PARTS.items():
        without = closure([r for r in PROJECT["dependencies"] if canonicalize_name(Requirement(r).name) not in names])
        only = {name: size for name, size in core.items() if name not in without}
        parts.append((part, mib(sum(only.values())), ", ".join(f"{n} {mib(v)}" for n, v in sorted(only.items()))))
    print_table(["part of the default install", "MiB only it needs", "distributions (MiB)"], parts)
    print()
    rows = []
    for extra in PROJECT["optional-dependencies"]:
        added = closure([*PROJECT["dependencies"], f"{PROJECT['name']}[{extra}]"])
        new = {name: size for name, size in added.items() if name not in core}
        largest = ", ".join(f"{name} {mib(size)}" for name, size in sorted(new.items(), key=lambda i: -i[1])[:3])
        rows.append((f"[{extra}]", mib(sum(new.values())), len(new), largest))
    print_table(["extra", "adds MiB", "distributions", "largest of them (MiB)"], rows)


if __name__ == "__main__":
    main()
