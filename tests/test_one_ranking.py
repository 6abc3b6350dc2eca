"""One ranking, whatever the page (issue 27): the order of hits for a query does not depend on `top_k` or `offset`,
in every mode, chunks or documents, over many queries of the sample corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from semsearch.engine import Engine
from semsearch.indexer import Document
from semsearch.knowledge_base import KnowledgeBase
from semsearch.ranking import Mode
from semsearch.searcher import SearchOptions

QUERIES = [item["query"] for item in json.loads((Path(__file__).parent / "sample_queries.json").read_text())] + [
    "roll dice and flip coins in a simulation",
    "read and write files on disk",
    "asynchronous tasks and event loops",
    "compress data",
    "regular expressions",
    "dates and time zones",
    "command line arguments",
    "threads and locks",
]


def ids(engine: Engine, query: str, **options) -> list[str]:
    return [hit.id for hit in engine.searcher.search(query, SearchOptions(**options)).hits]


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("group", [False, True])
def test_the_first_hit_is_the_same_for_top_k_one_four_and_ten(sample_engine: Engine, mode: Mode, group: bool) -> None:
    for query in QUERIES:
        firsts = {k: ids(sample_engine, query, top_k=k, mode=mode, group_by_document=group)[0] for k in (1, 4, 10)}
        assert len(set(firsts.values())) == 1, (query, firsts)


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("group", [False, True])
def test_pages_one_two_and_three_are_one_page_of_thirty(sample_engine: Engine, mode: Mode, group: bool) -> None:
    for query in QUERIES:
        whole = ids(sample_engine, query, top_k=30, mode=mode, group_by_document=group)
        pages = [ids(sample_engine, query, top_k=10, offset=o, mode=mode, group_by_document=group) for o in (0, 10, 20)]
        assert len(whole) == 30 or mode is Mode.KEYWORD  # keyword search finds only pages with a query word
        assert pages[0] + pages[1] + pages[2] == whole, query


def test_the_readme_query_ranks_alike_for_the_demo_and_the_search_page(sample_engine: Engine) -> None:
    """The issue's example: hybrid gave random.md first with top_k 4 and secrets.md with top_k 10."""
    query = "roll dice and flip coins in a simulation"
    docs = {k: sample_engine.searcher.search(query, SearchOptions(top_k=k)).hits[0].doc_id for k in (4, 10)}
    assert docs[4] == docs[10]


def test_dense_pages_across_exact_ties_keep_one_order(engine: Engine) -> None:
    """Dense search reads only a page (and one hit past it); chunks with identical text tie exactly, and a tie
    across a page's end is settled by the whole ranking, so pages still concatenate into one ranking, each chunk
    once, tied chunks ordered by id."""
    same = "Copies of one paragraph about rolling dice and flipping coins."
    docs = [Document(id=f"copy-{n:02d}", text=same, source=f"copy-{n:02d}.md") for n in range(7)]
    docs += [
        Document(id=f"other-{n}", text=f"Notes number {n} on gardening and soil.", source="o.md") for n in range(5)
    ]
    engine.indexer.index(docs)

    whole = ids(engine, "dice and coins", top_k=12, mode=Mode.DENSE)
    pages = [ids(engine, "dice and coins", top_k=3, offset=o, mode=Mode.DENSE) for o in range(0, 12, 3)]
    firsts = {k: ids(engine, "dice and coins", top_k=k, mode=Mode.DENSE) for k in (1, 2, 5)}

    assert [i for page in pages for i in page] == whole and len(set(whole)) == 12
    assert whole[:7] == sorted(whole[:7])  # the seven tied copies, by id
    assert all(firsts[k] == whole[:k] for k in firsts)


def test_dense_pages_read_one_at_a_time_are_one_ranking_on_lite_and_on_the_server(kb: KnowledgeBase) -> None:
    """Dense search reads a page and one hit past it, with the search parameters of the whole depth (HNSW's `ef` on
    the server): page after page, and top_k 1 against 30, it is the ranking a single deep read gives."""
    topics = ["dice", "coins", "gardens", "rivers", "engines", "violins", "glaciers", "bread", "comets", "ledgers"]
    kb.add(
        {"id": f"{topic}-{n}", "text": f"Note {n} about {topic}: how {topic} work and what to know of {topic}."}
        for topic in topics
        for n in range(6)
    )
    for query in ("games of chance", "music and instruments", "weather and ice", "accounting books"):
        whole = [hit.id for hit in kb.search(query, mode="dense", top_k=30).results]
        pages = [[hit.id for hit in kb.search(query, mode="dense", top_k=10, offset=o).results] for o in (0, 10, 20)]
        first = kb.search(query, mode="dense", top_k=1).results[0].id
        assert [i for page in pages for i in page] == whole and len(set(whole)) == 30, query
        assert first == whole[0], query
