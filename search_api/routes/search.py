from __future__ import annotations

import time
from dataclasses import asdict

from fastapi import APIRouter

from search_api.deps import EngineDep
from search_api.models import (
    ERRORS,
    Citation,
    ContextPassage,
    ContextRequest,
    ContextResponse,
    SearchHit,
    SearchRequest,
    SearchResponse,
)
from semsearch.context import pack

router = APIRouter(tags=["search"])


@router.post("/search", response_model=SearchResponse, responses=ERRORS)
def search(request: SearchRequest, engine: EngineDep) -> SearchResponse:
    """Top-k chunks for a query: dense, keyword (BM25) or hybrid; `score` is 0..1, higher is better."""
    started = time.perf_counter()
    result = engine.searcher.search(request.query, request.to_options())
    return SearchResponse(
        query=request.query,
        mode=result.mode,
        results=[SearchHit(**asdict(hit)) for hit in result.hits],
        took_ms=round((time.perf_counter() - started) * 1000, 3),
    )


@router.post("/context", response_model=ContextResponse, responses=ERRORS)
def context(request: ContextRequest, engine: EngineDep) -> ContextResponse:
    """RAG context: the best chunks merged into passages and packed into `token_budget` tokens, with citations."""
    started = time.perf_counter()
    result = engine.searcher.search(request.query, request.to_options())
    packed = pack(result.hits, engine.embedder.tokenizer, request.token_budget)
    return ContextResponse(
        query=request.query,
        mode=result.mode,
        context=packed.text,
        passages=[
            ContextPassage(
                n=n,
                text=p.text,
                citation=Citation(
                    doc_id=p.doc_id, source=p.source, char_start=p.char_start, char_end=p.char_end, score=p.score
                ),
            )
            for n, p in enumerate(packed.passages, 1)
        ],
        tokens=packed.tokens,
        token_budget=request.token_budget,
        took_ms=round((time.perf_counter() - started) * 1000, 3),
    )
