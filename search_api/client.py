"""A LangChain retriever over the HTTP API: `SemsearchRetriever(base_url=...).invoke("question")`.

The HTTP API is the contract: this module only speaks `POST /search`, so it works against any running server and
needs nothing of the engine. It needs `langchain-core` (`pip install 'milvus-semantic-search[langchain]'`).
"""

from __future__ import annotations

from typing import Any

import httpx

try:
    from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
except ImportError as exc:  # pragma: no cover - depends on the environment
    # The hint `semsearch.extras.require` would give, written out: this module must not import the engine.
    raise ImportError(
        "SemsearchRetriever needs the [langchain] extra: pip install 'milvus-semantic-search[langchain]'"
    ) from exc


class SearchAPIError(RuntimeError):
    """The API refused or failed a search; the message carries its status and `detail`."""


class SemsearchRetriever(BaseRetriever):
    """Documents for a query from `POST /search`: `page_content` is the chunk text, `metadata` the chunk's
    metadata plus `id`, `doc_id`, `chunk_index`, `source`, `score` (0..1, higher is better), `char_start`, `char_end`.
    """

    base_url: str = "http://127.0.0.1:8000"
    api_key: str | None = None
    top_k: int = 4
    mode: str | None = None
    filter: dict[str, Any] | None = None
    group_by_document: bool = False
    timeout: float = 30.0

    def _request(self, query: str) -> dict[str, Any]:
        body: dict[str, Any] = {"query": query, "top_k": self.top_k, "group_by_document": self.group_by_document}
        if self.mode:
            body["mode"] = self.mode
        if self.filter:
            body["filter"] = self.filter
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return {"url": f"{self.base_url.rstrip('/')}/search", "json": body, "headers": headers}

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        with httpx.Client(timeout=self.timeout) as client:
            return _documents(client.post(**self._request(query)))

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            return _documents(await client.post(**self._request(query)))


def _documents(response: httpx.Response) -> list[Document]:
    if response.status_code != 200:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise SearchAPIError(f"POST /search answered {response.status_code}: {detail}")
    keys = ("id", "doc_id", "chunk_index", "source", "score", "char_start", "char_end")
    return [
        Document(id=hit["id"], page_content=hit["text"], metadata={**hit["metadata"], **{k: hit[k] for k in keys}})
        for hit in response.json()["results"]
    ]
