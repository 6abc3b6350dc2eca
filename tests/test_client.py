"""The LangChain retriever in search_api/client.py against a real uvicorn server on the sample collection."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from ingest.loaders import TableOptions, load_file
from search_api.app import create_app
from search_api.client import SearchAPIError, SemsearchRetriever
from semsearch.engine import Engine
from tests.helpers import ROOT, borrow_engine
from tests.live_server import serve_in_thread

KEY = "retriever-key"
QUERY = "roll dice and flip coins in a simulation"


@pytest.fixture(scope="module")
def base(sample_engine: Engine) -> Iterator[str]:
    settings = sample_engine.settings.model_copy(update={"api_key": SecretStr(KEY)})
    with serve_in_thread(borrow_engine(create_app(settings, engine=sample_engine), sample_engine)) as url:
        yield url


def test_invoke_returns_documents_with_metadata_and_scores_best_first(base: str) -> None:
    retriever = SemsearchRetriever(base_url=base, api_key=KEY, top_k=3, mode="dense")
    docs = retriever.invoke(QUERY)
    assert len(docs) == 3
    first = docs[0]
    assert first.metadata["doc_id"] == "sample_data/library/random.md"
    assert first.metadata["source"] == "sample_data/library/random.md"
    assert first.metadata["format"] == "md"
    assert first.id == f"{first.metadata['doc_id']}#{first.metadata['chunk_index']}"
    source_text = load_file(ROOT / first.metadata["source"], TableOptions())[0].text
    assert first.page_content == source_text[first.metadata["char_start"] : first.metadata["char_end"]]
    scores = [doc.metadata["score"] for doc in docs]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)


def test_ainvoke_and_filters_go_through_the_api(base: str) -> None:
    retriever = SemsearchRetriever(base_url=base, api_key=KEY, top_k=5, filter={"format": "pdf"})
    docs = asyncio.run(retriever.ainvoke("text encoding"))
    assert docs and {doc.metadata["format"] for doc in docs} == {"pdf"}


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"api_key": "wrong"}, "401: missing or wrong API key"), ({"filter": {"colour": "red"}}, "400: ")],
)
def test_api_refusals_raise_with_the_status_and_detail(base: str, settings: dict, message: str) -> None:
    retriever = SemsearchRetriever(base_url=base, **{"api_key": KEY, **settings})
    with pytest.raises(SearchAPIError, match=message):
        retriever.invoke(QUERY)


def test_the_readme_rag_snippet_runs_and_builds_a_cited_prompt(sample_engine: Engine) -> None:
    readme = (ROOT / "README.md").read_text()
    snippet = readme.split("### Use it from a RAG app", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert len(snippet.strip().splitlines()) <= 10
    with serve_in_thread(borrow_engine(create_app(sample_engine.settings, engine=sample_engine), sample_engine)) as url:
        namespace: dict = {}
        exec(snippet.replace("http://127.0.0.1:8000", url), namespace)
    assert namespace["prompt"].count("[1] ") == 1
    assert "(source: sample_data/library/decimal.md)" in namespace["prompt"]
    assert namespace["body"]["tokens"] <= 800
