"""The training configuration: everything ``train`` needs, validated by pydantic."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from emotrain.data.preprocess import PreprocessConfig
from emotrain.data.semeval import SemEvalLanguage


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Strict):
    dataset: Literal["semeval"] = "semeval"
    root: Path | None = Field(
        default=None,
        description="SemEval data root; None uses the demo data shipped inside emotrain",
    )
    language: SemEvalLanguage = "english"
    train_limit: int | None = Field(default=None, ge=1, description="keep the first N train rows")
    eval_limit: int | None = Field(default=None, ge=1, description="keep the first N dev/test rows")
    preprocess: PreprocessConfig = PreprocessConfig()


class EncoderConfig(_Strict):
    """A hub name or local path (``name``), or a tiny randomly initialised encoder (``tiny``)."""

    name: str | None = None
    tiny: Literal["bert", "roberta"] | None = None
    hidden_size: int = Field(default=64, ge=8)
    num_layers: int = Field(default=2, ge=1)
    num_heads: int = Field(default=2, ge=1)
    intermediate_size: int = Field(default=256, ge=8)
    vocab_size: int = Field(default=4000, ge=300, description="tiny only: tokenizer vocabulary")

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.name is None) == (self.tiny is None):
            raise ValueError("set exactly one of 'name' (hub name or path) and 'tiny'")
        if self.tiny and self.hidden_size % self.num_heads:
            raise ValueError("hidden_size must be a multiple of num_heads")
        return self


class ModelConfig(_Strict):
    kind: Literal["demux"] = "demux"
    encoder: EncoderConfig = EncoderConfig(tiny="bert")
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)
    max_length: int = Field(default=64, ge=16, description="tokens, prompt included")


class LossConfig(_Strict):
    """``L = (1 - alpha) * BCE + alpha * local``."""

    local: Literal["none", "intra"] = "none"
    weights: Literal["one", "rho"] = Field(
        default="one", description="pair weights: all ones, or from the train labels' correlation"
    )
    alpha: float = Field(default=0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _alpha_needs_local(self) -> Self:
        if self.local == "none" and self.alpha > 0:
            raise ValueError(
                "alpha > 0 needs a local loss (local: intra); with none it only scales BCE"
            )
        return self


class OptimConfig(_Strict):
    lr: float = Field(default=2e-5, gt=0)
    head_lr: float | None = Field(default=None, gt=0, description="None: same as lr")
    weight_decay: float = Field(default=0.0, ge=0)
    warmup_ratio: float = Field(default=0.1, ge=0, le=1)
    batch_size: int = Field(default=32, ge=1)
    max_epochs: int = Field(default=20, ge=1)
    patience: int = Field(default=5, ge=1)


class EvalConfig(_Strict):
    threshold: float = Field(default=0.5, gt=0, lt=1)
    zero_division: Literal[0, 1] = Field(
        default=0, description="score of an empty prediction vs an empty gold row (SpanEmo used 0)"
    )
    early_stop_metric: Literal["jaccard", "micro_f1", "macro_f1"] = "jaccard"
    batch_size: int = Field(default=128, ge=1)


class TrainConfig(_Strict):
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
