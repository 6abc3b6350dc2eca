"""Bad uploads: each file refused by name with a 4xx and its reason while the other files land, no temporary file
left behind, never a 500 (issue 25's list: unknown type, empty, corrupt, encrypted, zip bomb, over the limit,
hostile names, a body cut half way, a lying Content-Length, 1,000 files in one request)."""

from __future__ import annotations

import io
import socket
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfWriter

from search_api.app import create_app
from semsearch.embedder import Embedder
from semsearch.knowledge_base import KnowledgeBase
from semsearch.settings import Settings
from tests.live_server import serve_in_thread

BOUNDARY = b"semsearch-test-boundary"
GOOD = b"Sea otters hold hands while they sleep so that they do not drift apart."
MAX_FILE = 64 * 1024
MAX_REQUEST = 2_000_000


def encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt("secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A .docx that unpacks to 2 MiB of zeros from a few kB: over the 1 MiB unpack limit set below."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (2 * 2**20))
    return out.getvalue()


#: (file name, content, status, words of the reason): one row per kind of bad file.
BAD_FILES = [
    pytest.param(b"notes.exe", b"MZ...", 415, "unsupported file type", id="unknown-type"),
    pytest.param(b"blank.md", b"", 400, "empty file", id="empty"),
    pytest.param(b"broken.pdf", b"%PDF-1.7 this is not a PDF at all", 400, "PDF", id="corrupt"),
    pytest.param(b"locked.pdf", encrypted_pdf(), 400, "encrypted", id="encrypted"),
    pytest.param(b"bomb.docx", zip_bomb(), 400, "zip bomb", id="zip-bomb"),
    pytest.param(b"huge.txt", b"x" * (MAX_FILE + 1), 413, "limit", id="over-limit"),
    pytest.param(b"../escape.txt", GOOD, 400, "is a path", id="dot-dot"),
    pytest.param(b"nul\x00.txt", GOOD, 400, "control character", id="nul"),
    pytest.param(b"n" * 10_000 + b".txt", GOOD, 400, "longer than 255 bytes", id="10kB-name"),
    pytest.param(b"caf\xe9.txt", GOOD, 400, "not UTF-8", id="not-utf8"),
]


def multipart(files: list[tuple[bytes, bytes]], fields: dict[str, str] | None = None) -> bytes:
    """A multipart/form-data body written byte for byte, so a file name can be anything (NUL, latin-1, 10 kB)."""
    out = bytearray()
    for name, value in (fields or {}).items():
        out += b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n'
        out += value.encode() + b"\r\n"
    for filename, data in files:
        out += b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="files"; filename="' + filename + b'"\r\n'
        out += b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
    return bytes(out + b"--" + BOUNDARY + b"--\r\n")


HEADERS = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY.decode()}"}


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def settings(tmp_path: Path, uploads: Path) -> Settings:
    return Settings(
        milvus_uri=str(tmp_path / "milvus.db"),
        collection="bad_uploads",
        upload_dir=str(uploads),
        max_file_bytes=MAX_FILE,
        max_unpacked_bytes=2**20,
        max_upload_bytes=MAX_REQUEST,
        _env_file=None,
    )


@pytest.fixture
def client(settings: Settings, embedder: Embedder) -> Iterator[TestClient]:
    with TestClient(create_app(settings, embedder=embedder), raise_server_exceptions=False) as client:
        yield client


def left_behind(uploads: Path) -> list[Path]:
    """Files still staged once every job has ended (the folder itself may stay)."""
    return sorted(uploads.rglob("*")) if uploads.exists() else []


def stored(client: TestClient) -> list[str]:
    kb = KnowledgeBase(client.app.state.engine)  # type: ignore[attr-defined]
    return sorted(doc.doc_id for doc in kb.documents())


@pytest.mark.parametrize(("name", "content", "status", "reason"), BAD_FILES)
def test_a_bad_file_alone_is_refused_by_name_with_its_reason(
    client: TestClient, uploads: Path, name: bytes, content: bytes, status: int, reason: str
) -> None:
    answer = client.post("/files?wait=true", content=multipart([(name, content)]), headers=HEADERS)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert reason in body["detail"] and reason in body["files"][0]["error"]
    shown = name.decode("utf-8", "replace")[:40]
    assert shown in body["detail"] or repr(name)[2:40] in body["detail"]
    assert left_behind(uploads) == [] and stored(client) == []


