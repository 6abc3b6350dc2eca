"""Query in, hits out: dense, keyword (BM25) or hybrid retrieval, then rerank, grouping, threshold and paging.

One ranking, whatever the page: each list is fetched CANDIDATE_DEPTH deep (times GROUP_FACTOR when grouping by
document) for any page that ends within the first CANDIDATE_DEPTH hits, so the order of hits never depends on
`top_k` or `offset` there: the first hit is the same for `top_k` 1 and 10, and pages 1, 2 and 3 of 10 are one page
of 30. (Fusion reads both lists to their depth: a list cut at `offset + top_k` ranked a document found 5th by both
lists first for `top_k` 10 but not for `top_k` 4.) Paging is done here, in every mode: Milvus has no `offset` for
fused results. A page reaching deeper fetches to its end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from semsearch.embedder import Embedder
from semsearch.errors import InvalidFilter, UnsupportedMode
from semsearch.filters import compile_filter
from semsearch.keywords import cite_matching_chunks
from semsearch.ranking import BUILT_IN_FUSION, Fusion, Mode, normalise
from semsearch.reranker import Reranker
from semsearch.settings import Settings
from semsearch.store import Hit, MilvusStore

#: Milvus's largest `limit`.
MAX_CANDIDATES = 16_384
#: Candidates fetched from each list for any page ending within them: the ranking's fixed depth. Its cost is
#: measured in docs/benchmarks/realdocs.md (benchmarks/realdocs/depth.py).
CANDIDATE_DEPTH = 100
#: Threads running hybrid search's keyword half alongside the query embedding (one per concurrent hybrid search).
_KEYWORD_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="keyword-search")
#: Extra keyword hits fetched so that a window's match can go to the chunk holding its words even when that chunk
#: ranked just below the page's end (up to two neighbours on each side share a word through their windows).
CITE_SLACK = 4
#: Chunks fetched per wanted hit when grouping by document (several chunks of one document collapse into one).
GROUP_FACTOR = 5


@dataclass(frozen=True)
class SearchOptions:
    top_k: int = 10
    offset: int = 0
    mode: Mode | None = None  # None: hybrid where the collection supports it, else dense
    fusion: Fusion | None = None  # None: the searcher's default (the collection's saved fusion, else BUILT_IN_FUSION)
    filters: Mapping[str, Any] | None = None
    min_score: float | None = None
    group_by_document: bool = False
    rerank: bool = False


@dataclass
class SearchResult:
    hits: list[Hit]
    mode: Mode


class Searcher:
    def __init__(
        self,
        store: MilvusStore,
        embedder: Embedder,
        settings: Settings,
        *,
        reranker: Callable[[], Reranker | None] = lambda: None,
        embed_query: Callable[[str], np.ndarray] | None = None,
        default_fusion: Fusion | None = None,
    ) -> None:
        self.store = store
        #: What hybrid search fuses with when a request names no fusion.
        self.default_fusion = default_fusion or BUILT_IN_FUSION
        self.embedder = embedder
        self.embed_query = embed_query or (lambda query: embedder.embed_queries([query])[0])
        self.reranker = reranker
        self.rerank_candidates = settings.rerank_candidates

    def default_mode(self) -> Mode:
        return Mode.HYBRID if self.store.keyword_ready else Mode.DENSE

    def check_mode(self, mode: Mode) -> None:
        if mode is not Mode.DENSE and not self.store.keyword_ready:
            caps = self.store.capabilities
            raise UnsupportedMode(
                f"{mode.value} search needs BM25 full-text search, which needs Milvus >= 2.5 (and a collection created "
                f"there); this is {caps.backend} {caps.version}. Use mode 'dense'."
            )

    def compile_filter(self, spec: Mapping[str, Any] | None) -> str:
        """Compile a filter; a field unknown to this process is looked up once more (another writer may know it)."""
        try:
            return compile_filter(spec, self.store.metadata_keys)
        except InvalidFilter:
            return compile_filter(spec, self.store.refresh_metadata_keys())

    def search(self, query: str, options: SearchOptions | None = None) -> SearchResult:
        options = options or SearchOptions()
        mode = options.mode or self.default_mode()
        self.check_mode(mode)
        reranker = self.reranker() if options.rerank else None
        if options.rerank and reranker is None:
            raise UnsupportedMode("reranking is not configured: set SEMSEARCH_RERANK_MODEL to a CrossEncoder model")
        expr = self.compile_filter(options.filters)
        window = options.offset + options.top_k
        if mode is Mode.DENSE and reranker is None and not options.group_by_document:
            return SearchResult(hits=self._dense_page(query, expr, options), mode=mode)
        hits = self._retrieve(query, mode, self.fetch_size(options, reranking=reranker is not None), expr, options)
        fusion = options.fusion or self.default_fusion
        if reranker:
            hits = reranker.rerank(query, hits)  # scores of its own, already 0..1

        def unit(hit: Hit) -> float:
            return hit.score if reranker else normalise(mode, hit.raw_score, fusion)

        if options.group_by_document:
            hits = best_chunk_per_document(hits)
        if options.min_score is not None:
            hits = [hit for hit in hits if unit(hit) >= options.min_score]
        # Only the page's hits are rescored: the other candidates (a hundred) are never shown.
        page = [dataclasses.replace(hit, score=unit(hit)) for hit in hits[options.offset : window]]
        return SearchResult(hits=page, mode=mode)

    def fetch_size(self, options: SearchOptions, *, reranking: bool = False) -> int:
        """Candidates fetched from each list for these options: CANDIDATE_DEPTH, or the page's end if deeper (times
        GROUP_FACTOR when grouping, at least SEMSEARCH_RERANK_CANDIDATES when reranking), at most MAX_CANDIDATES."""
        depth = max(CANDIDATE_DEPTH, options.offset + options.top_k)
        fetch = depth * (GROUP_FACTOR if options.group_by_document else 1)
        if reranking:
            fetch = max(fetch, self.rerank_candidates)
        return min(fetch, MAX_CANDIDATES)

    def hybrid_candidates(
        self, query: str, limit: int, expr: str = "", *, by_document: bool = False
    ) -> tuple[list[Hit], list[Hit]]:
        """The dense and keyword lists hybrid search fuses, `limit` chunks each; with `by_document` each reduced
        to its best chunk per document. `semsearch eval --tune` fetches these once per query and fuses offline."""
        keyword_future = _KEYWORD_POOL.submit(self.keyword_search, query, limit, expr)  # runs while embedding
        dense = self.store.dense_search(self.embed_query(query), limit, expr)
        keyword = keyword_future.result()
        if by_document:
            return best_chunk_per_document(dense), best_chunk_per_document(keyword)
        return dense, keyword

    def keyword_search(self, query: str, limit: int, expr: str = "") -> list[Hit]:
        """BM25 over the keyword windows, each match cited by the chunk that holds the words
        (`semsearch.keywords.cite_matching_chunks`)."""
        fetched = self.store.keyword_search(query, min(limit + CITE_SLACK, MAX_CANDIDATES), expr)
        return cite_matching_chunks(query, fetched)[:limit]

    def _dense_page(self, query: str, expr: str, options: SearchOptions) -> list[Hit]:
        """Dense search reads the page and one hit past it, not every candidate of the ranking's depth: at a depth
        of 100 for a page of 10, reading and parsing the other 90 chunks whole cost more than the search itself
        (docs/benchmarks/throughput.md). It is still the one ranking: a search made with the depth's parameters
        returns the first hits of the deeper search (exact on FLAT and on Milvus Lite; on HNSW the same `ef`, so
        the same candidates), except where scores tie exactly. So hits are ordered by (score, id), and a tie across
        the page's end, where the two searches could keep different chunks, is settled by reading the whole depth."""
        vector = self.embed_query(query)
        depth = self.fetch_size(options)
        window = options.offset + options.top_k
        hits = sorted(self.store.dense_search(vector, min(window + 1, depth), expr, depth=depth), key=_by_score)
        if len(hits) > window and hits[window - 1].raw_score == hits[window].raw_score:
            hits = sorted(self.store.dense_search(vector, depth, expr), key=_by_score)
        if options.min_score is not None:
            hits = [hit for hit in hits if _unit_dense(hit) >= options.min_score]
        return [dataclasses.replace(hit, score=_unit_dense(hit)) for hit in hits[options.offset : window]]

    def _retrieve(self, query: str, mode: Mode, limit: int, expr: str, options: SearchOptions) -> list[Hit]:
        """Candidates in mode order, with their raw (or fused) scores: `search` scales the page's to 0..1. With
        grouping, hybrid fuses document rankings (each list reduced to its best chunk per document first), which
        ranks documents better than fusing chunks."""
        fusion = options.fusion or self.default_fusion
        if mode is Mode.KEYWORD:
            hits = self.keyword_search(query, limit, expr)
        elif mode is Mode.DENSE:
            hits = self.store.dense_search(self.embed_query(query), limit, expr)
        else:
            grouped = options.group_by_document
            dense, keyword = self.hybrid_candidates(query, limit, expr, by_document=grouped)
            hits = fusion.fuse(dense, keyword, limit, key=(lambda hit: hit.doc_id) if grouped else (lambda hit: hit.id))
        return hits


def best_chunk_per_document(hits: list[Hit]) -> list[Hit]:
    """Keep the first (best) hit of each document, in order."""
    seen: set[str] = set()
    best = []
    for hit in hits:
        if hit.doc_id not in seen:
            seen.add(hit.doc_id)
            best.append(hit)
    return best


def _by_score(hit: Hit) -> tuple[float, str]:
    """Best first; exact ties by id, so that two searches of different limits order tied chunks alike."""
    return (-hit.raw_score, hit.id)


def _unit_dense(hit: Hit) -> float:
    return normalise(Mode.DENSE, hit.raw_score, BUILT_IN_FUSION)
