"""A loss that becomes NaN or infinite ends the run with the step it happened at, before anything
of the diverged run is evaluated, saved or reported; and the training loop reads no tensor on
the host at every step (on a GPU each such read makes the host wait for the device)."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import op_calls
import pytest
import torch
import torch.multiprocessing as mp
from local_ports import free_port
from op_calls import OpCalls
from torch import distributed as dist

from emotrain import train
from emotrain.divergence import DivergenceWatch, TrainingDiverged
from emotrain.train_state import LATEST

CPU = torch.device("cpu")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
# On a GPU a host read is a wait for the device: the case this module is about.
DEVICES = ["cpu", pytest.param("cuda", marks=needs_cuda)]


def host_reads() -> OpCalls:
    """Counts (``len(noted)``) the reads of a tensor's value by the host (``item()``,
    ``bool()``, ``int()``...: aten's ``_local_scalar_dense``) issued by emotrain's own code, not
    by torch's or transformers' code that it calls."""
    return OpCalls(torch.ops.aten._local_scalar_dense.default,
                   lambda _: True if _issued_by_emotrain() else None)  # fmt: skip


# Frames of the dispatch itself, between the code that reads and the check.
_DISPATCH = (__file__, op_calls.__file__, "_python_dispatch.py", "_compile.py", "_dynamo")


def _issued_by_emotrain() -> bool:
    frames = traceback.extract_stack()
    issuer = next(f for f in reversed(frames) if not any(d in f.filename for d in _DISPATCH))
    return "/emotrain/" in issuer.filename.replace("\\", "/")


def _config(semeval_root: Path, train_limit: int, lr: float = 3e-3) -> dict[str, Any]:
    return {
        "data": {"root": str(semeval_root), "train_limit": train_limit, "eval_limit": 32},
        "model": {"encoder": {"tiny": "bert"}},
        "optim": {"max_epochs": 1, "lr": lr, "batch_size": 16},
        "threads": 1,
        "cache_dir": "off",
    }


@pytest.mark.parametrize("device", DEVICES)
def test_the_first_non_finite_loss_is_named(device: str) -> None:
    watch = DivergenceWatch(torch.device(device))
    watch.watch(torch.tensor(0.5, device=device), 1, 1)
    watch.check()  # nothing yet
    watch.watch(torch.tensor(float("inf"), device=device), 1, 2)
    watch.watch(torch.tensor(float("nan"), device=device), 2, 1)
    with pytest.raises(TrainingDiverged, match=r"^loss is inf at epoch 1, step 2$"):
        watch.check()


@pytest.mark.parametrize("device", DEVICES)
def test_watching_reads_nothing_on_the_host(device: str) -> None:
    watch = DivergenceWatch(torch.device(device))
    losses = [torch.tensor(loss, device=device) for loss in (0.3, float("nan"), 0.2)]
    with host_reads() as reads:
        for step, loss in enumerate(losses, 1):
            watch.watch(loss, 1, step)
    assert len(reads.noted) == 0
    with host_reads() as reads, pytest.raises(TrainingDiverged, match="nan at epoch 1, step 2"):
        watch.check()
    assert len(reads.noted) > 0  # the counter does see a read where there is one


def test_a_diverged_run_fails_before_it_saves_or_reports(
    semeval_root: Path, tmp_path: Path
) -> None:
    reports: list[dict[str, float]] = []
    with pytest.raises(TrainingDiverged, match=r"^loss is (inf|nan) at epoch 1, step \d+$"):
        train(_config(semeval_root, 64, lr=1e6), report=reports.append, state_dir=tmp_path)
    assert reports == []
    assert not (tmp_path / LATEST).exists()


@pytest.mark.parametrize("device", DEVICES)
def test_the_training_loop_reads_tensors_only_where_it_evaluates(
    semeval_root: Path, device: str
) -> None:
    """One epoch of 4 steps and one of 8, the same evaluations: emotrain's own reads of tensor
    values do not grow with the steps."""
    counts = {}
    for train_limit in (64, 128):
        with host_reads() as reads:
            train(_config(semeval_root, train_limit) | {"device": device})
        counts[train_limit] = len(reads.noted)
    assert counts[64] == counts[128] > 0, counts


def _rank(rank: int, port: int, losses: list[list[float]], out: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=len(losses))  # fmt: skip
    try:
        watch = DivergenceWatch(CPU, parallel=True)
        for step, loss in enumerate(losses[rank], 1):
            watch.watch(torch.tensor(loss), 1, step)
        try:
            watch.check()
            said = "no divergence"
        except TrainingDiverged as err:
            said = str(err)
        Path(out, f"rank{rank}.txt").write_text(said)
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize(
    ("losses", "said"),
    [
        ([[0.5, 0.4, 0.3], [0.6, 0.5, 0.4]], "no divergence"),
        # Rank 0 alone at step 2, rank 1 at step 3: both ranks stop at step 2.
        (
            [[0.5, float("inf"), float("nan")], [0.6, 0.5, float("nan")]],
            "loss is inf at epoch 1, step 2",
        ),
    ],
)
def test_data_parallel_ranks_agree_on_the_first_divergence(
    tmp_path: Path, losses: list[list[float]], said: str
) -> None:
    mp.spawn(_rank, args=(free_port(), losses, str(tmp_path)), nprocs=2, join=True)
    assert [(tmp_path / f"rank{r}.txt").read_text() for r in (0, 1)] == [said, said]
