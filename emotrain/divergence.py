"""A training loss that became NaN or infinite, noticed without a host sync every step.

Reading the loss on the host (``if not torch.isfinite(loss)``) makes the host wait for the
GPU at every step, so the next step cannot be queued while this one runs: 10% of the compiled
bf16 steps' speed on an H100 (README, Performance). The watch instead keeps the first
non-finite loss and where it happened in device tensors, and the training loop reads them
once per evaluation, where the host waits for the device anyway, and before anything is saved,
reported or evaluated. A diverged run so trains on to its next evaluation point, at most an
epoch, and then fails with the same message as before, naming the first bad step.
"""

from __future__ import annotations

import torch

_STEPS = 1 << 32  # the step's place in the packed (epoch, step) code


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message says when."""


class DivergenceWatch:
    def __init__(self, device: torch.device) -> None:
        self._where = torch.full((), -1, dtype=torch.int64, device=device)
        self._loss = torch.zeros((), dtype=torch.float32, device=device)

    def watch(self, loss: torch.Tensor, epoch: int, step: int) -> None:
        """Remember ``loss`` if it is the first non-finite one; queued work only."""
        first = torch.isfinite(loss).logical_not_().logical_and_(self._where < 0)
        self._where = torch.where(first, epoch * _STEPS + step, self._where)
        self._loss = torch.where(first, loss.detach().float(), self._loss)

    def check(self) -> None:
        """Raise ``TrainingDiverged`` for the first non-finite loss watched, if any."""
        where = int(self._where)
        if where >= 0:
            epoch, step = divmod(where, _STEPS)
            raise TrainingDiverged(f"loss is {float(self._loss)} at epoch {epoch}, step {step}")
