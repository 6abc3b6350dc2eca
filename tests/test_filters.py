"""The filter compiler: what it writes, what it refuses, and that no value can widen a search in real Milvus Lite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from search_api.models import DocumentIn
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.errors import DocumentRejected, InvalidFilter
from semsearch.filters import compile_filter
from semsearch.indexer import Document, validate_document
from semsearch.searcher import SearchOptions
from semsearch.settings import Settings

KEYS = {"lang", "year", "team", "score", "draft", "my-key"}


def _nested(op: str, levels: int) -> dict[str, Any]:
    """`{"lang": "en"}` inside `levels` levels of `op`."""
    spec: dict[str, Any] = {"lang": "en"}
    for _ in range(levels):
        spec = {op: [spec]}
    return spec


# -- the compiler -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [None, {}])
def test_no_filter_compiles_to_no_expression(spec: dict[str, Any] | None) -> None:
    assert compile_filter(spec, KEYS) == ""


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"doc_id": "a.md"}, 'doc_id == "a.md"'),
        ({"source": "docs/a.md"}, 'source == "docs/a.md"'),
        ({"chunk_index": 0}, "chunk_index == 0"),
        ({"lang": "en"}, 'metadata["lang"] == "en"'),
        ({"metadata.lang": "en"}, 'metadata["lang"] == "en"'),
        ({"my-key": "v"}, 'metadata["my-key"] == "v"'),
        ({"draft": True}, 'metadata["draft"] == true'),
        ({"score": 0.5}, 'metadata["score"] == 0.5'),
        ({"lang": {"$eq": "en"}}, 'metadata["lang"] == "en"'),
        ({"lang": {"$ne": "en"}}, 'metadata["lang"] != "en"'),
        ({"year": {"$gt": 2020}}, 'metadata["year"] > 2020'),
        ({"year": {"$gte": 2020}}, 'metadata["year"] >= 2020'),
        ({"year": {"$lt": 2020}}, 'metadata["year"] < 2020'),
        ({"year": {"$lte": 2020}}, 'metadata["year"] <= 2020'),
        ({"chunk_index": {"$gte": 1, "$lt": 3}}, "chunk_index >= 1 and chunk_index < 3"),
        ({"lang": {"$in": ["en", "de"]}}, 'metadata["lang"] in ["en", "de"]'),
        ({"doc_id": {"$nin": ["a", "b"]}}, 'doc_id not in ["a", "b"]'),
        ({"chunk_index": {"$in": [0, 2]}}, "chunk_index in [0, 2]"),
        (
            {"lang": "en", "year": {"$gte": 2020}, "doc_id": "a"},
            'metadata["lang"] == "en" and metadata["year"] >= 2020 and doc_id == "a"',
        ),
        (
            {"$or": [{"lang": "en"}, {"lang": "de", "year": 2020}]},
            '((metadata["lang"] == "en") or (metadata["lang"] == "de" and metadata["year"] == 2020))',
        ),
        (
            {"team": "a", "$and": [{"year": {"$gt": 1}}, {"$or": [{"draft": True}, {"score": {"$lt": 2}}]}]},
            'metadata["team"] == "a" and ((metadata["year"] > 1) and '
            '(((metadata["draft"] == true) or (metadata["score"] < 2))))',
        ),
        (_nested("$and", 7), "(" * 14 + 'metadata["lang"] == "en"' + ")" * 14),
    ],
)
def test_filters_compile_to_milvus_expressions(spec: dict[str, Any], expected: str) -> None:
    assert compile_filter(spec, KEYS) == expected


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ('say "hi"', r'"say \"hi\""'),
        ("C:\\dir", r'"C:\\dir"'),
        ("ends with \\", r'"ends with \\"'),
        ("O'Brien", '"O\'Brien"'),
        ("naïve 日本語 😀", '"naïve 日本語 😀"'),
    ],
)
def test_string_values_are_written_as_one_escaped_literal(value: str, literal: str) -> None:
    assert compile_filter({"lang": value}, KEYS) == f'metadata["lang"] == {literal}'


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        pytest.param({"colour": "red"}, "colour", id="unknown-field"),
        pytest.param({"metadata.colour": "red"}, "metadata.colour", id="unknown-metadata-field"),
        pytest.param(
            {'lang"] or true or metadata["lang': "x"}, 'lang"] or true or metadata["lang', id="field-injection"
        ),
        pytest.param({"doc_id": None}, "doc_id", id="null"),
        pytest.param({"lang": None}, "lang", id="null-metadata"),
        pytest.param({"doc_id": {"a": 1}}, "doc_id", id="nested-object"),
        pytest.param({"lang": {"$eq": {"a": 1}}}, "lang", id="nested-object-under-operator"),
        pytest.param({"doc_id": ["a", "b"]}, "doc_id", id="list-for-equality"),
        pytest.param({"lang": {"$eq": ["en"]}}, "lang", id="list-for-eq-operator"),
        pytest.param({"chunk_index": True}, "chunk_index", id="bool-for-chunk-index"),
        pytest.param({"chunk_index": {"$gt": False}}, "chunk_index", id="bool-comparison-for-chunk-index"),
        pytest.param({"year": {"$gte": True}}, "year", id="bool-comparison-for-metadata"),
        pytest.param({"chunk_index": "1"}, "chunk_index", id="string-for-chunk-index"),
        pytest.param({"chunk_index": 1.5}, "chunk_index", id="float-for-chunk-index"),
        pytest.param({"doc_id": 7}, "doc_id", id="number-for-doc-id"),
        pytest.param({"score": float("nan")}, "score", id="nan"),
        pytest.param({"score": float("inf")}, "score", id="inf"),
        pytest.param({"score": {"$lt": float("-inf")}}, "score", id="minus-inf"),
        pytest.param({"chunk_index": float("nan")}, "chunk_index", id="nan-for-chunk-index"),
        pytest.param({"lang": {"$in": []}}, "lang", id="empty-in-list"),
        pytest.param({"lang": {"$nin": []}}, "lang", id="empty-nin-list"),
        pytest.param({"lang": {"$in": "en"}}, "lang", id="in-with-a-string"),
        pytest.param({"lang": {"$in": ["en", None]}}, "lang", id="null-inside-in"),
        pytest.param({"chunk_index": {"$in": [0, "1"]}}, "chunk_index", id="string-inside-in-for-chunk-index"),
        pytest.param({"lang": {"$in": [str(i) for i in range(1001)]}}, "lang", id="in-list-too-long"),
        pytest.param({"lang": {"$regex": "e.*"}}, "lang", id="unknown-operator"),
        pytest.param({"lang": {"$or": ["en"]}}, "lang", id="logical-operator-as-condition"),
        pytest.param({"$or": {"lang": "en"}}, "$or", id="or-with-an-object-not-a-list"),
        pytest.param({"$and": []}, "$and", id="empty-and"),
        pytest.param({"$or": [{"lang": "en"}, {}]}, "filter", id="empty-filter-inside-or"),
        pytest.param({"$or": ["en"]}, "filter", id="a-value-inside-or"),
        pytest.param({"$or": [{"colour": "red"}]}, "colour", id="unknown-field-inside-or"),
        pytest.param({"$and": [{"chunk_index": {"$gt": "x"}}]}, "chunk_index", id="bad-value-inside-and"),
        pytest.param({"$not": [{"lang": "en"}]}, "$not", id="unknown-logical-operator"),
        pytest.param(_nested("$or", 8), "$or", id="nested-too-deep"),
        pytest.param({"lang": {}}, "lang", id="empty-condition"),
    ],
)
def test_invalid_filters_are_refused_naming_the_field(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        compile_filter(spec, KEYS)
    assert caught.value.field == field
    assert repr(field) in str(caught.value)


def test_a_later_invalid_field_refuses_the_whole_filter() -> None:
    with pytest.raises(InvalidFilter) as caught:
        compile_filter({"lang": "en", "year": {"$gt": "x"}, "doc_id": "a"}, {"lang"})
    assert caught.value.field == "year"


def test_an_unknown_field_error_lists_the_filterable_fields() -> None:
    with pytest.raises(InvalidFilter) as caught:
        compile_filter({"colour": "red"}, {"lang", "year"})
    assert all(name in str(caught.value) for name in ("doc_id", "source", "chunk_index", "lang", "year"))


def test_a_metadata_key_that_could_break_the_expression_is_refused_even_if_stored() -> None:
    with pytest.raises(InvalidFilter):
        compile_filter({'a"] or true or metadata["b': "x"}, {'a"] or true or metadata["b'})


@pytest.mark.parametrize("key", ["lang\n", "9lives", "x" * 65, "a b", ""])
def test_ingest_the_api_and_the_compiler_refuse_the_same_metadata_keys(key: str) -> None:
    with pytest.raises(InvalidFilter):
        compile_filter({key: "x"}, {key})
    with pytest.raises(DocumentRejected):
        validate_document(Document(id="d", text="t", source="s", metadata={key: "x"}))
    with pytest.raises(ValidationError):
        DocumentIn(id="d", text="t", metadata={key: "x"})


def test_a_string_that_cannot_be_encoded_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidFilter) as caught:
        compile_filter({"doc_id": "\ud800"}, KEYS)
    assert caught.value.field == "doc_id"


# -- against real Milvus Lite -----------------------------------------------------------------------------------

TAGS = {
    "plain": "plain",
    "quote": 'He said "hi"',
    "single-quote": "O'Brien",
    "backslash": "C:\\dir\\file",
    "trailing-backslash": "ends with \\",
    "escaped-quote": '\\"',
    "unicode": "naïve café 日本語 😀",
    "injection-lookalike": 'x" or doc_id != "',
    "tab": "a\tb",
    "newline": "line1\nline2",  # storable, but a Milvus string literal cannot contain a line break
}
WEIRD_ID = 'report "final" \\ 日本'
WEIRD_SOURCE = 'docs/"quoted" \\ ünï.txt'
LONG_TEXT = " ".join(f"Sentence number {i} talks about vector search and chunking." for i in range(120))


def _corpus() -> list[Document]:
    docs = [
        Document(
            id=name,
            text=f"A short document about {name.replace('-', ' ')} values in filters.",
            source=f"src/{name}.txt",
            metadata={"tag": value, "team": "blue" if i % 2 else "red", "year": 2018 + i},
        )
        for i, (name, value) in enumerate(TAGS.items())
    ]
    docs.append(Document(id=WEIRD_ID, text="A document with a strange id.", source=WEIRD_SOURCE, metadata={}))
    docs.append(Document(id="long", text=LONG_TEXT, source="src/long.txt", metadata={"team": "green"}))
    return docs


CORPUS = _corpus()
TOP_K = 1_000  # far more than the corpus has chunks: every match comes back


def _field(doc: Document, field: str) -> Any:
    return {"doc_id": doc.id, "source": doc.source}.get(field, doc.metadata.get(field))


def expected_ids(field: str, value: Any) -> set[str]:
    return {doc.id for doc in CORPUS if _field(doc, field) == value}


def where(key: str, test: Callable[[Any], bool]) -> set[str]:
    """Ids of the documents whose metadata[key] passes `test` (None when the key is absent)."""
    return {doc.id for doc in CORPUS if test(doc.metadata.get(key))}


@pytest.fixture(scope="module")
def corpus_engine(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Engine]:
    """One Milvus Lite collection holding CORPUS, shared by the read-only searches below (opening one costs ~2 s)."""
    settings = Settings(milvus_uri=str(tmp_path_factory.mktemp("filters") / "m.db"), collection="f", _env_file=None)
    engine = Engine.open(settings, create=True, embedder=embedder)
    engine.indexer.index(CORPUS)
    yield engine
    engine.close()


def found(engine: Engine, filters: dict[str, Any]) -> set[str]:
    return {hit.doc_id for hit in engine.searcher.search("document", SearchOptions(top_k=TOP_K, filters=filters)).hits}


def test_the_corpus_is_searchable_without_a_filter(corpus_engine: Engine) -> None:
    assert found(corpus_engine, {}) == {doc.id for doc in CORPUS}


HOSTILE_VALUES = [
    '" or doc_id != "',
    'x" or doc_id != "',
    '" || 1==1 || "',
    "or 1==1",
    '" or 1==1 or "',
    "' or '1'=='1",
    '\\" or 1==1 or \\"',
    '\\" or true or "\\',
    "\\",
    '"',
    'blue" or metadata["team"] != "',
    'a"] or true or metadata["a',
    '")) or ((true',
    '" and false) or (true or "',
]


@pytest.mark.parametrize("field", ["tag", "doc_id", "source"])
@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_a_hostile_value_matches_only_what_literally_equals_it(corpus_engine: Engine, field: str, value: str) -> None:
    assert found(corpus_engine, {field: value}) == expected_ids(field, value)


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_values_in_a_list_cannot_widen_it(corpus_engine: Engine, value: str) -> None:
    assert found(corpus_engine, {"doc_id": {"$in": [value, "plain"]}}) == {"plain"}


@pytest.mark.parametrize("name", [name for name in TAGS if name != "newline"])
def test_a_value_with_quotes_backslashes_or_unicode_matches_exactly_its_document(
    corpus_engine: Engine, name: str
) -> None:
    assert found(corpus_engine, {"tag": TAGS[name]}) == {name}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({"doc_id": WEIRD_ID}, {WEIRD_ID}, id="doc-id-with-quotes"),
        pytest.param({"source": WEIRD_SOURCE}, {WEIRD_ID}, id="source-with-quotes"),
        pytest.param({"doc_id": "plain"}, {"plain"}, id="doc-id"),
        pytest.param({"source": "src/unicode.txt"}, {"unicode"}, id="source"),
        pytest.param({"doc_id": {"$in": ["plain", "quote", "nope"]}}, {"plain", "quote"}, id="doc-id-in"),
        pytest.param({"team": "blue"}, expected_ids("team", "blue"), id="metadata-equality"),
        # like MongoDB's, $ne and $nin also match documents that lack the key
        pytest.param({"team": {"$ne": "red"}}, where("team", lambda v: v != "red"), id="ne"),
        pytest.param({"year": {"$gte": 2024}}, where("year", lambda v: v is not None and v >= 2024), id="gte"),
        pytest.param(
            {"year": {"$gt": 2019, "$lt": 2022}}, where("year", lambda v: v is not None and 2019 < v < 2022), id="range"
        ),
        pytest.param({"team": "blue", "year": 2019}, {"quote"}, id="and"),
        pytest.param({"team": "red", "year": 2019}, set(), id="and-contradiction"),
        pytest.param({"team": {"$in": ["green", "nope"]}}, {"long"}, id="metadata-in"),
        pytest.param(
            {"tag": {"$nin": [TAGS["plain"], TAGS["quote"]]}},
            where("tag", lambda v: v not in (TAGS["plain"], TAGS["quote"])),
            id="nin",
        ),
        pytest.param({"chunk_index": {"$gte": 1}}, {"long"}, id="chunk-index"),
        pytest.param({"$or": [{"team": "green"}, {"doc_id": "plain"}]}, {"long", "plain"}, id="or"),
        pytest.param(
            {"$or": [{"team": "blue", "year": 2019}, {"doc_id": {"$in": ["plain", "tab"]}}]},
            {"quote", "plain", "tab"},
            id="or-of-ands",
        ),
        pytest.param(
            {"$and": [{"team": "red"}, {"$or": [{"year": 2018}, {"year": {"$gte": 2024}}]}]},
            where("team", lambda v: v == "red") & where("year", lambda v: v is not None and (v == 2018 or v >= 2024)),
            id="and-of-or",
        ),
        pytest.param({"$or": [{"tag": '" or doc_id != "'}, {"doc_id": "plain"}]}, {"plain"}, id="hostile-inside-or"),
    ],
)
def test_filters_return_exactly_the_matching_documents(
    corpus_engine: Engine, filters: dict[str, Any], expected: set[str]
) -> None:
    assert found(corpus_engine, filters) == expected


def test_a_chunk_index_filter_returns_only_those_chunks(corpus_engine: Engine) -> None:
    options = SearchOptions(top_k=TOP_K, filters={"doc_id": "long", "chunk_index": {"$in": [0, 2]}})
    hits = corpus_engine.searcher.search("vector search", options).hits
    assert sorted(hit.chunk_index for hit in hits) == [0, 2]


def test_search_learns_a_metadata_key_written_by_another_writer(
    engine: Engine, settings: Settings, embedder: Embedder
) -> None:
    engine.indexer.index([Document(id="old", text="an older document", source="t", metadata={"lang": "en"})])
    writer = Engine.open(settings, create=False, embedder=embedder)
    try:
        writer.indexer.index([Document(id="new", text="a newer document", source="t", metadata={"squad": "blue"})])
    finally:
        writer.close()
    assert "squad" not in engine.store.metadata_keys

    hits = engine.searcher.search("document", SearchOptions(filters={"squad": "blue"})).hits

    assert {hit.doc_id for hit in hits} == {"new"}
    assert "squad" in engine.store.metadata_keys
    with pytest.raises(InvalidFilter) as caught:
        engine.searcher.search("document", SearchOptions(filters={"squadron": "blue"}))
    assert caught.value.field == "squadron"


@pytest.mark.parametrize("value", ["line1\nline2", "a\rb"])
def test_a_line_break_in_a_filter_value_is_refused_naming_the_field(corpus_engine: Engine, value: str) -> None:
    with pytest.raises(InvalidFilter, match="line break") as caught:
        found(corpus_engine, {"tag": value})
    assert caught.value.field == "tag"
