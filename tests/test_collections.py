"""Collections are resources: many knowledge bases in one API (and one `Service`), each with its own settings."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import semsearch
from search_api.app import create_app
from semsearch.embedder import Embedder
from semsearch.errors import CollectionExists, CollectionNotFound, InvalidCollectionName
from semsearch.knowledge_base import KnowledgeBase
from semsearch.service import service as service_module
from semsearch.settings import Settings

OTTERS = {"id": "otters", "text": "Sea otters hold hands while they sleep so they do not drift apart."}
MARKETS = {"id": "markets", "text": "The stock market fell sharply after the central bank raised interest rates."}


@pytest.fixture
def api(settings: Settings, embedder: Embedder) -> Iterator[TestClient]:
    with TestClient(create_app(settings, embedder=embedder)) as client:
        yield client


def _add(api: TestClient, collection: str, *documents: dict) -> None:
    answer = api.post(f"/collections/{collection}/documents", json={"documents": list(documents)})
    assert answer.status_code == 200, answer.text


def test_collections_are_listed_created_searched_apart_and_dropped(api: TestClient, settings: Settings) -> None:
    listed = api.get("/collections").json()
    assert listed["default"] == settings.collection
    assert [c["name"] for c in listed["collections"]] == [settings.collection]

    created = api.post("/collections", json={"name": "zoo", "chunk_tokens": 64})
    assert created.status_code == 201, created.text
    assert created.json()["settings"]["chunk_tokens"] == 64 and created.json()["state"] == "ready"
    assert api.post("/collections", json={"name": "zoo", "chunk_tokens": 64}).status_code == 200  # the same again
    _add(api, "zoo", OTTERS)
    _add(api, settings.collection, MARKETS)  # the default collection, by name

    zoo = api.post("/collections/zoo/search", json={"query": "animals sleeping in the water"}).json()
    assert [hit["doc_id"] for hit in zoo["results"]] == ["otters"]
    default = api.post("/search", json={"query": "animals sleeping in the water"}).json()
    assert [hit["doc_id"] for hit in default["results"]] == ["markets"]  # the unprefixed routes: the default one
    shown = api.get("/collections/zoo").json()
    assert (shown["chunks"], shown["documents"], shown["loaded"]) == (1, 1, True)
    assert {c["name"] for c in api.get("/collections").json()["collections"]} == {settings.collection, "zoo"}

    refused = api.request("DELETE", "/collections/zoo", json={"confirm": "zo"})
    assert refused.status_code == 400 and "confirm" in refused.json()["detail"]
    dropped = api.request("DELETE", "/collections/zoo", json={"confirm": "zoo"})
    assert dropped.status_code == 200 and "zoo" in dropped.json()["dropped"]
    gone = api.post("/collections/zoo/search", json={"query": "otters"})
    assert gone.status_code == 404 and "'zoo'" in gone.json()["detail"]
    assert api.get("/collections/zoo").status_code == 404
    assert api.post("/search", json={"query": "otters"}).status_code == 200  # the others are not affected


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "words"),
    [
        ("POST", "/collections/nope/search", {"query": "q"}, 404, "'nope'"),
        ("GET", "/collections/nope", None, 404, "'nope'"),
        ("GET", "/collections/nope/documents", None, 404, "'nope'"),
        ("POST", "/collections", {"name": "1st"}, 400, "starts with a letter or an underscore"),
        ("POST", "/collections", {"name": "a-b"}, 400, "only letters, digits and underscores"),
        ("POST", "/collections", {"name": "docs__keys"}, 400, "__keys"),
        ("POST", "/collections", {"name": "ok", "chunk_tokens": 64, "chunk_overlap": 64}, 400, "chunk_overlap"),
        ("POST", "/collections", {"name": "ok", "batch_size": 4}, 422, "batch_size"),
        ("POST", "/collections/9lives/search", {"query": "q"}, 400, "Milvus's rule"),
        ("GET", "/collections/9lives", None, 400, "Milvus's rule"),
    ],
)
def test_unknown_and_bad_collections_are_refused_with_a_message(
    api: TestClient, method: str, path: str, body: dict | None, status: int, words: str
) -> None:
    answer = api.request(method, path, json=body)
    assert answer.status_code == status, answer.text
    assert words in answer.text


def test_creating_an_existing_collection_with_other_settings_is_a_conflict(api: TestClient) -> None:
    assert api.post("/collections", json={"name": "zoo", "chunk_tokens": 64}).status_code == 201
    clash = api.post("/collections", json={"name": "zoo", "chunk_tokens": 128})
    assert clash.status_code == 409 and "chunk_tokens is 64, not 128" in clash.json()["detail"]


def test_the_default_collection_cannot_be_dropped_through_the_api(api: TestClient, settings: Settings) -> None:
    name = settings.collection
    answer = api.request("DELETE", f"/collections/{name}", json={"confirm": name})
    assert answer.status_code == 409 and "default" in answer.json()["detail"]


def test_a_collection_still_opening_answers_503_loading_while_the_others_answer(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert api.post("/collections", json={"name": "slow"}).status_code == 201
    service = api.app.state.service  # type: ignore[attr-defined]
    service.settings = service.settings.model_copy(update={"max_open_collections": 1})
    assert api.post("/collections", json={"name": "other"}).status_code == 201  # "slow" is closed to make room
    release = threading.Event()
    real_open = service_module.Engine.open

    def held_open(*args, **kwargs):  # the real open, after the test lets it go: a load that takes a while
        release.wait(60)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(service_module.Engine, "open", held_open)
    try:
        loading = api.post("/collections/slow/search", json={"query": "q"})
        assert loading.status_code == 503 and int(loading.headers["Retry-After"]) >= 1
        assert api.get("/collections/slow").json()["state"] == "opening"
        assert api.post("/search", json={"query": "q"}).status_code == 200  # the default collection answers
    finally:
        release.set()
    monkeypatch.setattr(service_module.Engine, "open", real_open)
    for _ in range(60):  # poll: the open finishes in its own thread
        answer = api.post("/collections/slow/search", json={"query": "q"})
        if answer.status_code != 503:
            break
    assert answer.status_code == 200


def test_the_service_opens_collections_by_name_with_their_own_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with semsearch.Service(tmp_path / "m.db", _env_file=None) as service:
        service.create("zoo", chunk_tokens=64).add([OTTERS])
        service.create("news").add([MARKETS])
        assert service.names() == ["news", "zoo"]
        assert service.open("zoo").settings.chunk_tokens == 64
        assert service.open("news").search("sleeping animals", top_k=1).results[0].doc_id == "markets"
        assert sum(service.models.loads.values()) == 1  # one model, loaded once for both
        with pytest.raises(CollectionExists, match="chunk_tokens"):
            service.create("zoo", chunk_tokens=100)
        with pytest.raises(InvalidCollectionName, match="letter"):
            service.create("9lives")
        service.drop("zoo")
        with pytest.raises(CollectionNotFound, match="'zoo'"):
            service.open("zoo")
    # A collection keeps its settings: opened again, whatever the environment says; an explicit argument wins.
    monkeypatch.setenv("SEMSEARCH_CHUNK_TOKENS", "300")
    with semsearch.open(tmp_path / "m.db", collection="news", _env_file=None) as kb:
        assert kb.settings.chunk_tokens == 144 and kb.count() == 1
    with semsearch.open(tmp_path / "m.db", collection="news", chunk_tokens=200, _env_file=None) as kb:
        assert kb.settings.chunk_tokens == 200
    with semsearch.open(tmp_path / "m.db", collection="zoo", _env_file=None) as kb:
        assert kb.count() == 0 and kb.settings.chunk_tokens == 300  # dropped: this is a new one, made now


def _released(is_loaded) -> bool:
    """Poll (generous deadline): a release runs in the service's own thread."""
    deadline = time.monotonic() + 60
    while is_loaded():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_a_collection_closed_to_make_room_is_released_when_its_last_lease_ends(tmp_path: Path) -> None:
    with semsearch.Service(tmp_path / "m.db", _env_file=None) as service:
        for name in ("a", "b", "c"):
            service.create(name).add([OTTERS])
    with semsearch.Service(tmp_path / "m.db", _env_file=None, max_open_collections=1) as service:
        service.retire_after = 600  # an engine lent without a lease: released only after this
        loaded = {name: lambda name=name: service.catalog.is_loaded(service.catalog.get(name)) for name in "abc"}
        with service.lease("a") as a:
            with service.lease("b"):  # "a" is closed to make room, but held: it still answers
                assert loaded["a"]() and KnowledgeBase(a, owned=False).search("otters").results
            assert loaded["a"]()
        assert _released(loaded["a"])  # its last lease ended
        service.open("c")  # "b" is closed to make room, nobody holds it: released at once
        assert _released(loaded["b"])
        with service.lease("a"):  # "c" was lent without a lease: it may still be in use, so it stays loaded
            assert loaded["c"]() and loaded["a"]()


