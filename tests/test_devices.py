"""`SEMSEARCH_DEVICE`: the ONNX backends use onnxruntime's CUDA provider where there is one, and a device that
cannot be used is said once, clearly, never silently ignored (no GPU here: the selection is tested as a function,
and the warning through a real model load)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from semsearch import devices
from semsearch.devices import CPU_PROVIDER, CUDA_PROVIDER, onnx_providers
from semsearch.embedder import Embedder
from semsearch.settings import Settings

WITH_CUDA = [CUDA_PROVIDER, CPU_PROVIDER]


@pytest.fixture(autouse=True)
def _nothing_said_yet() -> None:
    devices._said.clear()


@pytest.mark.parametrize(
    "device, available, providers",
    [
        (None, WITH_CUDA, [CPU_PROVIDER]),
        ("cpu", WITH_CUDA, [CPU_PROVIDER]),
        ("cuda", WITH_CUDA, [(CUDA_PROVIDER, {"device_id": 0}), CPU_PROVIDER]),
        ("cuda:1", WITH_CUDA, [(CUDA_PROVIDER, {"device_id": 1}), CPU_PROVIDER]),
        ("cuda", [CPU_PROVIDER], [CPU_PROVIDER]),
        ("mps", WITH_CUDA, [CPU_PROVIDER]),
    ],
)
def test_the_device_selects_the_onnx_providers(device: str | None, available: list[str], providers: list) -> None:
    assert onnx_providers(device, available) == providers


def test_a_gpu_without_the_cuda_provider_is_said_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="semsearch.devices"):
        for _ in range(3):
            onnx_providers("cuda", [CPU_PROVIDER])
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1
    assert "SEMSEARCH_DEVICE=cuda" in warnings[0] and "onnxruntime-gpu" in warnings[0] and "CPU" in warnings[0]


def test_the_default_backend_warns_and_runs_on_the_cpu_when_cuda_is_asked_for(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import onnxruntime

    if CUDA_PROVIDER in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA: nothing to warn about")
    settings = Settings(milvus_uri=str(tmp_path / "m.db"), device="cuda", _env_file=None)
    with caplog.at_level(logging.WARNING, logger="semsearch.devices"):
        embedder = Embedder.load(settings)
    assert embedder.embed_queries(["otters"]).shape == (1, embedder.dim)
    assert any("SEMSEARCH_DEVICE=cuda" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "precision, device, backend, used",
    [
        ("auto", "cuda", "torch", "fp16"),
        ("auto", "cuda:1", "torch", "fp16"),
        ("auto", None, "torch", "fp32"),
        ("auto", "cuda", "onnx-int8", "fp32"),
        ("fp32", "cuda", "torch", "fp32"),
        ("fp16", "cuda", "torch", "fp16"),
    ],
)
def test_auto_precision_is_fp16_only_for_torch_on_cuda(
    precision: str, device: str | None, backend: str, used: str
) -> None:
    assert devices.torch_precision(precision, device, backend) == used


def test_fp16_that_cannot_be_honoured_runs_fp32_and_says_why_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="semsearch.devices"):
        for _ in range(2):
            assert devices.torch_precision("fp16", "cpu", "torch") == "fp32"
            assert devices.torch_precision("fp16", "cuda", "onnx") == "fp32"
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 2
    assert "needs a CUDA device" in warnings[0] and "SEMSEARCH_BACKEND=onnx" in warnings[1]


def test_a_torch_model_asked_for_fp16_on_the_cpu_loads_in_fp32_and_embeds(tmp_path: Path) -> None:
    settings = Settings(milvus_uri=str(tmp_path / "m.db"), backend="torch", precision="fp16", _env_file=None)
    embedder = Embedder.load(settings)
    assert next(embedder.model.parameters()).dtype.is_floating_point
    assert str(next(embedder.model.parameters()).dtype) == "torch.float32"
    assert embedder.embed_queries(["otters"]).shape == (1, embedder.dim)


def test_a_model_saved_in_fp16_runs_in_fp32_unless_fp16_is_asked_for(tmp_path: Path) -> None:
    """transformers loads weights in their saved dtype: fp16 files (as carried to a GPU machine, or as many models
    ship) must not make `precision=fp32` (or auto on a CPU) run in fp16."""
    Embedder.load(Settings(backend="torch", _env_file=None)).model.half().save(str(tmp_path / "fp16"))
    settings = Settings(model=str(tmp_path / "fp16"), backend="torch", precision="fp32", _env_file=None)
    embedder = Embedder.load(settings)
    assert str(next(embedder.model.parameters()).dtype) == "torch.float32"
    assert embedder.embed_queries(["otters"]).shape == (1, embedder.dim)
