"""Trained models on disk, the Hugging Face way and without pickle.

A model directory holds ``encoder/`` (``save_pretrained`` of the encoder and its tokenizer,
safetensors), ``head.safetensors`` and ``emotrain.json`` (the training config and the emotions
it was trained on). ``load_model(directory)`` rebuilds it in one call.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from emotrain.config import TrainConfig
from emotrain.device import cpu_tensors
from emotrain.models.factory import assemble, load_saved_encoder

FORMAT = 1
MANIFEST = "emotrain.json"


@dataclass
class TrainedModel:
    model: nn.Module  # Demux or Memo
    tokenizer: PreTrainedTokenizerBase
    config: TrainConfig
    emotions: tuple[str, ...]


def save_model(
    directory: Path,
    model: nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    config: TrainConfig,
    emotions: tuple[str, ...],
) -> None:
    """Write into a sibling temporary folder, then swap it in: a reader never sees half a model."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    try:
        model.encoder.save_pretrained(staging / "encoder")
        tokenizer.save_pretrained(staging / "encoder")
        save_file(cpu_tensors(model.head.state_dict()), str(staging / "head.safetensors"))
        manifest = {"format": FORMAT, "config": config.model_dump(mode="json"),
                    "emotions": list(emotions)}  # fmt: skip
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        _swap_in(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def load_model(directory: Path) -> TrainedModel:
    directory = Path(directory)
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{directory}: not an emotrain model (no {MANIFEST})")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{manifest_path}: unsupported format {manifest.get('format')!r}")
    config = TrainConfig.model_validate(manifest["config"])
    try:
        encoder = load_saved_encoder(config.model, directory / "encoder")
        head = load_file(str(directory / "head.safetensors"))
    except SafetensorError as err:  # not a ValueError: callers would show a traceback
        raise ValueError(f"{directory}: damaged weights ({err})") from None
    tokenizer = AutoTokenizer.from_pretrained(directory / "encoder", trust_remote_code=False)
    model = assemble(config.model, encoder, len(manifest["emotions"]))
    model.head.load_state_dict(head)
    model.eval()
    return TrainedModel(model, tokenizer, config, tuple(manifest["emotions"]))


def _swap_in(staging: Path, directory: Path) -> None:
    if directory.exists():
        retired = directory.with_name(f".{directory.name}.old")
        shutil.rmtree(retired, ignore_errors=True)
        directory.rename(retired)
        staging.rename(directory)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        staging.rename(directory)