def test_reads_over_more_collections_than_the_bound_keep_few_loaded(
    api: TestClient, settings: Settings, embedder: Embedder
) -> None:
    with semsearch.Service(settings) as elsewhere:  # made by another service: this API has lent none of them
        elsewhere.models.adopt(embedder, settings)
        for name in ("a", "b", "c"):
            elsewhere.create(name).add([OTTERS])
    service = api.app.state.service  # type: ignore[attr-defined]
    service.settings = service.settings.model_copy(update={"max_open_collections": 1})
    service.retire_after = 600  # what an engine lent without a lease would wait for
    for name in ("a", "b", "c", "a"):  # each read opens one, and closes the one before, which only a read held
        assert api.post(f"/collections/{name}/search", json={"query": "otters"}).status_code == 200
    for name in ("b", "c"):
        assert _released(lambda name=name: api.get(f"/collections/{name}").json()["loaded"]), name
    assert api.get("/collections/a").json()["loaded"] is True


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A second, genuinely different model built here (a 64-d head on the shipped encoder), saved like a user's."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense

    from semsearch.embedder import resolve_model_path
    from semsearch.settings import DEFAULT_MODEL

    base = SentenceTransformer(resolve_model_path(DEFAULT_MODEL), device="cpu")
    path = tmp_path_factory.mktemp("models") / "small-64"
    SentenceTransformer(modules=[base[0], base[1], Dense(in_features=384, out_features=64)]).save(str(path))
    return str(path)


