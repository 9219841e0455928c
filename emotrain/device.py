"""Where a run computes (``device: auto|cpu|cuda``) and at which precision (``optim.precision``).

The device is resolved once per run (``Workers.current``). On the CPU nothing here changes a
single operation, so CPU results stay bit-identical to runs made before GPU support: no autocast,
no TF32 switch (``torch.set_float32_matmul_precision`` would also reach oneDNN on the CPU), the
default AdamW. On CUDA: TF32 matmuls, fused AdamW and, with ``bf16``, a bf16-autocast forward.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import distributed as dist

from emotrain.choices import DeviceChoice, Precision

CPU = torch.device("cpu")


def resolve_device(requested: DeviceChoice) -> torch.device:
    """``cuda``: this process's GPU, or a ValueError when there is none; ``auto``: the GPU when
    there is one, except under a gloo process group (the CPU backend here), else the CPU."""
    if requested == "cpu":
        return CPU
    available = torch.cuda.is_available()
    if requested == "cuda" and not available:
        raise ValueError("device: cuda was asked for, but CUDA is not available on this machine")
    if not available or (requested == "auto" and _gloo_group()):
        return CPU
    device = torch.device("cuda", _cuda_index())
    torch.cuda.set_device(device)  # NCCL collectives (all_gather_object) use the current device
    torch.backends.cuda.matmul.allow_tf32 = True  # CUDA only, unlike the global float32 setting
    return device


def check_precision(precision: Precision, device: torch.device) -> None:
    """bf16 autocast is a CUDA feature here: refuse it early and by name anywhere else."""
    if precision != "bf16":
        return
    if device.type != "cuda":
        raise ValueError(f"optim.precision: bf16 needs a CUDA GPU, and this run is on {device}")
    if not torch.cuda.is_bf16_supported():
        name = torch.cuda.get_device_name(device)
        raise ValueError(f"optim.precision: bf16 is not supported by this GPU ({name})")


def forward_precision(
    device: torch.device, precision: Precision
) -> contextlib.AbstractContextManager[Any]:
    """The context of a forward pass: bf16 autocast on CUDA when asked for, else nothing."""
    if device.type == "cuda" and precision == "bf16":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def to_device(values: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    """Tensors and objects with ``.to`` (MemoInputs) moved; anything else (groups) as it is."""
    return {name: value.to(device) if hasattr(value, "to") else value
            for name, value in values.items()}  # fmt: skip


def model_device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def cpu_tensors(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CPU, contiguous copies for safetensors (CPU tensors are returned as they are)."""
    return {name: value.detach().cpu().contiguous() for name, value in state.items()}


def _cuda_index() -> int:
    """Ray Train sets each worker's device before the loop, so the current one is right there;
    torchrun leaves every rank on device 0 and names the GPU by LOCAL_RANK."""
    current = torch.cuda.current_device()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if current == 0 and 0 < local < torch.cuda.device_count():
        return local
    return current


def _gloo_group() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_backend() == "gloo"
