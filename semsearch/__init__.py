"""milvus semantic search as a Python library: a knowledge base of your documents on Milvus.

    import semsearch

    with semsearch.open("data/milvus.db") as kb:          # Milvus Lite file, or "http://host:19530"
        kb.add_files(["docs/"])                           # txt, md, html, pdf, office, csv, jsonl; parquet: [tables]
        kb.add([{"id": "note-1", "text": "Otters hold hands while they sleep."}])
        answer = kb.search("animals sleeping on water", top_k=3)
        print(answer.results[0].doc_id, answer.results[0].score)
        print(kb.context("how do otters sleep?", token_budget=500).context)

`open` returns a `KnowledgeBase`; its verbs are `add`, `add_files`, `search`, `context`, `delete`, `count` and
`close`. Answers (`SearchAnswer`, `ContextAnswer`) have `to_dict()`: the same JSON as the HTTP API. Errors come in
three families: `Refused` (the input), `Unavailable` (Milvus, the collection or the model), `NotFound`.
Configuration is `Settings` (environment variables `SEMSEARCH_*`), overridable per call of `open`.

Several knowledge bases in one process: `semsearch.Service(uri)` lists, creates, opens and drops them by name, each
with the model and settings it was created with, and loads each model once for all of them.
"""

from importlib.metadata import PackageNotFoundError, version

from semsearch.answers import Citation, CitedPassage, ContextAnswer, SearchAnswer
from semsearch.errors import NotFound, Refused, SemsearchError, Unavailable
from semsearch.extras import DISTRIBUTION
from semsearch.indexer import Document, IndexStats
from semsearch.knowledge_base import KnowledgeBase
from semsearch.ranking import Fusion, Mode
from semsearch.service import Service
from semsearch.settings import Settings
from semsearch.store import Hit

try:
    #: The installed distribution's version: the one home of the version (pyproject.toml sets it).
    __version__ = version(DISTRIBUTION)
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

open = KnowledgeBase.open

__all__ = [
    "Citation",
    "CitedPassage",
    "ContextAnswer",
    "Document",
    "Fusion",
    "Hit",
    "IndexStats",
    "KnowledgeBase",
    "Mode",
    "NotFound",
    "Refused",
    "SearchAnswer",
    "SemsearchError",
    "Service",
    "Settings",
    "Unavailable",
    "__version__",
    "open",
]
