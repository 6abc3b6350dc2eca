"""Optional parts: which module comes with which extra of `milvus-semantic-search`, and the one way code imports one.

The default install serves, searches and ingests text, Markdown, HTML, PDF, office files, CSV and JSONL. The parts
below are extras (pyproject.toml `[project.optional-dependencies]`, sizes in the README's Install), because few users
need them and one of them (pyarrow) is a tenth of the install. Their modules are imported only where they are used,
through `require`, so a missing one costs its user one line naming the extra instead of an ImportError traceback,
and costs everyone else nothing (`tests/test_extras.py` imports every door with them blocked).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from semsearch.errors import ExtraMissing

#: The distribution to name in `pip install`: the project is installed as this, not as `semsearch`.
DISTRIBUTION = "milvus-semantic-search"

#: Top-level module -> the extra that installs it (one home: tests/test_install.py checks pyproject against it).
EXTRA_OF_MODULE: dict[str, str] = {
    "pyarrow": "tables",  # Parquet ingest
    "mcp": "mcp",  # `semsearch mcp`
    "pytrec_eval": "eval",  # `semsearch eval`, the `evaluation` package
    "langchain_core": "langchain",  # search_api.client.SemsearchRetriever
}


def extra_of(module: str) -> str:
    return EXTRA_OF_MODULE[module.partition(".")[0]]


def require(module: str, needed_for: str) -> ModuleType:
    """Import `module` (of an extra) or raise `ExtraMissing` saying which extra `needed_for` (e.g. "reading
    .parquet") needs. Only a missing optional module is reported so; an optional module that is installed but fails
    inside its own imports raises as it is (that is a broken install, not a missing extra)."""
    extra = extra_of(module)
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] != module.partition(".")[0]:
            raise
        hint = f"{needed_for} needs the [{extra}] extra: pip install '{DISTRIBUTION}[{extra}]'"
        raise ExtraMissing(hint, extra) from None
