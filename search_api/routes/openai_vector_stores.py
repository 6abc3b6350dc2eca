"""OpenAI's vector stores: create, list, retrieve, update, delete, and search (`/v1/vector_stores...`).

Thin routes over `semsearch.vector_stores.VectorStores`: validate OpenAI's request shape, call one verb, answer
OpenAI's response shape (`search_api.openai_compat`). A vector store is a collection of this service.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from search_api.deps import VectorStoresDep
from search_api.openai_compat import shapes
from search_api.openai_compat.errors import OPENAI_ERRORS
from search_api.openai_compat.filters import to_filter
from search_api.openai_compat.models import (
    SearchPage,
    SearchRequest,
    VectorStore,
    VectorStoreCreate,
    VectorStoreDeleted,
    VectorStoreList,
    VectorStoreUpdate,
)
from search_api.openai_compat.paging import After, Before, Limit, Order, cursor_page
from semsearch.errors import Refused

router = APIRouter(tags=["openai"])

VectorStoreId = Annotated[str, Path(min_length=1, max_length=128, description="A vector store id (`vs_...`).")]


@router.post("/v1/vector_stores", response_model=VectorStore, responses=OPENAI_ERRORS)
def create_vector_store(body: VectorStoreCreate, stores: VectorStoresDep) -> VectorStore:
    """A new vector store: a collection with its own chunk size when `chunking_strategy` is static; `file_ids` are
    read in the background (status `in_progress` until they are)."""
    try:
        chunking = body.chunking_strategy.to_chunking() if body.chunking_strategy else None
    except ValueError as exc:
        raise Refused(f"chunking_strategy: {exc}") from exc
    view = stores.create(
        name=body.name,
        metadata=body.metadata,
        file_ids=body.file_ids or (),
        chunking=chunking,
        expires_after=body.expires_after.model_dump() if body.expires_after else None,
    )
    return shapes.vector_store(view)


@router.get("/v1/vector_stores", response_model=VectorStoreList, responses=OPENAI_ERRORS)
def list_vector_stores(
    stores: VectorStoresDep, after: After = None, before: Before = None, limit: Limit = 20, order: Order = "desc"
) -> VectorStoreList:
    """Vector stores, newest first (`order=asc`: oldest first), `limit` at a time from the cursor `after`."""
    views, more = cursor_page(stores.list(), lambda v: v.id, after=after, before=before, limit=limit, order=order)
    data = [shapes.vector_store(view) for view in views]
    first, last = (data[0].id, data[-1].id) if data else (None, None)
    return VectorStoreList(data=data, first_id=first, last_id=last, has_more=more)


@router.get("/v1/vector_stores/{vector_store_id}", response_model=VectorStore, responses=OPENAI_ERRORS)
def retrieve_vector_store(vector_store_id: VectorStoreId, stores: VectorStoresDep) -> VectorStore:
    """The vector store with its `file_counts` and `status` (in_progress while a file is being read)."""
    return shapes.vector_store(stores.get(vector_store_id))


@router.post("/v1/vector_stores/{vector_store_id}", response_model=VectorStore, responses=OPENAI_ERRORS)
def update_vector_store(
    vector_store_id: VectorStoreId, body: VectorStoreUpdate, stores: VectorStoresDep
) -> VectorStore:
    """Change its name, metadata (replaced whole) or expiry policy."""
    view = stores.update(
        vector_store_id,
        name=body.name,
        metadata=body.metadata,
        expires_after=body.expires_after.model_dump() if body.expires_after else None,
    )
    return shapes.vector_store(view)


@router.delete("/v1/vector_stores/{vector_store_id}", response_model=VectorStoreDeleted, responses=OPENAI_ERRORS)
def delete_vector_store(vector_store_id: VectorStoreId, stores: VectorStoresDep) -> VectorStoreDeleted:
    """Drop the vector store's collection (every chunk of its files); the files stay in `/v1/files`."""
    stores.delete(vector_store_id)
    return VectorStoreDeleted(id=vector_store_id)


@router.post("/v1/vector_stores/{vector_store_id}/search", response_model=SearchPage, responses=OPENAI_ERRORS)
def search_vector_store(vector_store_id: VectorStoreId, body: SearchRequest, stores: VectorStoresDep) -> SearchPage:
    """The best chunks for `query`. `ranking_options.ranker` auto (or default-2024-11-15) runs hybrid search where
    the backend has BM25 (Milvus Lite, Milvus >= 2.5), else dense; `none` runs dense; the `search_mode` extension
    (dense, keyword, hybrid) picks the mode outright. `score_threshold` drops results scoring below it (0..1)."""
    options = body.ranking_options
    mode = body.search_mode or ("dense" if options is not None and options.ranker == "none" else None)
    found, more = stores.search(
        vector_store_id,
        body.text(),
        top_k=body.max_num_results,
        mode=mode,
        filter=to_filter(body.filters) if body.filters is not None else None,
        min_score=options.score_threshold if options is not None else None,
    )
    queries = [body.query] if isinstance(body.query, str) else list(body.query)
    return shapes.search_page(queries, found, more)
