"""Data-parallel training when ``torch.distributed`` is initialised (DDP: gloo on CPUs, NCCL
with one GPU a rank).

Every rank computes the same epoch order and takes its share of each global batch, so the
examples of a step are those of a single-process step. Each rank's loss is scaled by its share
of the global batch, so DDP's gradient average equals the single-process batch mean. With
dropout 0 the results are those of one process up to float summation order; with dropout each
rank draws its own masks. Evaluation is sharded and the predictions are gathered on every rank,
so all ranks take the same early-stopping decisions. Every rank calls ``report`` with the same
metrics (a caller such as Ray Train needs every rank to report); only rank 0 writes files.
Each rank's device is resolved once, in ``Workers.current`` (see emotrain/device.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import distributed as dist

from emotrain.device import CPU, DeviceChoice, resolve_device


@dataclass(frozen=True)
class Workers:
    rank: int = 0
    world: int = 1
    device: torch.device = CPU

    @classmethod
    def current(cls, device: DeviceChoice = "cpu") -> Workers:
        """This process's rank and its ``device`` (``auto``: its GPU when it has one)."""
        resolved = resolve_device(device)
        if dist.is_available() and dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size(), resolved)
        return cls(device=resolved)

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.world > 1

    def shard(self, rows: list[int]) -> tuple[list[int], float]:
        """This rank's rows of a global batch and the factor for its mean loss. A rank left
        without rows still runs one row with weight 0, so every rank takes every step."""
        mine = rows[self.rank :: self.world]
        if not mine:
            return rows[:1], 0.0
        return mine, len(mine) * self.world / len(rows)

    def gather_rows(self, local: np.ndarray, total: int) -> np.ndarray:
        """Reassemble rows that were split ``rank::world`` across the ranks."""
        if not self.parallel:
            return local
        parts: list[np.ndarray | None] = [None] * self.world
        dist.all_gather_object(parts, local)
        merged = np.empty((total, *local.shape[1:]), dtype=local.dtype)
        for rank, part in enumerate(parts):
            merged[rank :: self.world] = part
        return merged

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        if not self.parallel:
            return model
        if self.device.type == "cuda":
            return torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[self.device.index], output_device=self.device.index
            )
        return torch.nn.parallel.DistributedDataParallel(model)
