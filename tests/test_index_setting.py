"""Issue 14: `SEMSEARCH_INDEX` and its parameters are honoured (the collection describes back what was asked for),
searches work on each index, an existing collection keeps its index, and a bad value is a clear error."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.errors import UnsupportedIndex
from semsearch.settings import Settings
from semsearch.store.schema import VECTOR_FIELD
from tests.helpers import run_cli, stored_row
from tests.milvus_server import MilvusServer


def described(engine: Engine) -> dict:
    return engine.store.collections.describe_index(engine.store.target, VECTOR_FIELD)


def finds_its_own_row(engine: Engine) -> bool:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((300, engine.embedder.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    engine.store.upsert_chunks([stored_row(f"k{i}", f"d{i}", v.tolist()) for i, v in enumerate(vectors)])
    return engine.store.dense_search(vectors[7], 5)[0].doc_id == "d7"


LITE_CASES = [
    ("FLAT", None, None, {}),
    ("ivf_flat", {"nlist": 16}, {"nprobe": 16}, {"nlist": "16"}),
    ("AUTOINDEX", None, None, {}),
]


@pytest.mark.parametrize(("index", "build", "search", "expected"), LITE_CASES)
def test_lite_builds_the_index_asked_for_and_searches_it(
    tmp_path: Path, embedder: Embedder, index: str, build: dict | None, search: dict | None, expected: dict
) -> None:
    settings = Settings(
        milvus_uri=str(tmp_path / "m.db"), collection="idx", index=index, index_params=build, search_params=search
    )
    engine = Engine.open(settings, create=True, embedder=embedder)
    try:
        info = described(engine)
        assert info["index_type"] == index.upper()
        assert {key: info[key] for key in expected} == expected
        assert engine.store.dense_index.type == index.upper()
        assert finds_its_own_row(engine)
    finally:
        engine.close()


@pytest.mark.server
@pytest.mark.parametrize(
    ("index", "build", "expected"),
    [
        ("auto", None, {"index_type": "HNSW", "M": "16"}),
        ("HNSW", {"M": 8, "efConstruction": 64}, {"M": "8"}),
        ("IVF_FLAT", {"nlist": 8}, {"nlist": "8"}),
    ],
)
def test_a_server_builds_the_index_asked_for_and_searches_it(
    milvus_server: MilvusServer, embedder: Embedder, index: str, build: dict | None, expected: dict
) -> None:
    name = f"idx_{uuid.uuid4().hex[:12]}"
    settings = Settings(milvus_uri=milvus_server.uri, collection=name, index=index, index_params=build)
    engine = Engine.open(settings, create=True, embedder=embedder)
    try:
        info = described(engine)
        assert {key: str(info[key]) for key in expected} == expected
        assert finds_its_own_row(engine)
    finally:
        store = engine.store
        store.client.drop_alias(store.collection)
        store.client.drop_collection(store.target)
        store.client.drop_collection(f"{store.collection}__keys")
        engine.close()


def test_an_existing_collection_keeps_its_index_and_gets_search_parameters_it_takes(
    tmp_path: Path, embedder: Embedder
) -> None:
    db = str(tmp_path / "m.db")
    Engine.open(Settings(milvus_uri=db, collection="idx", index="FLAT"), create=True, embedder=embedder).close()
    later = Settings(milvus_uri=db, collection="idx", index="IVF_FLAT", search_params={"nprobe": 4})
    engine = Engine.open(later, create=False, embedder=embedder)
    try:
        assert described(engine)["index_type"] == "FLAT"
        assert engine.store.dense_index.search_params(10) == {"nprobe": 4}  # configured: sent as given
        assert finds_its_own_row(engine)
    finally:
        engine.close()


def test_an_index_milvus_lite_does_not_build_is_refused_naming_the_choices(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(milvus_uri=str(tmp_path / "m.db"), collection="idx", index="HNSW")
    with pytest.raises(UnsupportedIndex, match=r"HNSW is not an index Milvus Lite builds; .*auto, FLAT, IVF_FLAT"):
        Engine.open(settings, create=True, embedder=embedder)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SEMSEARCH_INDEX": "BTREE"}, "invalid settings: index:"),
        ({"SEMSEARCH_INDEX_PARAMS": "nlist=5"}, "invalid settings"),
        ({"SEMSEARCH_SEARCH_PARAMS": "[1, 2]"}, "invalid settings"),
        ({"SEMSEARCH_INDEX": "hnsw"}, "HNSW is not an index Milvus Lite builds"),
    ],
)
def test_bad_index_settings_are_a_message_and_a_usage_exit_not_a_traceback(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    result = run_cli("search", "otters", cwd=tmp_path, env={"SEMSEARCH_MILVUS_URI": str(tmp_path / "m.db"), **env})
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
