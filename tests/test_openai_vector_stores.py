"""OpenAI's vector stores API spoken to by the official `openai` client over real HTTP (uvicorn), with the API keys
on: files, vector stores, their files and batches, search with and without filters, paging and deletes; on Milvus
Lite and on the Milvus 2.3.5 server (dense search there)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from pydantic import SecretStr

from search_api.app import create_app
from semsearch.embedder import Embedder
from semsearch.settings import Settings
from tests.live_server import serve_in_thread
from tests.milvus_server import MilvusServer

KEY, READ_KEY = "vs-admin-key", "vs-read-key"
TEXTS = {
    "otters.md": "# Sea otters\n\nSea otters hold hands while they sleep so that they do not drift apart on the "
    "waves. They crack shellfish open with stones balanced on their chests.",
    "volcanoes.txt": "Volcanoes erupt when magma rises through the crust. Lava flows, ash clouds and pyroclastic "
    "currents are the main hazards near an active volcano.",
    "tea.md": "# Brewing tea\n\nGreen tea is brewed with water below boiling, around 80 degrees, for two minutes; "
    "black tea takes boiling water and four minutes.",
    "bridges.md": "# Suspension bridges\n\nA suspension bridge hangs its deck from cables slung between towers, "
    "and the cables are anchored in massive blocks at each end.",
}


@pytest.fixture(scope="module", params=["lite", pytest.param("server", marks=pytest.mark.server)])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[tuple[str, str]]:
    """(base URL, backend) of a real server with both keys set, its files folder in a temporary directory."""
    folder = tmp_path_factory.mktemp("vector_stores")
    if request.param == "lite":
        uri, collection = str(folder / "milvus.db"), "vs_default"
    else:
        server: MilvusServer = request.getfixturevalue("milvus_server")
        uri, collection = server.uri, f"vs_default_{uuid.uuid4().hex[:8]}"
    settings = Settings(
        milvus_uri=uri,
        collection=collection,
        files_dir=str(folder / "files"),
        api_key=SecretStr(KEY),
        read_api_key=SecretStr(READ_KEY),
        _env_file=None,
    )
    with serve_in_thread(create_app(settings, embedder=embedder)) as base:
        yield base, request.param


@pytest.fixture(scope="module")
def client(served: tuple[str, str]) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{served[0]}/v1", api_key=KEY, max_retries=0)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sources")
    for name, text in TEXTS.items():
        (folder / name).write_text(text)
    return {name: folder / name for name in TEXTS}


@pytest.fixture(scope="module")
def store(client: openai.OpenAI, sources: dict[str, Path]) -> dict[str, str]:
    """One vector store holding every source: otters and tea through `upload_and_poll` with attributes, the other
    two through `file_batches.upload_and_poll`. Returns {"id": vector store id, file name: file id}."""
    vs = client.vector_stores.create(name="knowledge", metadata={"team": "docs"})
    ids = {"id": vs.id}
    for name, attributes in (("otters.md", {"topic": "animals", "year": 2021}), ("tea.md", {"topic": "food"})):
        with sources[name].open("rb") as handle:
            file = client.vector_stores.files.upload_and_poll(
                vector_store_id=vs.id, file=handle, attributes=attributes, poll_interval_ms=100
            )
        assert file.status == "completed", file.last_error
        assert file.attributes == attributes
        ids[name] = file.id
    handles = [sources[name].open("rb") for name in ("volcanoes.txt", "bridges.md")]
    try:
        batch = client.vector_stores.file_batches.upload_and_poll(vs.id, files=handles, poll_interval_ms=100)
    finally:
        for handle in handles:
            handle.close()
    assert batch.status == "completed" and batch.file_counts.completed == 2, batch
    for file in client.vector_stores.file_batches.list_files(batch.id, vector_store_id=vs.id):
        ids[client.files.retrieve(file.id).filename] = file.id
    return ids


def static(size: int, overlap: int) -> dict:
    return {"type": "static", "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap}}


def search(client: openai.OpenAI, vs_id: str, query: str, **options) -> list:
    return list(client.vector_stores.search(vs_id, query=query, **options).data)


def test_the_file_search_flow_answers_with_the_file_that_holds_the_answer(
    client: openai.OpenAI, store: dict[str, str]
) -> None:
    vs = client.vector_stores.retrieve(store["id"])
    assert (vs.name, vs.metadata, vs.status) == ("knowledge", {"team": "docs"}, "completed")
    assert vs.file_counts.completed == vs.file_counts.total == 4
    assert vs.usage_bytes == sum(len(text.encode()) for text in TEXTS.values())
    results = search(client, store["id"], "why do otters hold hands when sleeping?", max_num_results=3)
    first = results[0]
    assert (first.file_id, first.filename) == (store["otters.md"], "otters.md")
    assert "hold hands" in first.content[0].text and first.content[0].type == "text"
    assert first.attributes == {"topic": "animals", "year": 2021}
    assert 0 < first.score <= 1 and len(results) <= 3
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_a_vector_store_created_with_file_ids_reads_them(client: openai.OpenAI, sources: dict[str, Path]) -> None:
    with sources["volcanoes.txt"].open("rb") as handle:
        file = client.files.create(file=handle, purpose="assistants")
    assert (file.filename, file.bytes, file.purpose) == (
        "volcanoes.txt",
        sources["volcanoes.txt"].stat().st_size,
        "assistants",
    )
    static = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 20}}
    vs = client.vector_stores.create(name="one", file_ids=[file.id], chunking_strategy=static)
    deadline = time.monotonic() + 120
    while client.vector_stores.retrieve(vs.id).status == "in_progress" and time.monotonic() < deadline:
        time.sleep(0.1)
    attached = client.vector_stores.files.retrieve(file.id, vector_store_id=vs.id)
    assert attached.status == "completed"
    assert attached.chunking_strategy.static.max_chunk_size_tokens == 100
    assert search(client, vs.id, "what makes a volcano dangerous")[0].file_id == file.id
    assert client.files.content(file.id).read() == sources["volcanoes.txt"].read_bytes()
    client.vector_stores.delete(vs.id)


def test_filters_on_attributes_compare_and_combine(client: openai.OpenAI, store: dict[str, str]) -> None:
    def files(filters: dict) -> set[str]:
        results = search(client, store["id"], "nature and food", filters=filters, max_num_results=10)
        return {result.filename for result in results}

    assert files({"type": "eq", "key": "topic", "value": "food"}) == {"tea.md"}
    assert files({"type": "gte", "key": "year", "value": 2020}) == {"otters.md"}
    assert files({"type": "in", "key": "topic", "value": ["food", "animals"]}) == {"tea.md", "otters.md"}
    either = {
        "type": "or",
        "filters": [{"type": "eq", "key": "topic", "value": "food"}, {"type": "lt", "key": "year", "value": 2030}],
    }
    assert files(either) == {"tea.md", "otters.md"}
    both = {
        "type": "and",
        "filters": [{"type": "eq", "key": "topic", "value": "animals"}, {"type": "gt", "key": "year", "value": 2021}],
    }
    assert files(both) == set()


def test_attributes_can_be_replaced_and_filter_at_once(client: openai.OpenAI, store: dict[str, str]) -> None:
    vs_id, bridges = store["id"], store["bridges.md"]
    client.vector_stores.files.update(bridges, vector_store_id=vs_id, attributes={"topic": "engineering"})
    file = client.vector_stores.files.poll(bridges, vector_store_id=vs_id, poll_interval_ms=100)
    assert (file.status, file.attributes) == ("completed", {"topic": "engineering"})
    found = search(client, vs_id, "cables", filters={"type": "eq", "key": "topic", "value": "engineering"})
    assert [result.file_id for result in found] == [bridges]


def test_lists_page_with_cursors_and_filter_by_status(client: openai.OpenAI, store: dict[str, str]) -> None:
    vs_id = store["id"]
    first = client.vector_stores.files.list(vector_store_id=vs_id, limit=3, order="asc")
    assert len(first.data) == 3 and first.has_more
    every = [file.id for file in client.vector_stores.files.list(vector_store_id=vs_id, limit=1, order="asc")]
    assert len(every) == 4 == len(set(every)) and every[:3] == [file.id for file in first.data]
    completed = client.vector_stores.files.list(vector_store_id=vs_id, filter="completed")
    assert {file.id for file in completed} == set(every)
    assert list(client.vector_stores.files.list(vector_store_id=vs_id, filter="failed")) == []
    assert vs_id in [vs.id for vs in client.vector_stores.list(limit=1)]
    assert {f.id for f in client.files.list()} >= set(every)


def test_a_removed_file_leaves_the_search_and_content_shows_what_is_stored(
    client: openai.OpenAI, store: dict[str, str], sources: dict[str, Path]
) -> None:
    vs = client.vector_stores.create(name="short-lived")
    with sources["tea.md"].open("rb") as handle:
        file = client.vector_stores.files.upload_and_poll(vector_store_id=vs.id, file=handle, poll_interval_ms=100)
    content = client.vector_stores.files.content(file.id, vector_store_id=vs.id)
    assert "80 degrees" in " ".join(part.text for part in content)
    assert search(client, vs.id, "green tea temperature")[0].file_id == file.id
    deleted = client.vector_stores.files.delete(file.id, vector_store_id=vs.id)
    assert deleted.deleted and deleted.id == file.id
    assert search(client, vs.id, "green tea temperature") == []
    assert client.vector_stores.retrieve(vs.id).file_counts.total == 0
    assert client.vector_stores.delete(vs.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve(vs.id)
    assert client.files.delete(file.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(file.id)


def test_a_file_of_a_type_no_reader_takes_is_refused_at_upload(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.files.create(file=("tool.exe", b"MZ\x90\x00", "application/octet-stream"), purpose="assistants")
    assert caught.value.status_code == 415
    assert "unsupported file type" in caught.value.message


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda c, s: c.vector_stores.retrieve("vs_" + "0" * 32), openai.NotFoundError),
        (lambda c, s: c.vector_stores.retrieve("nonsense"), openai.NotFoundError),
        (lambda c, s: c.vector_stores.files.retrieve("file-nope", vector_store_id=s["id"]), openai.NotFoundError),
        (lambda c, s: c.vector_stores.files.create(s["id"], file_id="file-nope"), openai.NotFoundError),
        (lambda c, s: c.vector_stores.create(file_ids=["file-nope"]), openai.NotFoundError),
        (
            lambda c, s: c.vector_stores.file_batches.retrieve("vsfb_nope", vector_store_id=s["id"]),
            openai.NotFoundError,
        ),
        (lambda c, s: c.files.retrieve("file-nope"), openai.NotFoundError),
        (lambda c, s: c.vector_stores.search(s["id"], query="x", max_num_results=0), openai.BadRequestError),
        (lambda c, s: c.vector_stores.search(s["id"], query="x", max_num_results=51), openai.BadRequestError),
        (
            lambda c, s: c.vector_stores.search(
                s["id"], query="x", filters={"type": "eq", "key": "colour", "value": "red"}
            ),
            openai.BadRequestError,
        ),
        (
            lambda c, s: c.vector_stores.search(
                s["id"], query="x", filters={"type": "like", "key": "topic", "value": "a"}
            ),
            openai.BadRequestError,
        ),
        (
            lambda c, s: c.vector_stores.search(
                s["id"], query="x", filters={"type": "eq", "key": "topic", "value": ["a"]}
            ),
            openai.BadRequestError,
        ),
        (lambda c, s: c.vector_stores.search(s["id"], query=""), openai.BadRequestError),
        (lambda c, s: c.vector_stores.list(after="vs_unknown"), openai.BadRequestError),
        (lambda c, s: c.vector_stores.create(chunking_strategy=static(100, 80)), openai.BadRequestError),
        (
            lambda c, s: c.vector_stores.files.create(s["id"], file_id=s["tea.md"], chunking_strategy=static(300, 10)),
            openai.BadRequestError,
        ),
        (
            lambda c, s: c.vector_stores.files.create(s["id"], file_id=s["tea.md"], attributes={"a b": 1}),
            openai.BadRequestError,
        ),
    ],
)
def test_bad_requests_are_4xx_in_openais_error_shape(
    client: openai.OpenAI, store: dict[str, str], call, error: type[openai.APIStatusError]
) -> None:
    with pytest.raises(error) as caught:
        call(client, store)
    body = caught.value.body
    assert isinstance(body, dict) and body["message"]  # the client hands over the body's `error` object
    assert body["type"] == "invalid_request_error"


def test_keys_work_as_the_openai_client_sends_them(served: tuple[str, str], store: dict[str, str]) -> None:
    base = f"{served[0]}/v1"
    reader = openai.OpenAI(base_url=base, api_key=READ_KEY, max_retries=0)
    assert search(reader, store["id"], "volcano hazards")[0].file_id == store["volcanoes.txt"]
    assert reader.vector_stores.retrieve(store["id"]).id == store["id"]
    with pytest.raises(openai.PermissionDeniedError):
        reader.vector_stores.create(name="not allowed")
    with pytest.raises(openai.PermissionDeniedError):
        reader.files.list()
    with pytest.raises(openai.AuthenticationError) as caught:
        openai.OpenAI(base_url=base, api_key="wrong", max_retries=0).vector_stores.list()
    assert caught.value.body["code"] == "invalid_api_key"


def test_the_backend_without_bm25_searches_dense_and_refuses_keyword(
    client: openai.OpenAI, served: tuple[str, str], store: dict[str, str]
) -> None:
    """`ranker: auto` is hybrid where the backend has BM25 and dense where it has not; `search_mode` is explicit."""
    query = "suspension bridge cables"
    for ranking in ({"ranker": "auto"}, {"ranker": "none"}, {"ranker": "default-2024-11-15", "score_threshold": 0.1}):
        assert search(client, store["id"], query, ranking_options=ranking)[0].file_id == store["bridges.md"]
    keyword = httpx.post(
        f"{served[0]}/v1/vector_stores/{store['id']}/search",
        json={"query": query, "search_mode": "keyword"},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=60,
    )
    if served[1] == "lite":
        assert keyword.status_code == 200 and keyword.json()["data"][0]["file_id"] == store["bridges.md"]
    else:
        assert keyword.status_code == 400 and keyword.json()["error"]["message"]
