"""Retrieval quality features: modes, scores, fusion, grouping, paging, thresholds and RAG context (reranking:
test_rerank.py)."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pymilvus import CollectionSchema, DataType, Function, FunctionType, MilvusClient

from search_api.app import create_app
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.errors import UnsupportedMode
from semsearch.indexer import Document
from semsearch.ranking import Fusion, Mode
from semsearch.searcher import SearchOptions
from semsearch.settings import Settings
from semsearch.store.schema import (
    DENSE_METRIC,
    SPARSE_FIELD,
    TEXT_MAX_BYTES,
    TITLE_MAX_BYTES,
    VECTOR_FIELD,
    ModelRecord,
    build_index_params,
    build_schema,
    keyword_text,
)

CODE_DOC = Document(
    id="ticket-7",
    text="Incident XQ-4471: the billing export job failed overnight because the disk quota was exceeded.",
    source="tickets",
    metadata={"kind": "ticket"},
)
PROSE = [
    Document(id="cats", text="Cats are small carnivorous mammals that purr and hunt mice.", source="zoo"),
    Document(
        id="storage",
        text="When a server runs out of space, scheduled tasks crash until files are removed.",
        source="ops",
    ),
    Document(
        id='weird "id" \\ x', text="A document whose id has quotes and a backslash in it, about teapots.", source="odd"
    ),
    CODE_DOC,
]


def post(client: TestClient, path: str, **body) -> dict:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def small(engine: Engine) -> Engine:
    engine.indexer.index(PROSE)
    return engine


def test_keyword_mode_finds_an_exact_code_that_dense_mode_ranks_lower(small: Engine) -> None:
    keyword = small.searcher.search("XQ-4471", SearchOptions(mode=Mode.KEYWORD, top_k=3)).hits
    assert keyword[0].doc_id == "ticket-7"
    assert keyword[0].raw_score > 0 and 0 < keyword[0].score < 1
    assert all(hit.doc_id == "ticket-7" for hit in keyword)  # BM25 returns only chunks with a query term


def test_dense_score_is_the_cosine_similarity_and_raw_score_keeps_it(small: Engine, embedder: Embedder) -> None:
    hits = small.searcher.search("felines that chase rodents", SearchOptions(mode=Mode.DENSE, top_k=4)).hits
    query = embedder.embed_queries(["felines that chase rodents"])[0]
    for hit in hits:
        cosine = float(np.dot(query, embedder.embed_documents([hit.text])[0]))
        assert hit.raw_score == pytest.approx(cosine, abs=1e-4)
        assert hit.score == pytest.approx(min(1.0, max(0.0, cosine)), abs=1e-4)
    assert hits[0].doc_id == "cats"


def test_hybrid_is_the_default_and_reports_each_hits_rank_in_both_lists(small: Engine) -> None:
    query = "billing export disk quota"
    result = small.searcher.search(query, SearchOptions(top_k=4))
    assert result.mode is Mode.HYBRID
    dense_hits = small.searcher.search(query, SearchOptions(mode=Mode.DENSE, top_k=4)).hits
    keyword_hits = small.searcher.search(query, SearchOptions(mode=Mode.KEYWORD, top_k=4)).hits
    dense, keyword = [h.id for h in dense_hits], [h.id for h in keyword_hits]
    scores = {"dense": {h.id: h.score for h in dense_hits}, "keyword": {h.id: h.score for h in keyword_hits}}
    for hit in result.hits:
        assert hit.ranks == {
            "dense": dense.index(hit.id) + 1 if hit.id in dense else None,
            "keyword": keyword.index(hit.id) + 1 if hit.id in keyword else None,
        }
        # the built-in fusion: the weighted mean of the hit's scores in the two modes (issue 27), not relative
        expected = 0.8 * scores["dense"][hit.id] + 0.2 * scores["keyword"].get(hit.id, 0.0)
        assert hit.raw_score == pytest.approx(expected)
        assert hit.score == pytest.approx(expected)
    assert result.hits[0].doc_id == "ticket-7"


def test_weighted_fusion_with_all_weight_on_dense_keeps_the_dense_order(small: Engine) -> None:
    query = "a machine without free disk space"
    dense = [h.id for h in small.searcher.search(query, SearchOptions(mode=Mode.DENSE, top_k=4)).hits]
    options = SearchOptions(mode=Mode.HYBRID, top_k=4, fusion=Fusion(type="weighted", weights=(1.0, 0.0)))
    assert [h.id for h in small.searcher.search(query, options).hits] == dense


def test_ids_with_quotes_and_backslashes_survive_every_mode_and_updates(small: Engine) -> None:
    weird = 'weird "id" \\ x'
    for mode in Mode:
        hits = small.searcher.search("teapots", SearchOptions(mode=mode, top_k=1)).hits
        assert hits[0].doc_id == weird
    stats = small.indexer.index([Document(id=weird, text="Now about kettles.", source="odd", metadata={"v": 2})])
    assert stats.embedded == 1 and stats.deleted == 0
    assert small.indexer.delete_documents([weird]) == 1


def test_min_score_drops_weak_hits(small: Engine) -> None:
    hits = small.searcher.search("cats", SearchOptions(mode=Mode.DENSE, top_k=4)).hits
    threshold = (hits[0].score + hits[1].score) / 2
    kept = small.searcher.search("cats", SearchOptions(mode=Mode.DENSE, top_k=4, min_score=threshold)).hits
    assert [h.id for h in kept] == [hits[0].id]


def _reopen_as(
    settings: Settings, embedder: Embedder, schema: CollectionSchema, bm25: bool, metric: str = DENSE_METRIC
) -> Engine:
    """An engine over a collection made with `schema` (and `metric`) instead of today's, as an older Milvus or
    release made it."""
    engine = Engine.open(settings, create=True, embedder=embedder)
    client, name = engine.store.client, engine.store.collection
    client.drop_collection(name)
    index_params = build_index_params(client, "AUTOINDEX", bm25=bm25, metric=metric)
    client.create_collection(name, schema=schema, index_params=index_params)
    engine.close()
    return Engine.open(settings, create=True, embedder=embedder)


def test_keyword_mode_on_a_collection_without_bm25_is_refused_naming_the_version(
    settings: Settings, embedder: Embedder
) -> None:
    """A collection created where BM25 is unavailable (as on Milvus < 2.5) has no sparse field."""
    record = ModelRecord(embedder.model_id, embedder.dim)
    engine = _reopen_as(settings, embedder, build_schema(embedder.dim, record, bm25=False), bm25=False)
    try:
        assert engine.searcher.search("x").mode is Mode.DENSE  # the default falls back to dense
        for mode in (Mode.KEYWORD, Mode.HYBRID):
            with pytest.raises(UnsupportedMode, match=r"Milvus >= 2\.5"):
                engine.searcher.search("x", SearchOptions(mode=mode))
        with TestClient(create_app(settings, embedder=embedder)) as client:
            response = client.post("/search", json={"query": "x", "mode": "keyword"})
            assert response.status_code == 400 and "2.5" in response.json()["detail"]
    finally:
        engine.close()


# -- paging and grouping on the sample corpus -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
@pytest.mark.parametrize("group", [False, True])
def test_page_two_is_items_eleven_to_twenty_of_the_top_twenty(
    sample_client: TestClient, mode: str, group: bool
) -> None:
    query = {"query": "read and write files on disk", "mode": mode, "group_by_document": group}
    top20 = post(sample_client, "/search", **query, top_k=20)["results"]
    page2 = post(sample_client, "/search", **query, top_k=10, offset=10)["results"]
    assert len(top20) == 20
    assert [h["id"] for h in page2] == [h["id"] for h in top20[10:20]]


@pytest.mark.parametrize("mode", ["dense", "keyword"])
def test_group_by_document_returns_each_documents_best_chunk_once(sample_client: TestClient, mode: str) -> None:
    query = {"query": "asynchronous tasks and event loops", "mode": mode}
    chunks = post(sample_client, "/search", **query, top_k=100)["results"]
    grouped = post(sample_client, "/search", **query, top_k=10, group_by_document=True)["results"]
    doc_ids = [h["doc_id"] for h in grouped]
    assert len(doc_ids) == len(set(doc_ids)) == 10
    first_chunk_of = {}
    for hit in chunks:
        first_chunk_of.setdefault(hit["doc_id"], hit["id"])
    assert [h["id"] for h in grouped] == [first_chunk_of[d] for d in doc_ids]


def test_grouped_hybrid_fuses_document_rankings(sample_client: TestClient) -> None:
    """With grouping, each list is first reduced to documents, so ranks are document ranks in each list."""
    query = {"query": "asynchronous tasks and event loops", "group_by_document": True, "top_k": 10}
    grouped = post(sample_client, "/search", **query, mode="hybrid", fusion={"type": "rrf", "k": 60})["results"]
    assert len({h["doc_id"] for h in grouped}) == 10
    dense_docs = [h["doc_id"] for h in post(sample_client, "/search", **query, mode="dense")["results"]]
    for hit in grouped:
        assert hit["raw_score"] == pytest.approx(sum(1 / (60 + r) for r in hit["ranks"].values() if r is not None))
        if hit["doc_id"] in dense_docs:
            assert hit["ranks"]["dense"] == dense_docs.index(hit["doc_id"]) + 1


def test_scores_are_between_zero_and_one_in_every_mode(sample_client: TestClient) -> None:
    for mode in ("dense", "keyword", "hybrid"):
        body = post(sample_client, "/search", query="compress data", mode=mode, top_k=20)
        assert body["mode"] == mode
        assert all(0 <= h["score"] <= 1 for h in body["results"])
        assert [h["score"] for h in body["results"]] == sorted((h["score"] for h in body["results"]), reverse=True)


def test_bad_fusion_and_mode_values_are_422(sample_client: TestClient) -> None:
    for body in (
        {"query": "x", "mode": "semantic"},
        {"query": "x", "fusion": {"type": "max"}},
        {"query": "x", "fusion": {"type": "weighted", "weights": [-1, 1]}},
        {"query": "x", "fusion": {"type": "rrf", "k": 0}},
        {"query": "x", "min_score": 1.5},
        {"query": "x", "offset": -1},
    ):
        assert sample_client.post("/search", json=body).status_code == 422, body


# -- RAG context ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("budget", [16, 40, 120, 400, 1500])
def test_context_never_exceeds_the_token_budget(sample_client: TestClient, embedder: Embedder, budget: int) -> None:
    body = post(sample_client, "/context", query="how do I run code concurrently", token_budget=budget)
    assert body["tokens"] <= budget
    assert embedder.count_tokens(body["context"]) - embedder.special_tokens == body["tokens"]
    if budget >= 120:
        assert body["passages"] and body["context"].startswith("[1] ")


def test_context_merges_overlapping_chunks_cites_sources_and_repeats_nothing(client: TestClient) -> None:
    text = " ".join(f"Fact {i}: lighthouses guide ships along rocky coasts at night." for i in range(150))
    post(
        client,
        "/documents",
        documents=[{"id": "lighthouses", "text": text}, {"id": "bees", "text": "Bees make honey."}],
    )
    body = post(client, "/context", query="lighthouses guiding ships", token_budget=100_000, candidates=50)
    lighthouse = [p for p in body["passages"] if p["citation"]["doc_id"] == "lighthouses"]
    assert len(lighthouse) == 1, "overlapping chunks of one document form one passage"
    citation = lighthouse[0]["citation"]
    assert (citation["char_start"], citation["char_end"]) == (0, len(text))
    assert lighthouse[0]["text"] == text[citation["char_start"] : citation["char_end"]]
    assert body["context"].count("Fact 17:") == 1
    assert [p["n"] for p in body["passages"]] == list(range(1, len(body["passages"]) + 1))
    scores = [p["citation"]["score"] for p in body["passages"]]
    assert scores == sorted(scores, reverse=True)
    assert "(source: api)" in body["context"]


def test_context_cuts_the_last_passage_at_a_token_boundary_to_fill_the_budget(client: TestClient) -> None:
    text = " ".join(f"Sentence {i} explains how glaciers carve valleys over millennia." for i in range(40))
    post(client, "/documents", documents=[{"id": "glaciers", "text": text}])
    body = post(client, "/context", query="glaciers carving valleys", token_budget=60)
    assert body["tokens"] <= 60
    passage = body["passages"][0]
    assert text.startswith(passage["text"]) and len(passage["text"]) < len(text)
    assert passage["citation"]["char_end"] == len(passage["text"])


# -- what keyword search indexes: the chunk behind its document's title -------------------------------------------


def _titled_document(title: str) -> Document:
    """A document of several chunks whose text never names its title."""
    sentences = [f"Section {i} describes the arrangement of shelves number {i} in the reading room." for i in range(60)]
    return Document(id="manual", text=" ".join(sentences), source="library", metadata={"title": title})


def test_keyword_search_finds_every_chunk_by_its_documents_title(small: Engine) -> None:
    doc = _titled_document("Heliotrope cataloguing manual")
    stats = small.indexer.index([doc])
    assert stats.chunks >= 3
    hits = small.searcher.search("heliotrope", SearchOptions(mode=Mode.KEYWORD, top_k=50)).hits
    assert {h.chunk_index for h in hits} == set(range(stats.chunks))
    for hit in hits:  # the title is indexed, not stored in the chunk: text and offsets are the document's own
        assert "Heliotrope" not in hit.text and hit.text == doc.text[hit.char_start : hit.char_end]


def test_a_changed_title_is_reindexed_for_keyword_search_without_re_embedding(small: Engine) -> None:
    small.indexer.index([_titled_document("Heliotrope cataloguing manual")])
    stats = small.indexer.index([_titled_document("Marigold shelving guide")])
    assert stats.embedded == 0 and stats.chunks > 0
    keyword = SearchOptions(mode=Mode.KEYWORD, top_k=50)
    assert small.searcher.search("marigold", keyword).hits[0].doc_id == "manual"
    assert small.searcher.search("heliotrope", keyword).hits == []


@pytest.mark.parametrize(
    ("text", "title", "expected"),
    [
        ("Body text.", "A title", "A title\n\nBody text."),
        ("A Title\n\nBody text.", "a title", "A Title\n\nBody text."),  # the first line holds it already
        ("# A title\nBody text.", "A title", "# A title\nBody text."),
        ("Body text.", "  A\n title ", "A title\n\nBody text."),
        ("Body text.", "", "Body text."),
        ("Body text.", None, "Body text."),
        ("Body text.", 42, "Body text."),
    ],
)
def test_keyword_text_puts_the_title_before_the_chunk_once(text: str, title: object, expected: str) -> None:
    assert keyword_text(text, title) == expected


def test_keyword_text_always_fits_the_text_field() -> None:
    chunk = "é" * (TEXT_MAX_BYTES // 2 - 10)
    assert len(keyword_text(chunk, "ü" * 5000).encode()) <= TEXT_MAX_BYTES
    assert keyword_text("x", "t" * 5000).startswith("t" * TITLE_MAX_BYTES + "\n\n")


def test_a_collection_whose_bm25_reads_text_still_ingests_and_finds_keywords(
    settings: Settings, embedder: Embedder
) -> None:
    """Collections made before `keyword_text` existed analyse `text` itself; they keep working unchanged."""
    schema = MilvusClient.create_schema(
        auto_id=False, description=ModelRecord(embedder.model_id, embedder.dim).to_description()
    )
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=1024)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=1024)
    schema.add_field("chunk_index", DataType.INT64)
    schema.add_field("text", DataType.VARCHAR, max_length=TEXT_MAX_BYTES, enable_analyzer=True)
    schema.add_field("source", DataType.VARCHAR, max_length=2048)
    schema.add_field("char_start", DataType.INT64)
    schema.add_field("char_end", DataType.INT64)
    schema.add_field("content_hash", DataType.VARCHAR, max_length=64)
    schema.add_field("metadata", DataType.JSON)
    schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=embedder.dim)
    schema.add_field(SPARSE_FIELD, DataType.SPARSE_FLOAT_VECTOR)
    bm25 = Function(
        name="bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=[SPARSE_FIELD]
    )
    schema.add_function(bm25)
    engine = _reopen_as(settings, embedder, schema, bm25=True, metric="COSINE")
    try:
        assert engine.indexer.index(PROSE).embedded == len(PROSE)
        hits = engine.searcher.search("XQ-4471", SearchOptions(mode=Mode.KEYWORD, top_k=3)).hits
        assert hits[0].doc_id == "ticket-7"
    finally:
        engine.close()


def test_new_collections_use_inner_product_and_cosine_ones_keep_their_metric_with_the_same_scores(
    settings: Settings, embedder: Embedder
) -> None:
    """Unit vectors make IP equal to cosine, and IP is the faster brute-force search on Milvus Lite; a collection
    built with COSINE by an earlier release is searched with COSINE (Milvus refuses a metric the index lacks)."""
    query = "how are random numbers generated"

    def dense_scores(engine: Engine) -> dict[str, float]:
        engine.indexer.index(PROSE)
        hits = engine.store.dense_search(engine.embedder.embed_queries([query])[0], limit=10)
        return {h.id: h.score for h in hits}

    engine = Engine.open(settings, create=True, embedder=embedder)
    try:
        store = engine.store
        index = store.client.describe_index(store.target, store.client.list_indexes(store.target, VECTOR_FIELD)[0])
        assert index["metric_type"] == "IP"
        new = dense_scores(engine)
    finally:
        engine.close()
    record = ModelRecord(embedder.model_id, embedder.dim)
    engine = _reopen_as(settings, embedder, build_schema(embedder.dim, record, bm25=True), bm25=True, metric="COSINE")
    try:
        old = dense_scores(engine)
    finally:
        engine.close()
    assert old.keys() == new.keys() and len(new) == len(PROSE)
    assert np.allclose([old[i] for i in new], list(new.values()), atol=1e-5)
    assert len(set(np.round(list(new.values()), 3))) == len(PROSE)  # raw cosines, distinct: a real comparison
