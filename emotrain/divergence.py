"""A training loss that became NaN or infinite, noticed without a host sync every step.

Reading the loss on the host (``if not torch.isfinite(loss)``) makes the host wait for the
GPU at every step, so the next step cannot be queued while this one runs, which slows
CUDA-graph steps (docs/gpus.md). The watch instead keeps the first
non-finite loss and where it happened in device tensors, and the training loop reads them
once per evaluation, where the host waits for the device anyway, and before anything is saved,
reported or evaluated. A diverged run so trains on to its next evaluation point, at most an
epoch, and then fails with the same message as before, naming the first bad step.

Under data parallelism every rank checks at the same step, and the check is collective: the
ranks agree on the first step any of them diverged at, so they all fail there together (a
rank that failed alone would leave the others waiting in the next collective).
"""

from __future__ import annotations

import torch
from torch import distributed as dist

_STEPS = 1 << 32  # the step's place in the packed (epoch, step) code
_NEVER = torch.iinfo(torch.int64).max


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message says when."""


class DivergenceWatch:
    def __init__(self, device: torch.device, parallel: bool = False) -> None:
        self._where = torch.full((), -1, dtype=torch.int64, device=device)
        self._loss = torch.zeros((), dtype=torch.float32, device=device)
        self._parallel = parallel

    def watch(self, loss: torch.Tensor, epoch: int, step: int) -> None:
        """Remember ``loss`` if it is the first non-finite one; queued work only."""
        first = torch.isfinite(loss).logical_not_().logical_and_(self._where < 0)
        self._where = torch.where(first, epoch * _STEPS + step, self._where)
        self._loss = torch.where(first, loss.detach().float(), self._loss)

    def check(self) -> None:
        """Raise ``TrainingDiverged`` for the first non-finite loss watched, if any."""
        where, loss = (
            _agreed(self._where, self._loss) if self._parallel else (self._where, self._loss)
        )
        code = int(where)
        if code >= 0:
            epoch, step = divmod(code, _STEPS)
            raise TrainingDiverged(f"loss is {float(loss)} at epoch {epoch}, step {step}")


def _agreed(where: torch.Tensor, loss: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The first step any rank diverged at, and the sum of the ranks' losses there (non-finite
    like each of them; -1 when no rank diverged)."""
    first = torch.where(where < 0, _NEVER, where)
    dist.all_reduce(first, op=dist.ReduceOp.MIN)
    at_first = torch.where(where == first, loss, 0.0)
    dist.all_reduce(at_first)
    return torch.where(first == _NEVER, -1, first), at_first
