"""The training configuration: everything ``train`` needs, validated by pydantic."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, model_validator

from emotrain.choices import CompileMode, DeviceChoice, Precision
from emotrain.data.config import DataConfig
from emotrain.data.readers import dataset_reader
from emotrain.emotions import name_list_problem
from emotrain.losses.config import LossConfig
from emotrain.models.config import ModelConfig
from emotrain.section import Section

# How a run executes, not what it learns: not part of the config key.
RUNTIME_FIELDS = {"threads", "output_dir", "cache_dir", "device"}
# Options whose default changed after keys were first stored, with the value every earlier run
# had. The key compares these with that value rather than with today's default, so a run under
# the new default gets a key of its own and an earlier results folder is never taken for it,
# while a run that sets the earlier value keeps the key it always had.
KEY_BASELINES: dict[tuple[str, ...], Any] = {
    ("loss", "reduction"): "pair_mean",
    ("optim", "fused"): False,
    ("model", "top_layer_on_prompt"): False,
    ("model", "fast_dropout"): False,
    ("model", "padding_free"): False,
    ("data", "preprocess", "hashtag_words"): False,
    ("data", "preprocess", "emoji_language"): {"english": "en", "spanish": "en", "arabic": "en"},
}
# NumPy refuses any other seed, and it would only fail once a trial has started.
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]


class OptimConfig(Section):
    """AdamW with linear warm-up and decay, early stopping, precision and compilation."""

    lr: float = Field(default=2e-5, gt=0, description="peak learning rate of AdamW")
    head_lr: float | None = Field(default=None, gt=0, description="None: same as lr")
    weight_decay: float = Field(default=0.0, ge=0, description="AdamW weight decay")
    warmup_ratio: float = Field(
        default=0.1, ge=0, le=1, description="share of the steps with linear warm-up, then decay"
    )
    batch_size: int = Field(default=32, ge=1, description="training examples per step")
    max_epochs: int = Field(
        default=20, ge=1, description="epochs at most (stage test: exactly this many)"
    )
    patience: int = Field(
        default=5, ge=1, description="evaluations without a better dev score before stopping"
    )
    # Opt-in: it changes which examples share a batch (docs/design.md#speed-options: a paired
    # comparison in the converged study decides its default).
    group_by_length: bool = Field(
        default=False,
        description="batches of similar token length (less padding, faster): each epoch's "
        "shuffled order is cut into mega-batches of up to 50 batches, each sorted by length, "
        "and the batches are then shuffled; changes which examples share a batch",
    )
    # On by default and part of the config key (KEY_BASELINES): float rounding only.
    fused: bool = Field(
        default=True,
        description="the fused AdamW kernel on the CPU as well (CUDA always uses it): faster "
        "updates, equal up to float rounding (the last bits differ)",
    )
    # Part of the config key: bf16 changes the numbers. Checked against the device at run time.
    precision: Precision = Field(
        default="fp32",
        description="fp32, or bf16 autocast of the forward pass (CUDA only; the loss stays fp32)",
    )
    # Part of the config key: compiled kernels round differently and draw other dropout masks.
    compile: CompileMode = Field(
        default="off",
        description="torch.compile the training forward and backward (evaluation stays eager): "
        "default fuses kernels; reduce-overhead also replays each step as a CUDA graph, with "
        "batches padded to model.max_length (CUDA only). For GPU trials, which eager PyTorch "
        "leaves waiting on the host; the first steps compile",
    )


class EvalConfig(Section):
    """How dev and test are scored, and how often dev is."""

    threshold: float = Field(
        default=0.5, gt=0, lt=1, description="an emotion is predicted where its sigmoid exceeds it"
    )
    zero_division: Literal[0, 1] = Field(
        default=0, description="score of an empty prediction vs an empty gold row (SpanEmo used 0)"
    )
    early_stop_metric: Literal["jaccard", "micro_f1", "macro_f1"] = Field(
        default="jaccard", description="the dev metric early stopping and the best epoch follow"
    )
    every_steps: int | None = Field(
        default=None, ge=1, description="evaluate dev every K optimiser steps (None: every epoch)"
    )
    batch_size: int = Field(default=128, ge=1, description="evaluation examples per batch")


class TransferConfig(Section):
    """Zero-shot settings of the transfer paper: what is left out of training and what the
    evaluation scores instead."""

    exclude_emotions: list[str] = Field(
        default=[], description="left out of the training prompt and labels, still evaluated"
    )
    eval_clusters: Path | None = Field(
        default=None, description="evaluate on clusters: a JSON file {cluster: [member emotions]}"
    )
    cluster_pooling: Literal["mean", "max"] = Field(
        default="mean", description="a cluster's score: mean of its members' tokens, or max logit"
    )
    freeze_emotion_embeddings: bool = Field(
        default=False, description="keep the emotion words' input embeddings at their start values"
    )
    eval_data: DataConfig | None = Field(
        default=None,
        description="annotation-format transfer: score test on this dataset's test split instead, "
        "on its own emotion words or through eval_clusters (whose members are then its emotions); "
        "early stopping stays on data's dev split, scored on the training emotions",
    )


class TrainConfig(Section):
    """Everything one training run needs (docs/design.md#layering)."""

    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    loss: LossConfig = LossConfig()
    optim: OptimConfig = OptimConfig()
    eval: EvalConfig = EvalConfig()
    transfer: TransferConfig = TransferConfig()
    stage: Literal["dev", "test"] = Field(
        default="dev",
        description="dev: train on train, early-stop on dev, test with the best weights; test "
        "(the protocol's second stage): train on train+dev for optim.max_epochs, score test",
    )
    seed: Seed = Field(
        default=0, description="seeds Python, NumPy and torch before the model is built"
    )
    threads: int | None = Field(default=None, ge=1, description="torch threads; runtime only")
    cache_dir: Path | Literal["off"] | None = Field(
        default=None,
        description="tokenized-data cache; None: $EMOTRAIN_CACHE or ~/.cache/emotrain; off: none",
    )
    output_dir: Path | None = Field(
        default=None, description="save the best model here (runtime only, not part of the key)"
    )
    device: DeviceChoice = Field(
        default="auto",
        description="auto: this process's GPU when CUDA is available (not under gloo), else the "
        "CPU; cuda fails without a GPU; runtime only",
    )

    @model_validator(mode="after")
    def _known_excluded_emotions(self) -> Self:
        excluded = self.transfer.exclude_emotions
        if excluded and (problem := name_list_problem(excluded)):
            raise ValueError(f"transfer.exclude_emotions: {problem}")
        # Most datasets' emotions come from their files: train checks those when it reads them.
        reader = dataset_reader(self.data.dataset)
        if reader.emotions is None:
            return self
        if unknown := [name for name in excluded if name not in reader.emotions]:
            raise ValueError(
                f"transfer.exclude_emotions: unknown emotion {', '.join(unknown)}; "
                f"{reader.title}'s are {', '.join(reader.emotions)}"
            )
        if set(excluded) == set(reader.emotions):
            raise ValueError("transfer.exclude_emotions: every emotion is excluded")
        return self

    @model_validator(mode="after")
    def _model_supports_the_rest(self) -> Self:
        if self.model.kind != "memo":
            return self
        if self.loss.uses_representations:
            raise ValueError(
                "loss: representation losses (local_on: representations, global_loss) need "
                "per-emotion representations: model.kind demux"
            )
        transfer = self.transfer
        zero_shot = transfer.eval_clusters, transfer.eval_data
        if any(v is not None for v in zero_shot) or transfer.freeze_emotion_embeddings:
            raise ValueError(
                "transfer: clusters, eval_data and frozen emotion embeddings need Demux"
            )
        if transfer.exclude_emotions and self.model.memo_head == "classifier":
            raise ValueError(
                "transfer.exclude_emotions: the MEmo classifier has one output per trained "
                "emotion; use memo_head: mlm or model.kind: demux"
            )
        return self

    def identity(self) -> dict[str, Any]:
        """What defines what is learned: the options that differ from their defaults (from
        their KEY_BASELINES value where the default changed), without the seed and the runtime
        fields (as the original's "active parameters"). A new option with a default therefore
        leaves every stored key valid. The loss reduction counts only where a correlation loss
        is trained: it changes nothing else."""
        identity = self.model_dump(
            mode="json", exclude=RUNTIME_FIELDS | {"seed"}, exclude_defaults=True
        )
        full = self.model_dump(mode="json")
        for path, baseline in KEY_BASELINES.items():
            value = _at(full, path)
            inert = path == ("loss", "reduction") and not self.loss.has_correlation_loss
            _put(identity, path, None if inert or value == baseline else value)
        return identity

    def config_key(self) -> str:
        return stable_hash(self.identity())

    def trial_key(self) -> str:
        return stable_hash({**self.identity(), "seed": self.seed})


def _at(tree: dict[str, Any], path: tuple[str, ...]) -> Any:
    for name in path:
        tree = tree[name]
    return tree


def _put(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set ``tree[path]`` to ``value``, or remove it (and sections left empty) when None."""
    *parents, name = path
    if value is not None:
        for parent in parents:
            tree = tree.setdefault(parent, {})
        tree[name] = value
        return
    chain = [tree]
    for parent in parents:
        if parent not in chain[-1]:
            return
        chain.append(chain[-1][parent])
    chain[-1].pop(name, None)
    for parent, section in zip(reversed(parents), reversed(chain[:-1]), strict=True):
        if section[parent]:
            break
        del section[parent]


def stable_hash(value: Any) -> str:
    """A short hash of a JSON-able value, independent of key order."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
