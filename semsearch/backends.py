"""Where the model's forward pass runs: torch, ONNX Runtime, or ONNX Runtime with int8 weights.

The ONNX graphs are made here, from the local weights, on first use: the transformer exported once with
`torch.onnx`, its attention, GELU and layer norms fused by ONNX Runtime's transformer optimizer, its weights
quantised once to int8 with onnxruntime's dynamic quantisation, all cached once per user
(`<user cache>/semsearch/models/<cache slug>/`: `Settings.model_cache_dir`), so nothing is downloaded and later
starts skip torch entirely.
(sentence-transformers' own `backend="onnx"` needs optimum-onnx, which pins transformers < 4.58; this does not.)

All three backends compute the same model, so their vectors share one space: the cosine between a torch vector
and an ONNX vector of one text is 1.0000, and about 0.99 for int8. A collection may therefore mix them.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import queue
import re
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from semsearch.devices import check_session, onnx_providers, torch_device, torch_precision
from semsearch.errors import ModelCacheUnwritable
from semsearch.settings import Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

#: Cache folder of the graphs; renamed whenever the export changes, so an older export is never reused.
ONNX_DIR = "onnx-fused"
FP32_FILE = "model.onnx"
INT8_FILE = "model_qint8.onnx"
CONFIG_FILE = "semsearch_onnx.json"
#: Held (fcntl) by the process exporting or quantising a model, beside its `ONNX_DIR`.
LOCK_FILE = "prepare.lock"  # kept: deleting a lock file others may hold open is a race
#: ONNX Runtime's own threads per inference; None lets it use every core.
INTRA_OP_THREADS: int | None = None
#: ONNX Runtime's idle intra-op threads spin by default, burning a core while they wait for the next run. A server
#: shares its few cores with the event loop, request threads and Milvus Lite: with 16 clients on 2 cores, turning
#: spinning off raised /search QPS and cut p99 (benchmarks/serving.py, docs/benchmarks/throughput.md).
SPIN_WAITING_THREADS = False


class Backend(StrEnum):
    TORCH = "torch"
    ONNX = "onnx"
    ONNX_INT8 = "onnx-int8"


class UnsupportedForOnnx(ValueError):
    """The model is not a plain transformer + pooling (+ normalize) pipeline, which is all the export handles."""


def cache_slug(model: str) -> str:
    """The model cache directory name for a model name or path, e.g. `sentence-transformers--all-MiniLM-L6-v2`
    (not the collection slug, which also hashes the name)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "--", model.strip("/")).strip("-.") or "model"


def load_model(path: str, backend: Backend, device: str | None, cache_dir: Path, precision: str = "auto") -> Any:
    """The model at `path` on `backend`: a SentenceTransformer for torch, else an OnnxEncoder with the same
    `encode`/`tokenizer`/`max_seq_length`/`get_embedding_dimension` surface. ONNX files live in `cache_dir`.
    A model the export cannot handle (an extra Dense layer, max pooling) runs on torch, with a warning.
    `precision` (Settings.precision) picks fp16 or fp32 weights on torch (`semsearch.devices.torch_precision`)."""
    if backend is Backend.TORCH:
        import torch
        from sentence_transformers import SentenceTransformer

        used = torch_device(device, torch.cuda.is_available())
        model = SentenceTransformer(path, device=used)
        # Both ways: transformers loads weights in the dtype they were saved in, so a model saved in fp16 would
        # otherwise run fp16 when fp32 is asked for (and on a CPU, where torch's fp16 is slow).
        return model.half() if torch_precision(precision, used, backend.value) == "fp16" else model.float()
    torch_precision(precision, device, backend.value)  # an explicit fp16 here is said to be ignored
    onnx_dir = cache_dir / ONNX_DIR
    file_name = INT8_FILE if backend is Backend.ONNX_INT8 else FP32_FILE
    try:
        if not (onnx_dir / file_name).is_file() or not (onnx_dir / CONFIG_FILE).is_file():
            with _exclusive(cache_dir / LOCK_FILE):  # another process preparing it: wait, then use its files
                if not (onnx_dir / CONFIG_FILE).is_file():
                    _export(path, onnx_dir)
                if backend is Backend.ONNX_INT8 and not (onnx_dir / INT8_FILE).is_file():
                    _quantize(onnx_dir)
    except UnsupportedForOnnx as exc:
        log.warning("%s; running %s on torch instead", exc, path)
        return load_model(path, Backend.TORCH, device, cache_dir, precision)
    except OSError as exc:
        raise ModelCacheUnwritable(
            f"the ONNX files of {path} are not in {onnx_dir} and it cannot be written ({exc.strerror or exc}): "
            "set SEMSEARCH_MODEL_CACHE to a writable directory, or to one prepared where it was writable"
        ) from exc
    return OnnxEncoder(onnx_dir, file_name, device)


@contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """One process at a time prepares a model in a cache that every `.db` and process shares: an advisory `fcntl`
    lock on `lock`, which the OS releases if its holder dies. The writes stay atomic (a temporary directory or file
    renamed into place), so where `fcntl` is missing (Windows) two processes at worst both export, and either's
    files are whole."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not on POSIX
        yield
        return
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process preparing the model in %s", lock.parent)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class OnnxEncoder:
    """A sentence-transformers model (transformer → mean/CLS pooling → optional normalize) on ONNX Runtime."""

    def __init__(
        self, directory: Path, file_name: str, device: str | None = None, threads: int | None = INTRA_OP_THREADS
    ) -> None:
        import onnxruntime as ort

        self.directory, self.file_name, self.device, self.threads = directory, file_name, device, threads
        config = json.loads((directory / CONFIG_FILE).read_text())
        self.pooling: str = config["pooling"]
        self.normalize: bool = config["normalize"]
        self.max_seq_length: int = config["max_seq_length"]
        self.dim: int = config["dim"]
        self.tokenizer = _load_tokenizer(directory)
        # Calls may come from several threads at once (concurrent queries): a fast tokenizer keeps its padding and
        # truncation mode as shared state, so each call borrows a copy of its own from this pool. A pool, not one
        # copy per thread: a server's request threads come and go, and a copy costs ~45 ms of CPU.
        self._tokenizers: queue.SimpleQueue = queue.SimpleQueue()
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        if not SPIN_WAITING_THREADS:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = onnx_providers(device, ort.get_available_providers())
        self.session = ort.InferenceSession(str(directory / file_name), options, providers=providers)
        check_session(device, self.session.get_providers())
        self.input_names = {i.name for i in self.session.get_inputs()}
        # int8 activations are quantised with one scale per run, taken over the whole batch (padding included), so
        # in a batch a text's vector would depend on its companions (cosine 0.991 to its lone vector). One text per
        # run keeps vectors batch-independent and pads nothing; measured here it is as fast as batches of 64.
        self.one_text_per_run = file_name != FP32_FILE

    def single_threaded(self) -> OnnxEncoder:
        """The same graph in a session of one intra-op thread, for queries. A query is ~20 tokens: splitting one
        run across cores saves nothing (5.1 ms on one thread, 5.3 ms on two) and costs a third more CPU, while two
        single-threaded runs side by side serve twice the queries (benchmarks/serving.py, docs/benchmarks/
        throughput.md). Ingest keeps the all-core session: a 256-token chunk does gain from it. The second session costs
        ~70 MB of memory per model (ONNX Runtime's prepared int8 graph), once per process."""
        if self.threads == 1:
            return self
        return OnnxEncoder(self.directory, self.file_name, self.device, threads=1)

    @contextmanager
    def _tokenizer(self) -> Iterator[Any]:
        """A copy of the tokenizer no other call is using (made when every copy is busy), returned afterwards."""
        try:
            tokenizer = self._tokenizers.get_nowait()
        except queue.Empty:
            tokenizer = copy.deepcopy(self.tokenizer)
        try:
            yield tokenizer
        finally:
            self._tokenizers.put(tokenizer)

    def get_embedding_dimension(self) -> int:
        return self.dim

    def encode(
        self,
        texts: list[str],
        batch_size: int = Settings.default("batch_size"),
        normalize_embeddings: bool = False,
        prompt: str | None = None,
        **_: Any,
    ) -> np.ndarray:
        """(n, dim) float32 embeddings, normalised if the model normalises or `normalize_embeddings` asks, as in
        SentenceTransformer.encode. Texts are batched by length (less padding) and come back in input order.
        `prompt` is put before each text before tokenising, as SentenceTransformer.encode does."""
        if prompt:
            texts = [prompt + text for text in texts]
        if self.one_text_per_run:
            batch_size = 1
        order = np.argsort([-len(text) for text in texts], kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._forward([texts[i] for i in idx], self.normalize or normalize_embeddings)
        return out

    def _forward(self, texts: list[str], normalize: bool) -> np.ndarray:
        with self._tokenizer() as tokenizer:
            enc = tokenizer(
                texts, padding=True, truncation=True, max_length=self.max_seq_length, return_tensors="np", verbose=False
            )
        feeds = {name: enc[name].astype(np.int64) for name in self.input_names if name in enc}
        if "token_type_ids" in self.input_names and "token_type_ids" not in feeds:
            feeds["token_type_ids"] = np.zeros_like(enc["input_ids"], dtype=np.int64)
        hidden = self.session.run(None, feeds)[0]
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = enc["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        if normalize:
            pooled = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.astype(np.float32)


def _load_tokenizer(directory: Path) -> Any:
    """The tokenizer saved beside the graphs, as its own class (the one `tokenizer_config.json` names, the class
    AutoTokenizer would pick). AutoTokenizer itself imports transformers' model configuration code, and with it torch
    (~1.5 s of CPU per process start); a tokenizer class alone does not. A saved config without that name (or a
    class this transformers lacks) goes through AutoTokenizer."""
    import transformers

    config = directory / "tokenizer_config.json"
    name = json.loads(config.read_text()).get("tokenizer_class") if config.is_file() else None
    tokenizer_class = getattr(transformers, name, None) if isinstance(name, str) else None
    if tokenizer_class is None:
        tokenizer_class = transformers.AutoTokenizer
    return tokenizer_class.from_pretrained(str(directory))


def _export(path: str, target: Path) -> None:
    """Export the model's transformer to `target/model.onnx` with its tokenizer and pooling config. Written to a
    temporary directory and renamed into place, so a crash or a concurrent first start never leaves half a model."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(path, device="cpu").float()  # fp32 graphs, whatever dtype the weights were saved in
    pooling, normalize = _pipeline(model)
    log.info("exporting %s to ONNX in %s (once)", path, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-", ignore_cleanup_errors=True) as tmp:
        transformer = model[0].auto_model.eval()
        # Eager attention exports as plain MatMul/Softmax, the pattern ONNX Runtime fuses into one Attention op
        # (the default SDPA exports a graph it cannot fuse). Same weights, same numbers.
        if hasattr(transformer, "set_attn_implementation"):
            transformer.set_attn_implementation("eager")
        sample = model.tokenizer(["a short text", "a somewhat longer text to pad"], padding=True, return_tensors="pt")
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

        class Hidden(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.transformer = transformer

            def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
                return self.transformer(**dict(zip(names, inputs, strict=True))).last_hidden_state

        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about shapes fixed at export; the axes stay dynamic
            torch.onnx.export(
                Hidden(),
                tuple(sample[n] for n in names),
                str(Path(tmp) / FP32_FILE),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
                opset_version=17,
                dynamo=False,
            )
        _fuse(Path(tmp) / FP32_FILE, transformer.config, {n: sample[n].numpy() for n in names})
        model.tokenizer.save_pretrained(tmp)
        config = {
            "pooling": pooling,
            "normalize": normalize,
            "max_seq_length": int(model.max_seq_length),
            "dim": int(model.get_embedding_dimension()),
        }
        (Path(tmp) / CONFIG_FILE).write_text(json.dumps(config))
        try:
            Path(tmp).rename(target)
        except OSError:
            if not (target / CONFIG_FILE).is_file():  # someone else won the race: keep theirs
                raise


def _fuse(path: Path, config: Any, sample: dict[str, np.ndarray]) -> None:
    """Rewrite the graph at `path` with ONNX Runtime's BERT fusions (Attention, BiasGelu, SkipLayerNormalization,
    EmbedLayerNormalization): on 2 cores 160-token chunks encode ~1.3x faster in fp32 and ~2x in int8, and a lone
    query in 4 ms instead of 5.6. The fused graph is kept only if it gives the same hidden states on a sample;
    an architecture the optimizer does not understand keeps the plain export."""
    import onnxruntime as ort
    from onnxruntime.transformers.optimizer import optimize_model

    fused_path = path.with_name("fused.onnx")
    try:
        fused = optimize_model(
            str(path),
            model_type="bert",
            num_heads=int(getattr(config, "num_attention_heads", 0) or 0),
            hidden_size=int(getattr(config, "hidden_size", 0) or 0),
            opt_level=1,  # graph fusions only: the saved file stays portable across CPUs
        )
        fused.save_model_to_file(str(fused_path))
        plain, candidate = (
            ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, sample)[0]
            for p in (path, fused_path)
        )
    except Exception as exc:  # the optimizer's failures are many and undocumented; the plain graph is correct
        log.warning("ONNX fusion failed (%s); keeping the unfused graph", exc)
        fused_path.unlink(missing_ok=True)
        return
    if plain.shape == candidate.shape and np.allclose(plain, candidate, atol=1e-4):
        os.replace(fused_path, path)
    else:
        log.warning("the fused ONNX graph changed the model's output; keeping the unfused graph")
        fused_path.unlink(missing_ok=True)


def _pipeline(model: SentenceTransformer) -> tuple[str, bool]:
    """(pooling mode, normalize) for a transformer → pooling → [normalize] model; refuse anything else."""
    modules = list(model)
    kinds = [type(m).__name__ for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or kinds[2:] not in ([], ["Normalize"]):
        raise UnsupportedForOnnx(f"ONNX export supports transformer + pooling (+ normalize) models, not {kinds}")
    mode = str(getattr(modules[1], "pooling_mode", None) or modules[1].get_pooling_mode_str())
    if mode not in ("mean", "cls"):
        raise UnsupportedForOnnx(f"ONNX export supports mean or CLS pooling, not {mode!r}")
    return mode, kinds[2:] == ["Normalize"]


def _quantize(onnx_dir: Path) -> None:
    """Dynamic int8 quantisation of the fused fp32 graph's MatMul and Attention weights, per channel (activations
    are quantised at run time). Per-tensor scales, or quantising the embedding table too, cost accuracy: on README
    lines the mean cosine to fp32 vectors fell from 0.992 to 0.950."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    log.info("quantising %s to int8 (once)", onnx_dir)
    with tempfile.NamedTemporaryFile(dir=onnx_dir, prefix=".quantize-", suffix=".onnx", delete=False) as tmp:
        partial = Path(tmp.name)
    try:
        quantize_dynamic(
            onnx_dir / FP32_FILE,
            partial,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul", "Attention"],
            # the fused ops are in Microsoft's domain, where shape inference cannot type their outputs
            extra_options={"DefaultTensorType": TensorProto.FLOAT},
        )
        os.replace(partial, onnx_dir / INT8_FILE)
    finally:
        partial.unlink(missing_ok=True)
