"""Embedding backends: ONNX and int8 made locally, cached on disk, and in the same vector space as torch."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from pydantic import ValidationError
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Dense

from semsearch.backends import LOCK_FILE, ONNX_DIR, Backend, cache_slug
from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.indexer import Document
from semsearch.searcher import SearchOptions
from semsearch.settings import DEFAULT_MODEL, Settings
from tests.helpers import ROOT

TEXTS = [
    "The decimal module provides support for fast correctly rounded decimal floating point arithmetic.",
    "random: generate pseudo-random numbers for simulations, games and sampling.",
    "sched: a general purpose event scheduler that runs jobs at chosen times.",
    "copy.deepcopy builds a new compound object and recursively inserts copies of the objects found in the original.",
    "short",
]


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


def load(backend: str, cache: Path, **extra: str) -> Embedder:
    return Embedder.load(Settings(backend=backend, model_cache=str(cache), _env_file=None, **extra))


@pytest.fixture(scope="module")
def torch_embedder(model_cache: Path) -> Embedder:
    """The reference: the model on torch, whatever SEMSEARCH_BACKEND the suite runs with."""
    return load("torch", model_cache)


@pytest.mark.parametrize(("backend", "min_cosine"), [("onnx", 0.9999), ("onnx-int8", 0.97)])
def test_onnx_backends_embed_into_the_torch_vector_space(
    torch_embedder: Embedder, model_cache: Path, backend: str, min_cosine: float
) -> None:
    embedder = torch_embedder
    other = load(backend, model_cache)
    assert other.backend == Backend(backend)
    assert (other.dim, other.max_seq_length, other.special_tokens) == (
        embedder.dim,
        embedder.max_seq_length,
        embedder.special_tokens,
    )
    vectors = other.embed_documents(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), embedder.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * embedder.embed_documents(TEXTS)).sum(axis=1)
    assert cosines.min() >= min_cosine, cosines


def test_onnx_files_are_made_once_and_reused_from_the_cache(model_cache: Path) -> None:
    load("onnx-int8", model_cache)
    onnx_dir = model_cache / cache_slug(DEFAULT_MODEL) / ONNX_DIR
    made = {p.name: p.stat().st_mtime_ns for p in onnx_dir.glob("*.onnx")}
    assert set(made) == {"model.onnx", "model_qint8.onnx"}
    load("onnx", model_cache)
    load("onnx-int8", model_cache)
    assert {p.name: p.stat().st_mtime_ns for p in onnx_dir.glob("*.onnx")} == made
    assert not [p for p in onnx_dir.parent.iterdir() if p.name.startswith(".")]  # no temporary leftovers


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_a_process_that_embeds_on_onnx_from_the_cache_never_imports_torch(model_cache: Path, backend: str) -> None:
    """What makes every `semsearch` start after the first one quick: torch (~1.5 s of CPU to import) is needed
    only to export the graphs, never to tokenize or to run them."""
    load(backend, model_cache)  # the graphs are in the cache
    probe = "import sys, semsearch_cli; from semsearch.embedder import Embedder"
    probe += "; from semsearch.settings import Settings"
    probe += f"; Embedder.load(Settings(backend={backend!r}, _env_file=None)).embed_documents(['otters'])"
    probe += "; print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))"
    env = {**os.environ, "SEMSEARCH_MODEL_CACHE": str(model_cache)}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_onnx_graphs_are_fused_by_onnx_runtime(model_cache: Path) -> None:
    """One Attention op per layer instead of the exported MatMul/Softmax pattern (the vectors equal torch's:
    see the cosine test above); int8 quantises the fused attention too."""
    load("onnx-int8", model_cache)
    onnx_dir = model_cache / cache_slug(DEFAULT_MODEL) / ONNX_DIR
    fp32 = Counter(node.op_type for node in onnx.load(str(onnx_dir / "model.onnx")).graph.node)
    int8 = Counter(node.op_type for node in onnx.load(str(onnx_dir / "model_qint8.onnx")).graph.node)
    assert fp32["Attention"] == 6 and fp32["Softmax"] == 0 and fp32["SkipLayerNormalization"] == 12
    assert int8["QAttention"] == 6 and int8["MatMulInteger"] > 0


def test_the_model_cache_is_one_per_user_whatever_the_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEMSEARCH_MODEL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    one = Settings(milvus_uri=str(tmp_path / "kb" / "milvus.db"), _env_file=None)
    other = Settings(milvus_uri=str(tmp_path / "elsewhere" / "notes.db"), _env_file=None)
    server = Settings(milvus_uri="http://milvus:19530", _env_file=None)
    assert one.model_cache_dir == other.model_cache_dir == server.model_cache_dir == tmp_path / "xdg/semsearch/models"
    monkeypatch.setenv("SEMSEARCH_MODEL_CACHE", "~/models")  # the override, with ~ as a shell would read it
    assert Settings(_env_file=None).model_cache_dir == Path.home() / "models"


#: Prepares the model in SEMSEARCH_MODEL_CACHE (the default onnx-int8 backend: export, then quantise), logging at info.
PREPARE = (
    "from semsearch.embedder import Embedder; from semsearch.logs import configure_logging; "
    "from semsearch.settings import Settings; configure_logging('info'); "
    "print(Embedder.load(Settings(backend='onnx-int8', _env_file=None)).embed_queries(['otters']).shape)"
)


def test_two_processes_preparing_one_model_at_once_export_and_quantise_it_once(tmp_path: Path) -> None:
    """The cache is shared by every process of the user: the second waits for the first (an fcntl lock), then
    uses its files; no half-written file or temporary directory is left behind (issue 23)."""
    cache = tmp_path / "cache"
    env = {**os.environ, "SEMSEARCH_MODEL_CACHE": str(cache)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", PREPARE], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=900) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
        assert out.strip() == "(1, 384)"
    logs = "".join(err for _, err in outputs)
    assert logs.count("exporting") == 1 and logs.count("quantising") == 1, logs
    onnx_dir = cache / cache_slug(DEFAULT_MODEL) / ONNX_DIR
    assert {path.name for path in onnx_dir.parent.iterdir()} == {ONNX_DIR, LOCK_FILE}
    assert not [path.name for path in onnx_dir.iterdir() if path.name.startswith(".")]


def test_an_unknown_backend_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValidationError, match="onnx-int8"):
        Settings(backend="tensorrt", _env_file=None)


def test_a_model_the_export_cannot_handle_runs_on_torch(tmp_path: Path, torch_embedder: Embedder) -> None:
    embedder = torch_embedder
    path = tmp_path / "minilm-dense"
    base = embedder.model
    SentenceTransformer(modules=[base[0], base[1], Dense(in_features=embedder.dim, out_features=64)]).save(str(path))
    fallback = load("onnx", tmp_path / "cache", model=str(path))
    assert fallback.backend is Backend.TORCH and fallback.dim == 64


def test_a_model_without_a_normalize_step_still_gives_unit_vectors_on_onnx(
    tmp_path: Path, torch_embedder: Embedder
) -> None:
    """The dense index's inner product is the cosine only for unit vectors, whatever the model's last module."""
    path = tmp_path / "minilm-unnormalised"
    base = torch_embedder.model
    SentenceTransformer(modules=[base[0], base[1]]).save(str(path))
    embedder = load("onnx", tmp_path / "cache", model=str(path))
    assert embedder.backend is Backend.ONNX and not embedder.model.normalize
    vectors = embedder.embed_documents(["a short text", "a much longer text about random number generators"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_collection_built_on_torch_is_searched_and_kept_on_int8_without_re_embedding(
    settings: Settings, torch_embedder: Embedder, model_cache: Path
) -> None:
    docs = [Document(id=f"d{i}", text=text, source="t") for i, text in enumerate(TEXTS)]
    engine = Engine.open(settings, create=True, embedder=torch_embedder)
    engine.indexer.index(docs)
    engine.close()
    int8 = Engine.open(settings, create=False, embedder=load("onnx-int8", model_cache))
    try:
        assert int8.indexer.index(docs).embedded == 0  # the backend is not part of the model's identity
        hit = int8.searcher.search("exact money arithmetic without rounding errors", SearchOptions(top_k=1)).hits[0]
        assert hit.doc_id == "d0"
    finally:
        int8.close()


def test_int8_queries_run_on_a_single_threaded_session_of_the_same_graph_and_match_it_from_many_threads(
    embedder: Embedder,
) -> None:
    """Queries are ~20 tokens: one intra-op thread per query and one query per core (docs/benchmarks/throughput.md).
    The query session must give the vectors the ingest session gives, from any number of threads at once (each
    thread tokenises with its own copy of the tokenizer)."""
    from concurrent.futures import ThreadPoolExecutor

    assert embedder.queries_run_alone
    query_model = embedder.query_model
    assert query_model is not embedder.model and query_model.threads == 1
    assert query_model.session.get_session_options().intra_op_num_threads == 1
    texts = [
        f"how to {verb} {noun} quickly" for verb in ("sort", "parse", "copy") for noun in ("dates", "lists", "files")
    ]
    alone = np.vstack([embedder.model.encode([t], normalize_embeddings=True) for t in texts])
    with ThreadPoolExecutor(6) as pool:
        together = np.vstack(list(pool.map(lambda t: query_model.encode([t], normalize_embeddings=True), texts * 4)))
    np.testing.assert_allclose(together, np.vstack([alone] * 4), atol=1e-5)
