"""`POST /v1/embeddings` spoken to by the official `openai` client over real HTTP, with the API key on."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import numpy as np
import openai
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from search_api.app import create_app
from semsearch.engine import Engine
from semsearch.settings import DEFAULT_MODEL
from tests.helpers import borrow_engine
from tests.live_server import serve_in_thread

KEY = "test-openai-key"
TEXTS = ["roll dice and flip coins in a simulation", "Decimal fixed point and floating point arithmetic"]


@pytest.fixture(scope="module")
def keyed_server(sample_engine: Engine) -> Iterator[str]:
    settings = sample_engine.settings.model_copy(update={"api_key": SecretStr(KEY)})
    with serve_in_thread(borrow_engine(create_app(settings, engine=sample_engine), sample_engine)) as base:
        yield base


@pytest.fixture(scope="module")
def keyed_client(sample_engine: Engine) -> Iterator[TestClient]:
    settings = sample_engine.settings.model_copy(update={"api_key": SecretStr(KEY)})
    app = borrow_engine(create_app(settings, engine=sample_engine), sample_engine)
    with TestClient(app, headers={"Authorization": f"Bearer {KEY}"}) as client:
        yield client


def test_openai_client_gets_the_engines_own_vectors(keyed_server: str, sample_engine: Engine) -> None:
    """The client's default encoding is base64; both encodings decode to exactly what ingest would store."""
    client = openai.OpenAI(base_url=f"{keyed_server}/v1", api_key=KEY)
    expected = sample_engine.embedder.embed_documents(TEXTS)
    for encoding in ("base64", "float"):
        kwargs = {"encoding_format": encoding} if encoding == "float" else {}
        response = client.embeddings.create(model=DEFAULT_MODEL, input=TEXTS, **kwargs)
        got = np.array([item.embedding for item in response.data], dtype=np.float32)
        assert [item.index for item in response.data] == [0, 1]
        np.testing.assert_array_equal(got, expected)
        assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        assert response.model == DEFAULT_MODEL
        assert response.usage.prompt_tokens == sum(sample_engine.embedder.count_tokens(t) for t in TEXTS)
    assert [m.id for m in client.models.list()] == [DEFAULT_MODEL]


def test_an_embedded_query_finds_the_same_first_hit_as_search(keyed_server: str, sample_engine: Engine) -> None:
    client = openai.OpenAI(base_url=f"{keyed_server}/v1", api_key=KEY)
    vector = client.embeddings.create(model="all-MiniLM-L6-v2", input=TEXTS[0]).data[0].embedding
    hits = sample_engine.store.dense_search(np.array(vector, dtype=np.float32), 1)
    assert hits[0].doc_id == "sample_data/library/random.md"


def test_the_openai_client_without_the_key_is_refused(keyed_server: str) -> None:
    client = openai.OpenAI(base_url=f"{keyed_server}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.embeddings.create(model=DEFAULT_MODEL, input="x")


def test_base64_is_little_endian_float32(keyed_client: TestClient, sample_engine: Engine) -> None:
    body = keyed_client.post(
        "/v1/embeddings", json={"input": "hello", "model": DEFAULT_MODEL, "encoding_format": "base64"}
    ).json()
    vector = np.frombuffer(base64.b64decode(body["data"][0]["embedding"]), dtype="<f4")
    np.testing.assert_array_equal(vector, sample_engine.embedder.embed_documents(["hello"])[0])
    assert body["object"] == "list" and body["data"][0]["object"] == "embedding"


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({"input": "x", "model": "text-embedding-3-small"}, 400, "not served here"),
        ({"input": "x", "model": DEFAULT_MODEL, "dimensions": 128}, 400, "dimensions must be 384"),
        ({"input": "word " * 400, "model": DEFAULT_MODEL}, 400, "the model reads at most 256"),
        ({"input": [[1, 2, 3]], "model": DEFAULT_MODEL}, 422, "token-id input is not supported"),
        ({"input": [101, 2023], "model": DEFAULT_MODEL}, 422, "token-id input is not supported"),
        ({"input": [], "model": DEFAULT_MODEL}, 422, "at least 1 item"),
        ({"input": [""], "model": DEFAULT_MODEL}, 422, "at least 1 character"),
        ({"input": "x"}, 422, "model"),
        ({"input": "x", "model": DEFAULT_MODEL, "encoding_format": "int8"}, 422, "float"),
    ],
)
def test_bad_embedding_requests_are_refused_with_a_message(
    keyed_client: TestClient, payload: dict, status: int, message: str
) -> None:
    response = keyed_client.post("/v1/embeddings", json=payload)
    assert response.status_code == status, response.text
    assert message in response.text


def test_every_field_the_openai_client_sends_is_accepted(keyed_server: str) -> None:
    """The route forbids unknown fields, so it must accept the whole of the client's vocabulary."""
    client = openai.OpenAI(base_url=f"{keyed_server}/v1", api_key=KEY, max_retries=0)
    response = client.embeddings.create(
        model=DEFAULT_MODEL, input=[TEXTS[0]], encoding_format="float", dimensions=384, user="someone"
    )
    assert len(response.data[0].embedding) == 384
