"""`semsearch ingest --api URL`: the files themselves go to a running API's `POST /files`, which reads them with the
same readers as a local ingest; this side only chooses the files and their ids, and prunes.

It exists because a Milvus Lite `.db` can be opened by one process only: while `semsearch serve` holds it, ingest
sends to that process instead. Each file is sent with the id a local ingest would give it (`loaders.file_id_of`:
relative to `--base` or the git work tree), so the server stores exactly the rows a local ingest stores, and
switching between the two embeds nothing again (content hashes).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from ingest.loaders import TableOptions, file_id_of
from ingest.pipeline import IngestReport
from semsearch.errors import BackendUnavailable, DocumentRejected
from semsearch.indexer import COUNTS, IndexStats

#: Documents per page when listing through the API.
LIST_PAGE = 1000
#: Files per upload request, and bytes (a bigger file goes alone): requests stay well under the server's
#: SEMSEARCH_MAX_UPLOAD_BYTES default, and a job reports progress often.
UPLOAD_FILES = 64
UPLOAD_BYTES = 64 * 2**20
#: Seconds between two reads of a job's state while it runs.
POLL_SECONDS = 0.2
#: How a URL for one collection ends (`--api URL --collection NAME`): its routes are under it, but `/jobs/{id}` is
#: mounted once, at the top, for every collection.
COLLECTION_PATH = re.compile(r"/collections/[^/]+$")


class ApiSink:
    """A `FileSink` speaking to a running API: uploads, then follows each job; lists and deletes for pruning."""

    def __init__(
        self, base_url: str, timeout: float = 300.0, api_key: str | None = None, tenant: str | None = None
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, headers=headers)
        self.jobs_url = COLLECTION_PATH.sub("", base_url.rstrip("/")) + "/jobs"
        self.tenant = tenant  # a multi-tenant collection's tenant: every upload, listing and delete names it

    def send_files(
        self, files: list[Path], table: TableOptions, on_file: Callable[[Path, IngestReport], None] | None = None
    ) -> IngestReport:
        """Upload the files in batches and wait for each job; a file the server refuses is a failure with its
        reason, as in a local ingest."""
        report = IngestReport(files=len(files))
        for batch in _batches(files):
            job = self._upload(batch, table)
            for path, state in zip(batch, job["files"], strict=True):
                if state["state"] != "done":
                    report.failures.append((str(path), state["error"] or state["state"]))
                if on_file:
                    on_file(path, report)
            report.stats.add(IndexStats(**{k: job.get(k, 0) for k in COUNTS}))
        return report

    def _upload(self, batch: list[Path], table: TableOptions) -> dict[str, Any]:
        """One request and its job; the job as it ended. A batch refused whole (over the request limit) is sent
        again file by file, so only the offending file fails."""
        fields: dict[str, Any] = {"doc_id": [file_id_of(path, table) for path in batch]}
        if self.tenant is not None:
            fields["tenant"] = self.tenant
        if table.metadata:
            fields["metadata"] = json.dumps(table.metadata)
        for name in ("text_column", "id_column"):
            if getattr(table, name) is not None:
                fields[name] = getattr(table, name)
        if table.metadata_columns is not None:
            fields["metadata_columns"] = ",".join(table.metadata_columns)
        with ExitStack() as stack:
            parts = [("files", (path.name, stack.enter_context(path.open("rb")))) for path in batch]
            response = self._send("POST", "/files", data=fields, files=parts)
        if response.status_code in (200, 202):
            return self._follow(response.json())
        body = _body(response)
        if 400 <= response.status_code < 500 and len(body.get("files") or ()) == len(batch):
            return _refused(body["files"])  # no file of the batch could be read: each says why
        if response.status_code == 413 and len(batch) > 1:  # over the request limit together: one at a time
            return _merged([self._upload([path], table) for path in batch])
        if response.status_code in (400, 413, 415) and len(batch) == 1:
            return _refused([{"state": "failed", "error": str(body.get("detail", response.text[:500]))}])
        raise _problem("POST /files", response)

    def _follow(self, job: dict[str, Any]) -> dict[str, Any]:
        while job["state"] in ("queued", "running"):
            time.sleep(POLL_SECONDS)
            job = self._call("GET", f"{self.jobs_url}/{job['id']}")
        if job["state"] != "done":
            raise BackendUnavailable(f"the API's upload job {job['id']} {job['state']}: {job['error']}")
        return job

    def prune_source(self, source: str, keep: set[str]) -> int:
        gone = {doc_id for doc_id, stored in self.documents_under(source) if stored == source} - keep
        return self.remove(sorted(gone)) if gone else 0

    def documents_under(self, prefix: str) -> Iterator[tuple[str, str]]:
        """Through `GET /documents`, a page of LIST_PAGE at a time, following the server's cursor."""
        after: str | None = None
        while True:
            params = {"source_prefix": prefix, "limit": LIST_PAGE, **({"after": after} if after else {})}
            if self.tenant is not None:
                params["tenant"] = self.tenant
            body = self._call("GET", "/documents", params=params)
            for doc in body["documents"]:
                yield doc["doc_id"], doc["source"]
            after = body.get("next")
            if not after:
                return

    def remove(self, doc_ids: list[str]) -> int:
        body: dict[str, Any] = {"doc_ids": doc_ids, **({"tenant": self.tenant} if self.tenant is not None else {})}
        return int(self._call("POST", "/documents/delete", json=body)["deleted"])

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"cannot reach the API at {self.http.base_url}: {exc}") from exc

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._send(method, path, **kwargs)
        if response.status_code != 200:
            raise _problem(f"{method} {path}", response)
        return response.json()

    def close(self) -> None:
        self.http.close()


def _batches(files: list[Path]) -> Iterator[list[Path]]:
    batch: list[Path] = []
    size = 0
    for path in files:
        try:
            length = path.stat().st_size
        except OSError:
            length = 0  # gone since it was found: the upload says so
        if batch and (len(batch) >= UPLOAD_FILES or size + length > UPLOAD_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(path)
        size += length
    if batch:
        yield batch


def _refused(files: list[dict[str, Any]]) -> dict[str, Any]:
    """A refusal of every file, as a job whose files all failed."""
    zero = dict.fromkeys(COUNTS, 0)
    return {**zero, "state": "done", "files": files}


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _merged(jobs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        **{k: sum(job.get(k, 0) for job in jobs) for k in COUNTS},
        "state": "done",
        "files": [f for job in jobs for f in job["files"]],
    }


def _problem(what: str, response: httpx.Response) -> Exception:
    if response.status_code in (400, 413, 415, 422):
        return DocumentRejected(f"the API refused {what}: {response.text[:500]}")
    return BackendUnavailable(f"the API answered {what} with {response.status_code}: {response.text[:500]}")
