"""The training configuration: everything ``train`` needs, validated by pydantic."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import Field

from emotrain.data.config import DataConfig
from emotrain.losses_config import LossConfig
from emotrain.models.config import ModelConfig
from emotrain.section import Section


class OptimConfig(Section):
    lr: float = Field(default=2e-5, gt=0)
    head_lr: float | None = Field(default=None, gt=0, description="None: same as lr")
    weight_decay: float = Field(default=0.0, ge=0)
    warmup_ratio: float = Field(default=0.1, ge=0, le=1)
    batch_size: int = Field(default=32, ge=1)
    max_epochs: int = Field(default=20, ge=1)
    patience: int = Field(default=5, ge=1)


class EvalConfig(Section):
    threshold: float = Field(default=0.5, gt=0, lt=1)
    zero_division: Literal[0, 1] = Field(
        default=0, description="score of an empty prediction vs an empty gold row (SpanEmo used 0)"
    )
    early_stop_metric: Literal["jaccard", "micro_f1", "macro_f1"] = "jaccard"
    batch_size: int = Field(default=128, ge=1)


class TrainConfig(Section):
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    loss: LossConfig = LossConfig()
    optim: OptimConfig = OptimConfig()
    eval: EvalConfig = EvalConfig()
    seed: int = 0
    threads: int | None = Field(default=None, ge=1, description="torch threads; runtime only")

    def identity(self) -> dict[str, Any]:
        """The fields that define what is learned: everything but the seed and the runtime."""
        return self.model_dump(mode="json", exclude={"seed", "threads"})

    def config_key(self) -> str:
        return stable_hash(self.identity())

    def trial_key(self) -> str:
        return stable_hash({**self.identity(), "seed": self.seed})


def stable_hash(value: Any) -> str:
    """A short hash of a JSON-able value, independent of key order."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
