"""Checks before a sweep runs (and in ``--dry-run``): problems Tune would only show late.

A missing data file would fail every trial, and a trial asking for more CPUs or GPUs than any
node has would stay PENDING forever. Each problem is one line naming the sweep field; the
metric is already checked when the sweep file is validated.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from emotrain.data.semeval import DataFileError, semeval_path
from orchestrator.layers import FieldPath
from orchestrator.sweep import Cell, Scalar, Sweep

_SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class Capacity:
    """What one node offers to trials."""

    cpus: float
    gpus: float


@dataclass
class Findings:
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_inputs(sweep: Sweep) -> Findings:
    """Data files and encoders of every configuration the sweep can produce."""
    findings = Findings()
    for field_path, message in dict.fromkeys(_data_problems(sweep)):
        findings.errors.append(str(sweep.layers.problem(field_path, message)))
    for field_path, name in dict.fromkeys(_encoder_names(sweep)):
        _check_encoder(sweep, field_path, name, findings)
    return findings


def check_resources(sweep: Sweep, nodes: list[Capacity], where: str) -> list[str]:
    """A trial must fit on one node: ``where`` names the nodes (the cluster, this machine)."""
    wanted = sweep.spec.resources
    problems = []
    for unit, want, have in (
        ("cpus", wanted.cpus, [node.cpus for node in nodes]),
        ("gpus", wanted.gpus, [node.gpus for node in nodes]),
    ):
        largest = max(have, default=0.0)
        if want > largest:
            holder = where if len(nodes) <= 1 or largest == 0 else f"the largest node of {where}"
            message = f"{want:g} per trial but {holder} has {largest:g} {unit[:-1].upper()}s"
            problems.append(str(sweep.layers.problem(("resources", unit), message)))
    return problems


def local_capacity() -> list[Capacity]:
    """This machine, as the local Ray instance would see it (CUDA devices torch can use)."""
    import torch  # late: only a dry run without a cluster needs it

    # The CPUs this process may use (a container's share), where the platform can tell.
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [Capacity(float(cpus or 1), float(torch.cuda.device_count()))]


def _data_problems(sweep: Sweep) -> list[tuple[FieldPath, str]]:
    problems = []
    for cell, params, blame in sweep.probes():
        data = sweep.train_config(cell, params, sweep.spec.seeds[0]).data
        if data.root is None:
            continue
        where = _owner(params, cell, blame, "data.root")
        for split in _SPLITS:
            try:
                semeval_path(Path(data.root), data.language, split)
            except DataFileError as err:
                problems.append((where, str(err)))
    return problems


def _encoder_names(sweep: Sweep) -> list[tuple[FieldPath, str]]:
    names = []
    for cell, params, blame in sweep.probes():
        encoder = sweep.train_config(cell, params, sweep.spec.seeds[0]).model.encoder
        if encoder.name is not None:
            names.append((_owner(params, cell, blame, "model.encoder.name"), encoder.name))
    return names


def _check_encoder(sweep: Sweep, field_path: FieldPath, name: str, findings: Findings) -> None:
    from emotrain.models.encoder import resolve_encoder_name  # late: imports transformers

    path = Path(name).expanduser()
    if path.is_dir() or resolve_encoder_name(name) != name:
        return
    if name.startswith(("/", "./", "../", "~")):
        findings.errors.append(str(sweep.layers.problem(field_path, f"{name}: folder not found")))
        return
    findings.notes.append(
        f"{'.'.join(field_path)}: {name} is not a local folder: it will be downloaded from the "
        "Hugging Face hub when a trial starts (this cannot be checked offline)"
    )


def _owner(params: dict[str, Scalar], cell: Cell, blame: FieldPath, option: str) -> FieldPath:
    """The sweep field that sets a training option for this probe: searched, grid or base."""
    if option in params:
        return blame
    if option in cell.overrides:
        return ("grid", option)
    return ("base", *option.split("."))
