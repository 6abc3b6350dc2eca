"""Where loaded documents go: straight into Milvus through the engine, or to a running API's `POST /documents`.

The API sink exists because a Milvus Lite `.db` can be opened by one process only: while `semsearch serve` holds
it, `semsearch ingest --api URL` sends the documents to that process instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import httpx

from semsearch.engine import Engine
from semsearch.errors import BackendUnavailable, DocumentRejected
from semsearch.indexer import Document, IndexPlan, IndexStats
from semsearch.store.documents import prefix_expr

#: Documents per page when listing through the API.
LIST_PAGE = 1000


class Sink(Protocol):
    """Three steps the ingest pipeline runs in separate threads: `prepare` (chunk, compare; no writes, may raise
    DocumentRejected), `embed` (the model, several prepared batches at once) and `write` (may raise
    DocumentRejected too, e.g. when an API refuses the batch)."""

    def prepare(self, docs: list[Document]) -> Any: ...

    def embed(self, batches: list[Any]) -> None: ...

    def write(self, batch: Any) -> IndexStats: ...

    def prune_source(self, source: str, keep: set[str]) -> int:
        """Delete the documents of `source` that are not in `keep` (rows removed from a table)."""
        ...

    def documents_under(self, prefix: str) -> Iterator[tuple[str, str]]:
        """(doc_id, source) of every stored document whose source starts with `prefix`, read page by page."""
        ...

    def remove(self, doc_ids: list[str]) -> int:
        """Delete these documents; returns the chunks deleted."""
        ...


class EngineSink:
    def __init__(self, engine: Engine) -> None:
        self.indexer = engine.indexer
        self.store = engine.store

    def prepare(self, docs: list[Document]) -> IndexPlan:
        return self.indexer.plan(docs)

    def embed(self, batches: list[IndexPlan]) -> None:
        self.indexer.embed(batches)

    def write(self, batch: IndexPlan) -> IndexStats:
        return self.indexer.write(batch)

    def prune_source(self, source: str, keep: set[str]) -> int:
        gone = self.store.doc_ids_for_source(source) - keep
        return self.store.delete_documents(sorted(gone)) if gone else 0

    def documents_under(self, prefix: str) -> Iterator[tuple[str, str]]:
        for row in self.store.document_heads(prefix_expr("source", prefix), ["doc_id", "source"]):
            yield row["doc_id"], row["source"]

    def remove(self, doc_ids: list[str]) -> int:
        return self.store.delete_documents(doc_ids)


class ApiSink:
    def __init__(
        self, base_url: str, timeout: float = 300.0, api_key: str | None = None, tenant: str | None = None
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, headers=headers)
        #: Sent with every request, for a multi-tenant collection (`semsearch ingest --tenant`).
        self.tenant = {"tenant": tenant} if tenant else {}

    def prepare(self, docs: list[Document]) -> list[Document]:
        return docs  # the server chunks and compares

    def embed(self, batches: list[list[Document]]) -> None:
        pass  # the server embeds

    def write(self, docs: list[Document]) -> IndexStats:
        payload = {
            "documents": [{"id": d.id, "text": d.text, "source": d.source, "metadata": d.metadata} for d in docs],
            **self.tenant,
        }
        try:
            response = self.http.post("/documents", json=payload)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"cannot reach the API at {self.http.base_url}: {exc}") from exc
        if response.status_code in (400, 413, 422):
            raise DocumentRejected(f"the API refused the batch: {response.text[:500]}")
        if response.status_code != 200:
            raise BackendUnavailable(f"the API answered {response.status_code}: {response.text[:500]}")
        body = response.json()
        return IndexStats(**{k: body[k] for k in ("documents", "chunks", "embedded", "unchanged", "deleted")})

    def prune_source(self, source: str, keep: set[str]) -> int:
        gone = {doc_id for doc_id, stored in self.documents_under(source) if stored == source} - keep
        return self.remove(sorted(gone)) if gone else 0

    def documents_under(self, prefix: str) -> Iterator[tuple[str, str]]:
        """Through `GET /documents`, a page of LIST_PAGE at a time, following the server's cursor."""
        after: str | None = None
        while True:
            params = {"source_prefix": prefix, "limit": LIST_PAGE, **self.tenant, **({"after": after} if after else {})}
            body = self._call("GET", "/documents", params=params)
            for doc in body["documents"]:
                yield doc["doc_id"], doc["source"]
            after = body.get("next")
            if not after:
                return

    def remove(self, doc_ids: list[str]) -> int:
        return int(self._call("POST", "/documents/delete", json={"doc_ids": doc_ids, **self.tenant})["deleted"])

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"cannot reach the API at {self.http.base_url}: {exc}") from exc
        if response.status_code in (400, 413, 422):
            raise DocumentRejected(f"the API refused {method} {path}: {response.text[:500]}")
        if response.status_code != 200:
            raise BackendUnavailable(f"the API answered {response.status_code}: {response.text[:500]}")
        return response.json()

    def close(self) -> None:
        self.http.close()
