"""Resumable training state, written after every epoch: a failed run continues from its last
epoch and ends exactly as an uninterrupted run with the same seed would.

``<state_dir>/latest/`` holds ``state.pt`` (model, optimiser, scheduler and random-generator
states; tensors and plain values only, read back with ``weights_only=True``), ``best.safetensors``
(the best weights so far) and ``progress.json`` (records, best epoch, patience counters). It is
replaced atomically, so only the latest state and the best weights are ever kept.

A state saved from a GPU holds the GPU's random-generator state too, and reads back on any
machine: tensors load onto the CPU, and ``load_state_dict`` copies them to the model's device.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from emotrain.device import cpu_tensors

LATEST = "latest"
RETIRED = ".latest.old"  # the previous state, during the swap only
FILES = "files"  # progress.json's record of the other files' sizes


@dataclass
class TrainingState:
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    shuffle: torch.Tensor  # the epoch-order generator's state
    progress: dict[str, Any]  # the tracker's fields, JSON
    best: dict[str, torch.Tensor] | None


def save_state(state_dir: Path, state: TrainingState) -> Path:
    """Write ``latest/`` next to the old one, then swap: a crash or a full disk leaves one
    complete state (the new one, else the old one) and no half-written folder."""
    state_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=state_dir, prefix=".latest."))
    try:
        _write_state(staging, state)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    target = state_dir / LATEST
    retired = state_dir / RETIRED
    shutil.rmtree(retired, ignore_errors=True)
    if target.exists():
        target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)
    return target


def _write_state(folder: Path, state: TrainingState) -> None:
    blob = {
        "model": state.model,
        "optimizer": state.optimizer,
        "scheduler": state.scheduler,
        "torch_rng": torch.get_rng_state(),
        "shuffle_rng": state.shuffle,
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # dropout draws on the GPU
        blob["cuda_rng"] = torch.cuda.get_rng_state()
    torch.save(blob, folder / "state.pt")
    if state.best is not None:
        save_file(cpu_tensors(state.best), str(folder / "best.safetensors"))
    randomness = {"python": _jsonable(random.getstate()), "numpy": _jsonable(np.random.get_state())}
    # Written last, with the sizes of the others: a copy of the folder cut short is recognisable.
    files = {path.name: path.stat().st_size for path in folder.iterdir()}
    progress = {**state.progress, "random": randomness, FILES: files}
    (folder / "progress.json").write_text(json.dumps(progress), encoding="utf-8")


def is_complete(folder: Path) -> bool:
    """Whether ``folder`` holds a whole saved state: a copy of ``latest/`` (a checkpoint that
    Ray copied file by file) may have been cut short by a lost machine."""
    try:
        progress = (folder / "progress.json").read_text(encoding="utf-8")
    except OSError:
        return False
    return holds_every_file(progress, lambda name: _size(folder / name))


def holds_every_file(progress_json: str, size_of: Callable[[str], int | None]) -> bool:
    """Whether the files a saved state's ``progress.json`` lists all exist (``size_of`` gives
    None for a missing one) with the sizes it recorded; for folders on any file system."""
    try:
        files = json.loads(progress_json).get(FILES, {"state.pt": None})
    except (ValueError, AttributeError):
        return False
    return all(
        (actual := size_of(name)) is not None and size in (None, actual)
        for name, size in files.items()
    )


def _size(path: Path) -> int | None:
    return path.stat().st_size if path.is_file() else None


def _saved(state_dir: Path) -> Path | None:
    """``latest/``; the retired one when a crash fell between the two renames of save_state."""
    for name in (LATEST, RETIRED):
        if (state_dir / name / "progress.json").is_file():
            return state_dir / name
    return None


def load_state(state_dir: Path | None) -> TrainingState | None:
    """The saved state, with the global random generators put back; None when there is none."""
    latest = None if state_dir is None else _saved(state_dir)
    if latest is None:
        return None
    blob = torch.load(latest / "state.pt", map_location="cpu", weights_only=True)
    progress = json.loads((latest / "progress.json").read_text(encoding="utf-8"))
    randomness = progress.pop("random")
    progress.pop(FILES, None)
    random.setstate(_tuples(randomness["python"]))
    kind, keys, position, has_gauss, gauss = randomness["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, gauss))
    torch.set_rng_state(blob["torch_rng"])
    if "cuda_rng" in blob and torch.cuda.is_available():
        torch.cuda.set_rng_state(blob["cuda_rng"])  # the current device: set by Workers.current
    best_file = latest / "best.safetensors"
    best = load_file(str(best_file)) if best_file.is_file() else None
    return TrainingState(blob["model"], blob["optimizer"], blob["scheduler"], blob["shuffle_rng"],
                         progress, best)  # fmt: skip


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.integer | np.floating):
        return value.item()
    return value


def _tuples(value: Any) -> Any:
    return tuple(_tuples(item) for item in value) if isinstance(value, list) else value
