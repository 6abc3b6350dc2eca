"""`POST /search` and `POST /context`: validate, call the knowledge base, answer its shape (`semsearch.answers`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from search_api.models import ERRORS, ContextRequest, ContextResponse, SearchRequest, SearchResponse
from search_api.scopes import ReadScope
from search_api.threads import run_blocking

router = APIRouter(tags=["search"])


@router.post("/search", response_model=SearchResponse, responses=ERRORS)
async def search(request: SearchRequest, scope: ReadScope) -> Any:
    """Top-k chunks for a query: dense, keyword (BM25) or hybrid; `score` is 0..1, higher is better."""
    return await run_blocking(lambda: scope.kb(request.tenant).search(request.query, **request.search_args()).to_dict())


@router.post("/context", response_model=ContextResponse, responses=ERRORS)
async def context(request: ContextRequest, scope: ReadScope) -> Any:
    """RAG context: the best chunks merged into passages and packed into `token_budget` tokens, with citations."""
    return await run_blocking(
        lambda: scope.kb(request.tenant).context(request.query, **request.context_args()).to_dict()
    )
