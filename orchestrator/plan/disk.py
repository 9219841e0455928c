"""The checkpoint disk a sweep needs, estimated for ``--dry-run`` from the encoder's size.

A trial's checkpoint is its float32 weights, AdamW's two moments and the best weights: four
copies of the parameters. It exists twice while the trial runs (the trial's own state folder
and the copy Tune persists), and is deleted when the trial completes (tune/tuner.py), so the
peak is the trials running at once, not the sweep's length.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoConfig, AutoModel, BertConfig, PretrainedConfig, RobertaConfig

from emotrain.models.config import EncoderConfig
from emotrain.models.encoder import resolve_encoder_name
from orchestrator.spec.sweep import Sweep

_COPIES = 4 * 2  # (weights, two AdamW moments, best weights) x (state folder, persisted copy)


def checkpoint_bytes(sweep: Sweep) -> int | None:
    """The largest cell's checkpoint bytes per running trial; None when an encoder's size
    cannot be known here (a hub name not downloaded yet)."""
    sizes = []
    for cell in sweep.cells:
        params = encoder_parameters(sweep.train_config(cell, {}, sweep.spec.seeds[0]).model.encoder)
        if params is None:
            return None
        sizes.append(params * 4 * _COPIES)
    return max(sizes)


def encoder_parameters(config: EncoderConfig) -> int | None:
    """The encoder's parameter count, from its config alone (no weights are loaded)."""
    model_config = _tiny_config(config) if config.tiny else _named_config(config.name or "")
    if model_config is None:
        return None
    with torch.device("meta"):  # shapes only: nothing is allocated
        model = AutoModel.from_config(model_config)
    return sum(p.numel() for p in model.parameters())


def describe_disk(sweep: Sweep, running: int) -> str:
    """One line for the dry run: per trial and at the peak of ``running`` trials at once."""
    per_trial = checkpoint_bytes(sweep)
    if per_trial is None:
        return "checkpoints: size unknown (an encoder is a hub name, not a local folder)"
    return (
        f"checkpoints: about {_human(per_trial)} per running trial, {_human(per_trial * running)} "
        f"at the peak of {running} trial(s) at once; a completed trial's are deleted"
    )


def _tiny_config(config: EncoderConfig) -> PretrainedConfig:
    sizes = {
        "vocab_size": config.vocab_size,  # the tokenizer's at most
        "hidden_size": config.hidden_size,
        "num_hidden_layers": config.num_layers,
        "num_attention_heads": config.num_heads,
        "intermediate_size": config.intermediate_size,
    }
    return BertConfig(**sizes) if config.tiny == "bert" else RobertaConfig(**sizes)


def _named_config(name: str) -> PretrainedConfig | None:
    """A local folder's config; a hub name is not looked up (a dry run stays offline)."""
    source = Path(resolve_encoder_name(name))
    if not (source / "config.json").is_file():
        return None
    return AutoConfig.from_pretrained(source, trust_remote_code=False)


def _human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000:
            return f"{size:.3g} {unit}"
        size /= 1000
    return f"{size:.3g} TB"