def test_bad_files_are_reported_while_the_good_ones_land(client: TestClient, uploads: Path) -> None:
    bad = [(p.values[0], p.values[1]) for p in BAD_FILES]
    answer = client.post("/files?wait=true", content=multipart([*bad, (b"otters.txt", GOOD)]), headers=HEADERS)
    assert answer.status_code == 200, answer.text
    job = answer.json()
    assert (job["files_done"], job["files_failed"]) == (1, len(bad))
    statuses = [f["status"] for f in job["files"][: len(bad)]]
    assert statuses == [p.values[2] for p in BAD_FILES]
    assert all(p.values[3] in f["error"] for p, f in zip(BAD_FILES, job["files"], strict=False))
    assert stored(client) == ["otters.txt"] and left_behind(uploads) == []


def test_a_body_cut_half_way_stores_nothing_and_says_which_file(client: TestClient, uploads: Path) -> None:
    body = multipart([(b"first.txt", GOOD), (b"second.txt", GOOD * 100)])
    cut = body[: len(body) - 3000]
    answer = client.post("/files?wait=true", content=cut, headers=HEADERS)
    assert answer.status_code == 400, answer.text
    assert "cut off" in answer.json()["detail"] and "second.txt" in answer.json()["detail"]
    assert stored(client) == [] and left_behind(uploads) == []


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b'{"files": []}', {"Content-Type": "application/json"}, 415),
        (b"x", {"Content-Type": "multipart/form-data"}, 400),  # no boundary
        (multipart([]), HEADERS, 400),  # no file at all
        (multipart([(b"a.txt", GOOD)], {"metadata": "[1, 2]"}), HEADERS, 400),
        (multipart([(b"a.txt", GOOD)], {"doc_id": "a", "metadata": '{"k": 1}'}), HEADERS, 200),
        (multipart([(b"a.txt", GOOD), (b"b.txt", GOOD)], {"doc_id": "only-one"}), HEADERS, 400),
    ],
    ids=["json", "no-boundary", "no-files", "metadata-not-object", "fields-ok", "doc-id-count"],
)
def test_malformed_requests_are_4xx_with_a_message(
    client: TestClient, uploads: Path, body: bytes, headers: dict[str, str], status: int
) -> None:
    answer = client.post("/files?wait=true", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert status == 200 or answer.json()["detail"]
    assert left_behind(uploads) == []


def test_a_streamed_body_over_the_request_limit_is_413_and_leaves_nothing(client: TestClient, uploads: Path) -> None:
    body = multipart([(b"first.txt", GOOD), (b"big.csv", b"text\n" + b"row of a table\n" * 200_000)])
    assert len(body) > MAX_REQUEST

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit is met while the body streams in
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    answer = client.post("/files?wait=true", content=chunked(), headers=HEADERS)
    assert answer.status_code == 413 and "SEMSEARCH_MAX_UPLOAD_BYTES" in answer.json()["detail"]
    deadline = time.monotonic() + 30
    while left_behind(uploads) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left_behind(uploads) == [] and stored(client) == []


def test_a_thousand_files_in_one_request_land_and_the_next_is_refused_by_name(
    client: TestClient, uploads: Path
) -> None:
    files = [(f"note-{n:04d}.txt".encode(), b"Note %d: otters, herons and seals." % n) for n in range(1001)]
    answer = client.post("/files?wait=true", content=multipart(files), headers=HEADERS)
    assert answer.status_code in (200, 202), answer.text
    job = answer.json()
    deadline = time.monotonic() + 600
    while job["state"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.5)
        job = client.get(f"/jobs/{job['id']}").json()
    assert (job["files_done"], job["files_failed"]) == (1000, 1)
    assert "more than 1000 files" in job["errors"]["note-1000.txt"]
    assert len(stored(client)) == 1000 and left_behind(uploads) == []


def test_a_lying_content_length_gets_no_500_and_leaves_nothing(settings: Settings, embedder: Embedder) -> None:
    app = create_app(settings, embedder=embedder)
    body = multipart([(b"first.txt", GOOD), (b"second.txt", GOOD)])
    with serve_in_thread(app) as base:
        address = urlsplit(base)
        for declared in (len(body) + 5000, len(body) - 40):  # more than is sent (then the client stops), and less
            with socket.create_connection((address.hostname, address.port), timeout=30) as raw:
                head = f"POST /files?wait=true HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\n"
                head += f"Content-Type: {HEADERS['Content-Type']}\r\n\r\n"
                raw.sendall(head.encode() + body)
                raw.shutdown(socket.SHUT_WR)
                answer = _read_all(raw)
            assert b" 500 " not in answer.split(b"\r\n", 1)[0]
            if declared < len(body):
                assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
        assert httpx.get(f"{base}/health").status_code == 200
        deadline = time.monotonic() + 30
        while left_behind(Path(settings.upload_dir or "")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert left_behind(Path(settings.upload_dir or "")) == []
        assert httpx.get(f"{base}/files").json()["files"] == []


def _read_all(raw: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = raw.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
