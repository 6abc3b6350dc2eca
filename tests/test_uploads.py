"""Files in over HTTP (`POST /files`, `GET /jobs/{id}`, `GET /files`, `DELETE /files/{id}`): an uploaded file is
read by the same readers as a local ingest and stores the same rows; long work is a job."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.api_sink import ApiSink
from ingest.loaders import TableOptions
from ingest.pipeline import ingest_files
from ingest.sources import discover
from ingest.sync import sync_selection
from search_api.app import create_app
from semsearch.embedder import Embedder
from semsearch.knowledge_base import KnowledgeBase
from semsearch.settings import Settings
from semsearch.store.schema import KEYWORD_FIELD
from semsearch.uploads import JobQueue, Staging, submit_files
from tests.live_server import serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
#: One file of each reader family: PDF pages, slides, Markdown headings, HTML main content, a table's rows.
SAMPLES = [
    "sample_data/howto/sorting.pdf",
    "sample_data/documents/enum-howto.pptx",
    "sample_data/library/decimal.md",
    "sample_data/library/2to3.html",
    "sample_data/modules.csv",
]
ROW_FIELDS = ["doc_id", "chunk_index", "text", "source", "char_start", "char_end", "content_hash", "metadata"]


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def app_client(tmp_path: Path, uploads: Path, embedder: Embedder) -> Iterator[TestClient]:
    """The real app on a fresh Milvus Lite database, staging uploads in `uploads` (to check nothing is left)."""
    settings = Settings(
        milvus_uri=str(tmp_path / "milvus.db"), collection="uploads", upload_dir=str(uploads), _env_file=None
    )
    with TestClient(create_app(settings, embedder=embedder)) as client:
        yield client


def kb_of(client: TestClient) -> KnowledgeBase:
    return KnowledgeBase(client.app.state.engine)  # type: ignore[attr-defined]


def rows(kb: KnowledgeBase) -> list[dict]:
    store = kb.engine.store
    fields = ROW_FIELDS + ([KEYWORD_FIELD] if store.has_keyword_text else [])
    return sorted(store.scan("", fields), key=lambda row: row["id"])


def upload(client: TestClient, paths: list[str], wait: bool = True, **data: str | list[str]):
    files = [("files", (Path(p).name, (ROOT / p).read_bytes())) for p in paths]
    return client.post("/files", params={"wait": wait}, files=files, data=data)


def left_behind(uploads: Path) -> list[Path]:
    return [path for path in uploads.rglob("*")] if uploads.exists() else []


def test_an_uploaded_file_stores_the_rows_a_local_ingest_stores(app_client: TestClient, uploads: Path) -> None:
    kb = kb_of(app_client)
    local = kb.add_files([ROOT / p for p in SAMPLES])
    assert not local.failures
    expected = rows(kb)
    assert any(row["metadata"].get("page_start") for row in expected)  # the PDF's pages survive
    assert any(row["metadata"].get("heading_path") for row in expected)  # and the headings
    kb.delete_where(all=True)

    answer = upload(app_client, SAMPLES, doc_id=SAMPLES)
    assert answer.status_code == 200, answer.text
    job = answer.json()
    assert (job["state"], job["files_done"], job["files_failed"]) == ("done", len(SAMPLES), 0)
    assert rows(kb) == expected

    again = upload(app_client, SAMPLES, doc_id=SAMPLES).json()  # content hashes: nothing is embedded twice
    assert (again["embedded"], again["unchanged"]) == (0, len(expected))
    assert kb.add_files([ROOT / p for p in SAMPLES]).stats.embedded == 0  # and a local ingest after it neither
    assert left_behind(uploads) == []


def test_an_upload_answers_at_once_with_a_job_to_follow(app_client: TestClient, uploads: Path) -> None:
    answer = upload(app_client, ["sample_data/howto/sockets.pdf"], wait=False)
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert answer.headers["location"] == f"/jobs/{job['id']}" and job["state"] in ("queued", "running", "done")
    deadline = time.monotonic() + 300
    while job["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
        job = app_client.get(f"/jobs/{job['id']}").json()
    assert job["state"] == "done" and job["files_done"] == 1 and job["embedded"] == job["chunks"] > 0
    assert job["files"][0]["doc_id"] == "sockets.pdf"  # no doc_id given: the file's name
    hits = app_client.post("/search", json={"query": "socket programming", "top_k": 1}).json()["results"]
    assert hits[0]["doc_id"] == "sockets.pdf" and hits[0]["metadata"]["page_start"] >= 1
    missing = app_client.get("/jobs/job_nope")
    assert missing.status_code == 404 and "job_nope" in missing.json()["detail"]
    assert left_behind(uploads) == []


def test_metadata_travels_with_the_upload(app_client: TestClient) -> None:
    answer = upload(app_client, ["sample_data/library/decimal.md"], metadata='{"team": "finance"}')
    assert answer.status_code == 200 and answer.json()["tenant"] is None
    hits = app_client.post("/search", json={"query": "decimal", "filter": {"team": "finance"}}).json()["results"]
    assert hits and all(hit["metadata"]["team"] == "finance" for hit in hits)
    refused = upload(app_client, ["sample_data/library/decimal.md"], tenant="acme")  # not a multi-tenant collection
    assert refused.status_code == 400 and "tenant" in refused.json()["detail"]


def test_in_a_multi_tenant_collection_the_files_go_to_the_tenant_named(
    tmp_path: Path, uploads: Path, embedder: Embedder
) -> None:
    settings = Settings(
        milvus_uri=str(tmp_path / "milvus.db"),
        collection="shared",
        multi_tenant=True,
        upload_dir=str(uploads),
        _env_file=None,
    )
    with TestClient(create_app(settings, embedder=embedder)) as client:
        answer = upload(client, ["sample_data/library/decimal.md"], tenant="acme")
        assert answer.status_code == 200, answer.text
        assert (answer.json()["tenant"], answer.json()["files_done"]) == ("acme", 1)
        assert upload(client, ["sample_data/library/decimal.md"]).status_code == 400  # every write names a tenant
        listed = client.get("/files", params={"tenant": "acme"}).json()["files"]
        assert [f["file_id"] for f in listed] == ["decimal.md"]
        assert client.get("/files", params={"tenant": "zenith"}).json()["files"] == []
        query = {"query": "decimal arithmetic", "tenant": "zenith"}
        assert client.post("/search", json=query).json()["results"] == []  # another tenant sees none of it
        assert client.delete("/files/decimal.md", params={"tenant": "zenith"}).status_code == 404
        assert client.delete("/files/decimal.md", params={"tenant": "acme"}).status_code == 200
    assert left_behind(uploads) == []


def test_files_are_listed_with_their_state_and_deleted_with_their_chunks(app_client: TestClient) -> None:
    job = upload(app_client, ["sample_data/library/decimal.md", "sample_data/modules.csv"]).json()
    counted = re.search(r"^semsearch_ingested_documents_total ([0-9.e+]+)$", app_client.get("/metrics").text, re.M)
    assert counted and float(counted.group(1)) == job["documents"]  # uploads count in /metrics
    listed = {f["file_id"]: f for f in app_client.get("/files").json()["files"]}
    assert listed["decimal.md"]["state"] == "stored" and listed["decimal.md"]["chunks"] > 0
    assert listed["modules.csv"]["documents"] > 1  # a table: one document per row, one file
    removed = app_client.delete("/files/modules.csv")
    assert removed.status_code == 200 and removed.json()["deleted"] > 1
    assert [f["file_id"] for f in app_client.get("/files").json()["files"]] == ["decimal.md"]
    missing = app_client.delete("/files/modules.csv")
    assert missing.status_code == 404 and "modules.csv" in missing.json()["detail"]


def test_ingest_through_the_api_sends_the_files_and_stores_the_local_rows(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(milvus_uri=str(tmp_path / "milvus.db"), collection="via_api", _env_file=None)
    app = create_app(settings, embedder=embedder)
    paths = [ROOT / p for p in SAMPLES]
    with serve_in_thread(app) as base:
        kb = KnowledgeBase(app.state.engine)
        kb.add_files(paths)
        expected = rows(kb)
        kb.delete_where(all=True)
        sink = ApiSink(base)
        try:
            sent = ingest_files(paths, sink, TableOptions())
            assert not sent.failures and sent.stats.embedded == len(expected)
            assert rows(kb) == expected  # ids relative to the work tree, pages, headings: as a local ingest
            assert ingest_files(paths, sink, TableOptions()).stats.embedded == 0
            (tmp_path / "empty.txt").write_text("")
            refused = ingest_files([ROOT / "README.md", tmp_path / "empty.txt"], sink, TableOptions())
        finally:
            sink.close()
    assert refused.files == 2 and refused.failures == [(str(tmp_path / "empty.txt"), "empty file")]


def test_submitted_files_store_the_local_rows_on_lite_and_the_server(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.add_files([ROOT / p for p in SAMPLES])
    expected = rows(kb)
    kb.delete_where(all=True)
    staging = Staging.create(Settings(upload_dir=str(tmp_path / "staged"), _env_file=None))
    for path in SAMPLES:
        staged = staging.begin(Path(path).name)
        staged.write((ROOT / path).read_bytes())
        staged.finish()
    queue = JobQueue(size=4)
    job = submit_files(kb, staging, queue=queue, doc_ids=SAMPLES)
    assert job.wait(600) and job.state == "done", job.to_dict()
    queue.close()
    assert rows(kb) == expected and list((tmp_path / "staged").iterdir()) == []


def test_a_collection_takes_uploads_under_its_own_path(app_client: TestClient, uploads: Path) -> None:
    assert app_client.post("/collections", json={"name": "zoo"}).status_code == 201
    files = [("files", ("decimal.md", (ROOT / "sample_data/library/decimal.md").read_bytes()))]
    answer = app_client.post("/collections/zoo/files", params={"wait": True}, files=files)
    assert answer.status_code == 200, answer.text
    assert answer.json()["collection"] == "zoo" and answer.json()["files_done"] == 1
    assert app_client.get(f"/jobs/{answer.json()['id']}").json()["state"] == "done"
    assert [f["file_id"] for f in app_client.get("/collections/zoo/files").json()["files"]] == ["decimal.md"]
    assert app_client.get("/files").json()["files"] == []  # the default collection holds none of it
    hits = app_client.post("/collections/zoo/search", json={"query": "decimal arithmetic"}).json()["results"]
    assert hits[0]["doc_id"] == "decimal.md"
    assert app_client.delete("/collections/zoo/files/decimal.md").status_code == 200
    assert app_client.post("/collections/nope/files", files=files).status_code == 404
    assert left_behind(uploads) == []


def test_ingest_through_the_api_splits_a_batch_over_the_request_limit(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(
        milvus_uri=str(tmp_path / "milvus.db"), collection="limits", max_upload_bytes=100_000, _env_file=None
    )
    files = {"a.txt": "Alpha notes on herons. " * 2500, "b.txt": "Beta notes on seals. " * 2500, "c.txt": "x " * 60_000}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with serve_in_thread(create_app(settings, embedder=embedder)) as base:
        sink = ApiSink(base)
        try:  # a and b fit alone, not together; c fits not at all
            report = ingest_files([tmp_path / name for name in files], sink, TableOptions(base=tmp_path))
        finally:
            sink.close()
    assert report.stats.documents == 2
    assert [(Path(path).name, "SEMSEARCH_MAX_UPLOAD_BYTES" in why) for path, why in report.failures] == [
        ("c.txt", True)
    ]


def test_deleting_a_file_id_no_file_can_have_is_404(app_client: TestClient) -> None:
    for bad in ("a%0Db.md", "a%0Ab.md", "a%00b.md"):
        answer = app_client.delete(f"/files/{bad}")
        assert answer.status_code == 404, answer.text


def test_ingest_through_the_api_writes_into_the_tenant_named(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(milvus_uri=str(tmp_path / "milvus.db"), collection="shared", multi_tenant=True, _env_file=None)
    app = create_app(settings, embedder=embedder)
    paths = [ROOT / "sample_data/library/decimal.md"]
    with serve_in_thread(app) as base:
        sink = ApiSink(base, tenant="acme")
        try:
            report = sync_selection([str(paths[0])], discover([str(paths[0])]), sink, TableOptions())
        finally:
            sink.close()
        whole = KnowledgeBase(app.state.engine)
        assert not report.failures and report.stats.documents == 1
        assert [d.doc_id for d in whole.for_tenant("acme").documents()] == ["sample_data/library/decimal.md"]
        assert list(whole.for_tenant("zenith").documents()) == []


def test_a_document_id_no_document_can_have_is_404_on_every_documents_route(app_client: TestClient) -> None:
    """Ids with a line break or NUL cannot be stored, nor written in a Milvus filter: asking for one finds nothing
    (404, or `missing`), never a 500 from the filter compiler."""
    for bad in ("a\rb.md", "a\nb.md", "a\x00b.md"):
        quoted = bad.replace("\r", "%0D").replace("\n", "%0A").replace("\x00", "%00")
        assert app_client.get(f"/documents/{quoted}").status_code == 404
        assert app_client.delete(f"/documents/{quoted}").status_code == 404
        answer = app_client.post("/documents/delete", json={"doc_ids": [bad]})
        assert answer.status_code in (200, 404), answer.text
        assert answer.status_code == 404 or answer.json()["deleted"] == 0
