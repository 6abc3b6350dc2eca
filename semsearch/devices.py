"""Which device the model runs on (`SEMSEARCH_DEVICE`), and one clear warning when the requested one cannot be used.

The ONNX backends (the default) run on ONNX Runtime's CPU provider, or on its CUDA provider when
`SEMSEARCH_DEVICE=cuda` (or `cuda:N`) and `onnxruntime-gpu` is installed (in place of `onnxruntime`). A device that
cannot be used is never silently ignored: the model then runs on the CPU, and the log says why, once per reason.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("semsearch.devices")

CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"

#: Warnings already given in this process: each is said once, not per model load or engine.
_said: set[str] = set()


def warn_once(message: str) -> None:
    if message not in _said:
        _said.add(message)
        log.warning("%s", message)


def onnx_providers(device: str | None, available: Sequence[str]) -> list[Any]:
    """ONNX Runtime providers for `device`, given the providers this onnxruntime has (`get_available_providers`).

    None or "cpu": the CPU. "cuda" / "cuda:N": CUDA on GPU N (the CPU behind it for nodes CUDA lacks, such as some
    int8 ones), or, without the CUDA provider, the CPU and a warning. Any other device: the CPU and a warning."""
    if device is None or device == "cpu":
        return [CPU_PROVIDER]
    if device == "cuda" or device.startswith("cuda:"):
        if CUDA_PROVIDER in available:
            gpu = int(device.partition(":")[2] or 0)
            return [(CUDA_PROVIDER, {"device_id": gpu}), CPU_PROVIDER]
        warn_once(
            f"SEMSEARCH_DEVICE={device} asks for a GPU, but this onnxruntime has no CUDA provider (it has: "
            f"{', '.join(available)}); the model runs on the CPU. Install onnxruntime-gpu "
            "in place of onnxruntime (pip uninstall onnxruntime && pip install onnxruntime-gpu) to use the GPU."
        )
        return [CPU_PROVIDER]
    warn_once(
        f"SEMSEARCH_DEVICE={device} cannot be used by the ONNX backends (they run on cpu or cuda); the model runs "
        "on the CPU. SEMSEARCH_BACKEND=torch runs on other torch devices."
    )
    return [CPU_PROVIDER]


def check_session(device: str | None, used: Sequence[str]) -> None:
    """Warn if a CUDA session came up on the CPU alone (onnxruntime-gpu without a usable GPU, CUDA or cuDNN)."""
    if device is not None and device.startswith("cuda") and CUDA_PROVIDER not in used:
        warn_once(
            f"SEMSEARCH_DEVICE={device}: onnxruntime could not start its CUDA provider (no usable GPU, or CUDA / "
            "cuDNN libraries missing); the model runs on the CPU."
        )


def torch_device(device: str | None, cuda_available: bool) -> str | None:
    """The device for a torch model: `device`, except CUDA where torch has none (then the CPU, and a warning)."""
    if device is not None and device.startswith("cuda") and not cuda_available:
        warn_once(
            f"SEMSEARCH_DEVICE={device} asks for a GPU, but torch sees no CUDA device; the model runs on the CPU."
        )
        return "cpu"
    return device


def torch_precision(precision: str, device: str | None, backend: str) -> str:
    """The float width the model runs in: "fp16" or "fp32".

    fp16 halves memory traffic on a GPU, where matrix units run it at twice fp32's rate; on a CPU torch has no fast
    fp16 kernels (it is slower than fp32), and the ONNX graphs are fp32 or int8. So "auto" means fp16 on CUDA with
    torch, else fp32, and an explicit "fp16" that cannot be honoured runs fp32 with one warning."""
    on_cuda = device is not None and device.startswith("cuda")
    if precision == "auto":
        return "fp16" if on_cuda and backend == "torch" else "fp32"
    if precision == "fp16" and backend != "torch":
        warn_once(
            f"SEMSEARCH_PRECISION=fp16 applies to the torch backend; SEMSEARCH_BACKEND={backend} runs its own "
            "graph (fp32 or int8)."
        )
        return "fp32"
    if precision == "fp16" and not on_cuda:
        warn_once(
            f"SEMSEARCH_PRECISION=fp16 needs a CUDA device (torch has no fast fp16 kernels on {device or 'the CPU'}); "
            "the model runs in fp32."
        )
        return "fp32"
    return precision
