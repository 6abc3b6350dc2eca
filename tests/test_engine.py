"""Engine contracts that hold whatever door is used: model records, settings, capabilities."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Dense

from semsearch.embedder import Embedder, resolve_model_path
from semsearch.engine import Engine
from semsearch.errors import CollectionModelMismatch
from semsearch.indexer import Document
from semsearch.searcher import SearchOptions
from semsearch.settings import DEFAULT_MODEL, Settings
from tests.helpers import stored_row


@pytest.fixture(scope="module")
def other_model_path(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> str:
    """A genuinely different local model (128-d head on the same encoder), saved to disk like a user's own."""
    base = SentenceTransformer(resolve_model_path(DEFAULT_MODEL), device="cpu")  # torch modules, whatever the backend
    dense = Dense(in_features=embedder.dim, out_features=128)
    path = tmp_path_factory.mktemp("models") / "minilm-128"
    SentenceTransformer(modules=[base[0], base[1], dense]).save(str(path))
    return str(path)


def test_opening_a_collection_with_another_model_is_refused_naming_both(
    engine: Engine, settings: Settings, other_model_path: str
) -> None:
    engine.indexer.index([Document(id="d", text="some text", source="t")])
    engine.close()
    other = settings.model_copy(update={"model": other_model_path})
    with pytest.raises(CollectionModelMismatch) as caught:
        Engine.open(other, create=True)
    message = str(caught.value)
    assert DEFAULT_MODEL in message and other_model_path in message
    assert "384" in message and "128" in message


def test_any_local_sentence_transformers_model_works_through_settings(tmp_path: Path, other_model_path: str) -> None:
    settings = Settings(milvus_uri=str(tmp_path / "m.db"), model=other_model_path, _env_file=None)
    engine = Engine.open(settings, create=True)
    try:
        assert engine.embedder.dim == 128
        engine.indexer.index([Document(id="x", text="whales sing long songs", source="t")])
        assert engine.searcher.search("ocean mammal music", SearchOptions(top_k=1)).hits[0].doc_id == "x"
    finally:
        engine.close()


def test_settings_come_from_env_then_dotenv_and_explicit_values_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("SEMSEARCH_COLLECTION=from_dotenv\nSEMSEARCH_CHUNK_TOKENS=128\n")
    assert Settings().collection == "from_dotenv"
    monkeypatch.setenv("SEMSEARCH_COLLECTION", "from_env")
    assert Settings().collection == "from_env"
    assert Settings(collection="from_cli").collection == "from_cli"
    assert Settings().chunk_tokens == 128
    assert Settings().milvus_uri == "./data/milvus.db"


def test_overlap_must_be_smaller_than_chunk(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chunk_overlap"):
        Settings(chunk_tokens=64, chunk_overlap=64, _env_file=None)


def test_chunk_tokens_are_capped_at_the_model_limit(settings: Settings, embedder: Embedder) -> None:
    big = settings.model_copy(update={"chunk_tokens": 10_000})
    engine = Engine.open(big, create=True, embedder=embedder)
    try:
        assert engine.indexer.max_tokens == embedder.max_seq_length - embedder.special_tokens
    finally:
        engine.close()


def _locked_for_others(db: str) -> bool:
    probe = "import sys; from pathlib import Path; from semsearch.store.lite import held_by_another_process as f; "
    probe += "print(f(Path(sys.argv[1])))"
    result = subprocess.run([sys.executable, "-c", probe, db], capture_output=True, text=True, check=True)
    return result.stdout.strip() == "True"


def test_closing_the_last_store_releases_the_lite_db_for_other_processes(
    settings: Settings, embedder: Embedder
) -> None:
    first = Engine.open(settings, create=True, embedder=embedder)
    second = Engine.open(settings, create=True, embedder=embedder)
    assert _locked_for_others(settings.milvus_uri)
    first.close()
    assert _locked_for_others(settings.milvus_uri), "another store in this process still uses the file"
    assert second.store.count() == 0
    second.close()
    assert not _locked_for_others(settings.milvus_uri)


def test_scan_pages_through_every_row_once_even_with_quotes_in_ids(engine: Engine) -> None:
    unit = [1.0] + [0.0] * (engine.embedder.dim - 1)
    rows = [stored_row(f'doc "{i}" \\ x#0', f'doc "{i}" \\ x', unit) for i in range(2_345)]
    engine.store.upsert_chunks(rows)
    scanned = [row["id"] for row in engine.store.scan("", ["id"])]
    assert len(scanned) == len(set(scanned)) == 2_345
    assert engine.store.delete_documents([rows[7]["doc_id"]]) == 1
    assert engine.store.count() == 2_344


@pytest.mark.parametrize("doc_id", ["O'Brien.txt", "a'\"b\\c", "tab\there", "ünï 日本 😀"])
def test_any_document_id_can_be_indexed_updated_searched_and_deleted(engine: Engine, doc_id: str) -> None:
    """Milvus Lite fails on primary keys with quotes; ours are hashes, the doc_id is only ever a filter literal."""
    assert engine.indexer.index([Document(id=doc_id, text="A note about owls.", source="t")]).embedded == 1
    assert engine.indexer.index([Document(id=doc_id, text="A note about owls.", source="t")]).embedded == 0
    stats = engine.indexer.index([Document(id=doc_id, text="Now a note about herons.", source="t")])
    assert (stats.embedded, stats.deleted) == (1, 0)
    hit = engine.searcher.search("wading birds", SearchOptions(top_k=1)).hits[0]
    assert (hit.doc_id, hit.id) == (doc_id, f"{doc_id}#0")
    assert engine.indexer.delete_documents([doc_id]) == 1
    assert engine.store.count() == 0


def test_counting_tokens_while_the_model_encodes_on_another_thread_is_safe(embedder: Embedder) -> None:
    """The ingest pipeline chunks on one thread while the model encodes on another; a shared fast tokenizer had its
    padding switched off mid-batch ("setting an array element with a sequence")."""
    texts = ["word " * n for n in range(1, 300, 15)]
    stop, errors = threading.Event(), []

    def count() -> None:
        while not stop.is_set():
            try:
                embedder.count_tokens("a few words " * 50)
            except Exception as exc:
                errors.append(exc)
                return

    counter = threading.Thread(target=count)
    counter.start()
    try:
        for _ in range(10):
            assert embedder.embed_documents(texts).shape == (len(texts), embedder.dim)
    finally:
        stop.set()
        counter.join()
    assert errors == []
