"""Reranking: the cross-encoder's logit as `raw_score`, one sigmoid as `score`, in /search, /context and MCP."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from mcp import Client
from sentence_transformers import CrossEncoder

from search_api.app import create_app
from search_api.mcp_server import build_server
from semsearch.embedder import Embedder, resolve_model_path
from semsearch.engine import Engine
from semsearch.indexer import Document
from semsearch.knowledge_base import KnowledgeBase
from semsearch.searcher import SearchOptions
from semsearch.settings import DEFAULT_MODEL, Settings
from tests.helpers import borrow_engine

DOCS = [
    Document(id="cats", text="Cats are small carnivorous mammals that purr and hunt mice.", source="zoo"),
    Document(
        id="storage",
        text="When a server runs out of space, scheduled tasks crash until files are removed.",
        source="ops",
    ),
    Document(
        id="ticket",
        text="Incident XQ-4471: the billing export failed because the disk quota was exceeded.",
        source="tickets",
    ),
    Document(id="teapots", text="A teapot keeps tea warm; porcelain ones are the oldest kind.", source="kitchen"),
]
QUERY = "server disk"


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@pytest.fixture(scope="module", params=["default activation", "no activation"])
def tiny_cross_encoder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real CrossEncoder (MiniLM encoder + a fresh 1-logit head), saved locally: no reranker weights can be
    downloaded here. Its scores are what the model computes; the tests check the wiring, not their quality.
    One saves the activation sentence-transformers gives a 1-label model (a sigmoid, applied by `predict`), the
    other declares none (identity), as models trained with an MSE loss on raw logits do."""
    path = tmp_path_factory.mktemp("reranker") / "tiny-cross-encoder"
    activation = {"activation_fn": torch.nn.Identity()} if request.param == "no activation" else {}
    CrossEncoder(resolve_model_path(DEFAULT_MODEL), num_labels=1, **activation).save(str(path))
    return str(path)


@pytest.fixture
def rerank_engine(settings: Settings, embedder: Embedder, tiny_cross_encoder: str) -> Iterator[Engine]:
    settings = settings.model_copy(update={"rerank_model": tiny_cross_encoder, "rerank_candidates": 10})
    engine = Engine.open(settings, create=True, embedder=embedder)
    engine.indexer.index(DOCS)
    yield engine
    engine.close()


def logits(model: str, pairs: list[tuple[str, str]]) -> list[float]:
    """The model's logits, whatever activation it declares."""
    return [float(x) for x in CrossEncoder(model).predict(pairs, activation_fn=torch.nn.Identity())]


def test_rerank_scores_are_the_logit_and_one_sigmoid_of_it(rerank_engine: Engine, tiny_cross_encoder: str) -> None:
    hits = rerank_engine.searcher.search(QUERY, SearchOptions(top_k=4, rerank=True)).hits
    pairs = [(QUERY, h.text) for h in hits]
    assert [h.raw_score for h in hits] == pytest.approx(logits(tiny_cross_encoder, pairs), abs=1e-4)
    assert [h.raw_score for h in hits] == sorted((h.raw_score for h in hits), reverse=True)
    assert all(h.score == pytest.approx(sigmoid(h.raw_score)) for h in hits)


def test_the_test_models_differ_in_their_default_activation(
    request: pytest.FixtureRequest, tiny_cross_encoder: str
) -> None:
    """The premise of the test above: `predict()` alone squashes one model's logits and not the other's."""
    pairs = [(QUERY, doc.text) for doc in DOCS]
    default = [float(x) for x in CrossEncoder(tiny_cross_encoder).predict(pairs)]
    raw = logits(tiny_cross_encoder, pairs)
    if request.node.callspec.params["tiny_cross_encoder"] == "no activation":
        assert default == pytest.approx(raw, abs=1e-6)
    else:
        assert default == pytest.approx([sigmoid(x) for x in raw], abs=1e-6)


def test_context_reranks_its_candidates_as_search_does(rerank_engine: Engine) -> None:
    kb = KnowledgeBase(rerank_engine)
    hits = kb.search(QUERY, top_k=2, rerank=True).results
    context = kb.context(QUERY, candidates=2, token_budget=1000, rerank=True)
    assert [p.citation.doc_id for p in context.passages] == [h.doc_id for h in hits]
    assert [p.citation.score for p in context.passages] == pytest.approx([h.score for h in hits])
    with TestClient(borrow_engine(create_app(engine=rerank_engine), rerank_engine)) as client:
        body = {"query": QUERY, "candidates": 2, "token_budget": 1000, "rerank": True}
        assert client.post("/context", json=body).json()["context"] == context.context


def call_tool(engine: Engine, tool: str, arguments: dict[str, Any]) -> Any:
    async def call() -> Any:
        async with Client(build_server(engine)) as client:
            return await client.call_tool(tool, arguments)

    return asyncio.run(call())


def test_mcp_tools_rerank_as_the_api_does(rerank_engine: Engine) -> None:
    kb = KnowledgeBase(rerank_engine)
    found = call_tool(rerank_engine, "search", {"query": QUERY, "top_k": 3, "rerank": True})
    assert [h["raw_score"] for h in found.structured_content["results"]] == pytest.approx(
        [h.raw_score for h in kb.search(QUERY, top_k=3, rerank=True).results]
    )
    context = call_tool(rerank_engine, "get_context", {"query": QUERY, "token_budget": 200, "rerank": True})
    assert context.structured_content["context"] == kb.context(QUERY, token_budget=200, rerank=True).context


@pytest.mark.parametrize("path", ["/search", "/context"])
def test_rerank_without_a_configured_model_is_400(sample_client: TestClient, path: str) -> None:
    response = sample_client.post(path, json={"query": "x", "rerank": True})
    assert response.status_code == 400 and "SEMSEARCH_RERANK_MODEL" in response.json()["detail"]


def test_mcp_rerank_without_a_configured_model_is_a_tool_error(sample_engine: Engine) -> None:
    for tool in ("search", "get_context"):
        result = call_tool(sample_engine, tool, {"query": "x", "rerank": True})
        assert result.is_error and "SEMSEARCH_RERANK_MODEL" in result.content[0].text
