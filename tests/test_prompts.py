"""Query and document prompts: read from the model's sentence-transformers config, overridable, applied on every
backend, left room for in the chunk window, and recorded with the collection like the model."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from semsearch.backends import ONNX_DIR, cache_slug
from semsearch.embedder import Embedder, resolve_model_path
from semsearch.engine import Engine
from semsearch.errors import CollectionModelMismatch
from semsearch.indexer import Document, Indexer
from semsearch.prompts import CONFIG_FILE, Prompts, from_config, resolve
from semsearch.settings import DEFAULT_MODEL, Settings
from semsearch.store.schema import ModelRecord

PROMPTS = {"query": "query: ", "document": "passage: "}


@pytest.fixture(scope="module")
def prompted_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The default model's files with prompts added to its config (no download), and a model cache holding the
    default model's ONNX graphs under the copy's name (same weights, same graphs: no second export)."""
    root = tmp_path_factory.mktemp("prompted")
    model = root / "prompted-minilm"
    shutil.copytree(resolve_model_path(DEFAULT_MODEL), model)
    config_path = model / CONFIG_FILE
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    config_path.write_text(json.dumps({**config, "prompts": PROMPTS, "default_prompt_name": None}))
    cache = root / "models"
    shipped = Settings().model_cache_dir / cache_slug(DEFAULT_MODEL) / ONNX_DIR
    if shipped.is_dir():
        shutil.copytree(shipped, cache / cache_slug(str(model)) / ONNX_DIR)
    return str(model), cache


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, Prompts()),
        ({"prompts": {"query": "q: ", "passage": "p: "}}, Prompts("q: ", "p: ")),
        ({"prompts": {"query": "q: ", "document": "d: ", "passage": "p: "}}, Prompts("q: ", "d: ")),
        ({"prompts": {"query": "q: ", "corpus": "c: "}}, Prompts("q: ", "c: ")),
        ({"prompts": {"query": "Represent this sentence: "}}, Prompts("Represent this sentence: ", "")),
        ({"prompts": {"retrieval": "r: "}, "default_prompt_name": "retrieval"}, Prompts("r: ", "r: ")),
        ({"prompts": {"query": "", "document": ""}, "default_prompt_name": None}, Prompts()),
    ],
)
def test_prompts_are_read_as_sentence_transformers_encode_query_and_encode_document_use_them(
    config: dict, expected: Prompts
) -> None:
    assert from_config(config) == expected


def test_settings_override_the_models_prompts_and_empty_switches_one_off(prompted_model: tuple[str, Path]) -> None:
    model, _ = prompted_model
    assert resolve(model, None, None) == Prompts("query: ", "passage: ")
    assert resolve(model, "search: ", "") == Prompts("search: ", "")
    assert resolve(resolve_model_path(DEFAULT_MODEL), None, None) == Prompts()  # the default model declares none


@pytest.mark.parametrize("backend", ["torch", "onnx", "onnx-int8"])
def test_every_backend_embeds_queries_and_documents_behind_their_prompts(
    prompted_model: tuple[str, Path], backend: str
) -> None:
    model, cache = prompted_model
    embedder = Embedder.load(Settings(model=model, backend=backend, model_cache=str(cache), _env_file=None))
    assert embedder.backend == backend and embedder.prompts == Prompts("query: ", "passage: ")
    bare = dataclasses.replace(embedder, prompts=Prompts())
    text = "how do I read a zip archive"
    query, document = embedder.embed_queries([text])[0], embedder.embed_documents([text])[0]
    assert np.allclose(query, bare.embed_queries([f"query: {text}"])[0], atol=1e-5)
    assert np.allclose(document, bare.embed_documents([f"passage: {text}"])[0], atol=1e-5)
    assert float(query @ bare.embed_queries([text])[0]) < 0.999  # the prompt changed the vector


def test_chunks_leave_room_for_the_document_prompt(settings: Settings, embedder: Embedder) -> None:
    prompt = "Represent this passage of a long technical manual for retrieval: " * 3
    prompted = dataclasses.replace(embedder, prompts=Prompts(document=prompt))
    indexer = Indexer(None, prompted, settings.model_copy(update={"chunk_tokens": 10_000}))  # type: ignore[arg-type]
    assert indexer.max_tokens == embedder.max_seq_length - embedder.special_tokens - prompted.document_prompt_tokens
    chunks = indexer.chunk(Document(id="long", text="A sentence about disks and servers. " * 400, source="t"))
    assert len(chunks) > 1
    assert max(prompted.count_tokens(prompt + chunk.text) for chunk in chunks) <= embedder.max_seq_length


def test_a_collection_records_its_prompts_and_refuses_others(settings: Settings, embedder: Embedder) -> None:
    prompted = dataclasses.replace(embedder, prompts=Prompts("query: ", "passage: "))
    Engine.open(settings, create=True, embedder=prompted).close()
    record = ModelRecord(embedder.model_id, embedder.dim, "query: ", "passage: ")
    assert ModelRecord.from_description(record.to_description()) == record
    Engine.open(settings, create=False, embedder=prompted).close()  # the same prompts open it
    for other in (Prompts(), Prompts("query: ", ""), Prompts("search: ", "passage: ")):
        with pytest.raises(CollectionModelMismatch, match="prompts"):
            Engine.open(settings, create=False, embedder=dataclasses.replace(embedder, prompts=other))


def test_a_record_from_before_prompts_serves_bare_documents_only(embedder: Embedder) -> None:
    old = ModelRecord.from_description(json.dumps({"semsearch": 1, "model": embedder.model_id, "dim": embedder.dim}))
    assert old == ModelRecord(embedder.model_id, embedder.dim)
    assert old.serves(ModelRecord(embedder.model_id, embedder.dim, "", ""))
    assert old.serves(ModelRecord(embedder.model_id, embedder.dim, "query: ", ""))  # queries are not stored
    assert not old.serves(ModelRecord(embedder.model_id, embedder.dim, "", "passage: "))
