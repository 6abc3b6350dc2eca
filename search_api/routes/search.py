from __future__ import annotations

import time
from dataclasses import asdict

from fastapi import APIRouter

from search_api.deps import EngineDep
from search_api.models import SearchHit, SearchRequest, SearchResponse

router = APIRouter(tags=["search"])


@router.post("/search", response_model=SearchResponse)
def search(request: SearchRequest, engine: EngineDep) -> SearchResponse:
    """Embed the query with the collection's model and return the top-k nearest chunks (cosine, higher is better)."""
    started = time.perf_counter()
    hits = engine.searcher.search(request.query, request.top_k, request.filter)
    return SearchResponse(
        query=request.query,
        results=[SearchHit(**asdict(hit)) for hit in hits],
        took_ms=round((time.perf_counter() - started) * 1000, 3),
    )
