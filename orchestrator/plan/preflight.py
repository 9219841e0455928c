"""Checks before a sweep runs (and in ``--dry-run``): problems Tune would only show late.

A missing data file would fail every trial, and a trial asking for more CPUs or GPUs than any
node has would stay PENDING forever. Each problem is one line naming the sweep field; the
metric is already checked when the sweep file is validated.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from emotrain.config import TrainConfig
from emotrain.data.config import DataConfig
from emotrain.data.loading import SPLITS, unreadable_files
from emotrain.data.types import Split
from emotrain.eval_targets import cluster_problem
from orchestrator.spec.layers import FieldPath
from orchestrator.spec.sweep import Cell, Scalar, Sweep

Probe = tuple[Cell, dict[str, Scalar], FieldPath]  # a cell, its searched values, whom to blame


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
    for field_path, message in dict.fromkeys(_gpu_only_problems(sweep)):
        findings.errors.append(str(sweep.layers.problem(field_path, message)))
    return findings


def check_resources(sweep: Sweep, nodes: list[Capacity], where: str) -> list[str]:
    """Each training process of a trial must fit on one node, and all of a trial's processes
    on the cluster together: ``where`` names the nodes (the cluster, this machine)."""
    wanted = sweep.spec.resources
    count = wanted.processes
    problems = []
    for unit, want, have in (
        ("cpus", wanted.cpus, [node.cpus for node in nodes]),
        ("gpus", wanted.gpus_per_process, [node.gpus for node in nodes]),
    ):
        largest, total = max(have, default=0.0), sum(have)
        asked = f"{want * count:g} per trial" + (f" ({count} workers x {want:g})" * (count > 1))
        if want > largest:
            holder = where if len(nodes) <= 1 or largest == 0 else f"the largest node of {where}"
            message = f"{asked} but {holder} has {largest:g} {unit[:-1].upper()}s"
        elif want * count > total:
            message = f"{asked} but {where} has {total:g} {unit[:-1].upper()}s in all"
        else:
            continue
        problems.append(str(sweep.layers.problem(("resources", unit), message)))
    return problems


def local_capacity() -> list[Capacity]:
    """This machine, as the local Ray instance would see it (CUDA devices torch can use)."""
    import torch  # late: only a dry run without a cluster needs it

    # The CPUs this process may use (a container's share), where the platform can tell.
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [Capacity(float(cpus or 1), float(torch.cuda.device_count()))]


def _probe_configs(sweep: Sweep) -> Iterator[tuple[Probe, TrainConfig]]:
    """Each probe of the sweep (``Sweep.probes``) with the training configuration it makes."""
    for cell, params, blame in sweep.probes():
        yield (cell, params, blame), sweep.train_config(cell, params, sweep.spec.seeds[0])


def _data_problems(sweep: Sweep) -> list[tuple[FieldPath, str]]:
    problems = []
    read: dict[str, list[tuple[str, str]]] = {}  # each data configuration's files read once

    def unreadable(data: DataConfig, splits: tuple[Split, ...] = SPLITS) -> list[tuple[str, str]]:
        key = f"{splits}{data.model_dump_json()}"
        return read[key] if key in read else read.setdefault(key, unreadable_files(data, splits))

    for (cell, params, blame), config in _probe_configs(sweep):
        missing = unreadable(config.data)
        if (target := config.transfer.eval_data) is not None:
            # All its files must be there; a run reads only its test split (eval_targets.py).
            found = unreadable(target, ("test",))
            missing += [(f"transfer.eval_{o}", why) for o, why in found]
        clusters = config.transfer.eval_clusters
        if clusters is not None and not Path(clusters).is_file():
            missing.append(("transfer.eval_clusters", f"{clusters}: file not found"))
        elif not missing and (why := cluster_problem(config)) is not None:
            missing.append(("transfer.eval_clusters", why))
        problems += [(_owner(params, cell, blame, option), why) for option, why in missing]
    return problems


def _encoder_names(sweep: Sweep) -> list[tuple[FieldPath, str]]:
    names = []
    for (cell, params, blame), config in _probe_configs(sweep):
        encoder = config.model.encoder
        if encoder.name is not None:
            names.append((_owner(params, cell, blame, "model.encoder.name"), encoder.name))
    return names


def _gpu_only_problems(sweep: Sweep) -> list[tuple[FieldPath, str]]:
    """Options every trial would refuse at its start without a GPU."""
    gpus = sweep.spec.resources.gpus_per_process
    problems = []
    for (cell, params, blame), config in _probe_configs(sweep):
        if gpus and config.device != "cpu":
            continue
        no_gpu = "device is cpu" if gpus else "resources.gpus is 0"
        for option, value, needs in (
            ("optim.precision", config.optim.precision, "bf16"),
            ("optim.compile", config.optim.compile, "reduce-overhead"),
        ):
            if value == needs:
                why = f"{needs} needs a CUDA GPU, but {no_gpu}"
                problems.append((_owner(params, cell, blame, option), why))
    return problems


def _check_encoder(sweep: Sweep, field_path: FieldPath, name: str, findings: Findings) -> None:
    from emotrain.models.encoder import resolve_encoder_name  # late: imports transformers

    try:
        path = Path(name).expanduser()
    except RuntimeError:  # ~user of a user this machine does not have
        findings.errors.append(str(sweep.layers.problem(field_path, f"{name}: no such user")))
        return
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


def concurrent_trials(sweep: Sweep, nodes: list[Capacity], trials: int) -> int:
    """How many of ``trials`` can run at once on ``nodes`` (single-process trials packed per
    node; a multi-worker trial's workers anywhere)."""
    wanted = sweep.spec.resources
    if wanted.processes > 1:
        slots = sum(int(node.cpus // wanted.cpus) for node in nodes) // wanted.processes
    else:
        slots = sum(_fits(node, wanted.cpus, wanted.gpus) for node in nodes)
    return max(1, min(trials, slots))


def _fits(node: Capacity, cpus: float, gpus: float) -> int:
    by_cpu = int(node.cpus // cpus)
    return by_cpu if not gpus else min(by_cpu, int(node.gpus // gpus))
