"""``optim.compile``: the training forward and backward through ``torch.compile``.

A GPU trial of the papers' size (32 tweets of at most 64 tokens) is bound by the host: eager
PyTorch spends a step launching several hundred small kernels while the GPU waits.

- ``default``: inductor fuses the element-wise work into fewer, larger kernels. Shapes may
  vary from batch to batch (torch compiles once more, shape-generic, at the second length).
- ``reduce-overhead`` (CUDA only): inductor's kernels recorded once as a CUDA graph and replayed,
  one launch a step. A graph has one shape, so every training batch is padded to
  ``model.max_length`` (the original code's padding); padded positions are masked, so the
  model's function is unchanged.

An epoch's short last batch and evaluation stay eager: the batch would be one more shape to
compile, and evaluation's ``inference_mode`` passes would compile everything a second time.
Compiled kernels round differently and inductor draws dropout masks its own way, so the option
is part of the configuration's identity. The first steps pay the compilation (measured by
``bench/gpu_throughput.py``; the figures are in docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from emotrain.choices import CompileMode


def check_compile(mode: CompileMode, device: torch.device) -> None:
    """CUDA graphs need CUDA: refuse early and by name anywhere else."""
    if mode == "reduce-overhead" and device.type != "cuda":
        raise ValueError(
            f"optim.compile: reduce-overhead replays CUDA graphs and needs a CUDA GPU; "
            f"this run is on {device}"
        )


_compiled_for: str | None = None  # what this process compiled last (see ``compiled``)


class CompileFailed(ValueError):
    """torch.compile could not build the step on this machine (no C++ compiler, no Triton)."""


def _compile_errors() -> tuple[type[Exception], ...]:
    """What torch raises when its backend cannot compile (InductorError wraps inductor's own);
    imported only when something was raised: torch._dynamo adds a second to every import."""
    from torch._dynamo.exc import BackendCompilerFailed
    from torch._inductor.exc import InductorError

    return BackendCompilerFailed, InductorError


def compiled(net: torch.nn.Module, mode: CompileMode, graph_key: str) -> Callable[..., Any]:
    """What the training steps call: ``net`` itself, or compiled (the weights stay its own).
    A compilation that fails at the first step is a one-line ``CompileFailed``.

    ``graph_key`` names what shapes the compiled code: the model, its inputs and precision. A
    process that trains again with the same key (a reused Ray worker's next trial) reuses the
    code it compiled; another key drops it first. Kept, it would hold its CUDA graphs' memory,
    and past torch's recompile limit every model would silently run eager."""
    global _compiled_for
    if mode == "off":
        return net
    if graph_key != _compiled_for:
        torch._dynamo.reset()
        _compiled_for = graph_key
    step = torch.compile(net, mode=mode)

    def forward(*args: Any, **kwargs: Any) -> Any:
        try:
            return step(*args, **kwargs)
        except _compile_errors() as err:
            cause = str(err).strip().splitlines()[0]
            raise CompileFailed(
                f"optim.compile: {mode} could not compile on this machine: {cause}"
            ) from err

    return forward


def padded_length(mode: CompileMode, max_length: int) -> int | None:
    """The token length every training batch is padded to; None: each batch's longest."""
    return max_length if mode == "reduce-overhead" else None


def begin_step(mode: CompileMode) -> None:
    """A new training step: the last step's graph outputs may be overwritten from here on."""
    if mode == "reduce-overhead":
        torch.compiler.cudagraph_mark_step_begin()