def test_two_collections_with_two_models_are_served_side_by_side_each_model_loaded_once(
    api: TestClient, small_model: str, settings: Settings
) -> None:
    created = api.post("/collections", json={"name": "small", "model": small_model})
    assert created.status_code == 201, created.text
    assert (created.json()["model"], created.json()["dim"]) == (small_model, 64)
    assert api.post("/collections", json={"name": "again"}).status_code == 201  # the default model, shared
    _add(api, "small", OTTERS, MARKETS)
    _add(api, settings.collection, OTTERS, MARKETS)
    for path in ("/collections/small/search", "/search"):
        hits = api.post(path, json={"query": "sea otters sleeping", "mode": "dense"}).json()["results"]
        assert hits[0]["doc_id"] == "otters", path
    vectors = api.post("/collections/small/v1/embeddings", json={"input": "otters", "model": small_model}).json()
    assert len(vectors["data"][0]["embedding"]) == 64
    models = api.app.state.service.models  # type: ignore[attr-defined]
    assert models.loaded() == sorted([settings.model, small_model])
    assert sum(models.loads.values()) == 1  # the small model; the default one is the API's own, adopted
    missing = api.post("/collections", json={"name": "remote", "model": "someone/not-installed"})
    assert missing.status_code == 400 and "not installed" in missing.json()["detail"]


@pytest.mark.server
def test_collections_on_the_milvus_server(milvus_server, embedder: Embedder) -> None:
    name = f"coll_{uuid.uuid4().hex[:10]}"
    with semsearch.Service(milvus_server.uri, _env_file=None) as service:
        service.models.adopt(embedder, service.settings)
        service.create(name, chunk_tokens=64).add([OTTERS, MARKETS])
        assert name in service.names()
        shown = service.describe(name)
        assert (shown["chunks"], shown["settings"]["chunk_tokens"], shown["collection"]) == (2, 64, name)
        assert shown["physical_collection"].startswith(f"{name}__")  # an alias on a server
        assert service.open(name).search("sea otters sleeping", top_k=1).results[0].doc_id == "otters"
        dropped = service.drop(name)
        assert f"alias {name}" in dropped and f"{name}__keys" in dropped
        with pytest.raises(CollectionNotFound):
            service.open(name)
        assert name not in service.names()
