"""Data-parallel training on the CPU (gloo, 2 processes) matches one process for the same seed,
eager and compiled (``optim.compile``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch.multiprocessing as mp
from local_ports import free_port
from torch import distributed as dist

from emotrain import train

pytestmark = pytest.mark.slow(minutes=1.5)  # on 2 CPUs, compiling included: see conftest.py


def _config(semeval_root: Path) -> dict[str, Any]:
    # Dropout 0: with dropout each rank draws its own masks (see emotrain/distributed.py).
    return {
        "data": {"root": str(semeval_root), "train_limit": 151, "eval_limit": 61},
        "model": {"encoder": {"tiny": "bert", "dropout": 0.0}, "dropout": 0.0},
        "loss": {"local": "intra", "weights": "rho", "alpha": 0.2},
        "optim": {"max_epochs": 2, "lr": 3e-3, "batch_size": 15},
        "seed": 5,
        "threads": 1,
        "cache_dir": "off",
        "device": "cpu",  # the claim is about gloo on CPUs
    }


def _worker(rank: int, world: int, port: int, config: dict[str, Any], out: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)  # fmt: skip
    try:
        reports: list[dict[str, float]] = []
        result = train(config, report=reports.append)
        Path(out, f"rank{rank}.json").write_text(
            json.dumps({"result": result.model_dump(), "reports": len(reports)})
        )
    finally:
        dist.destroy_process_group()


# Compiled: DDP splits the compiled graph at its gradient buckets (torch's DDPOptimizer).
@pytest.mark.parametrize("compile", ["off", "default"])
def test_two_gloo_workers_match_one_process(
    semeval_root: Path, tmp_path: Path, compile: str
) -> None:
    config = _config(semeval_root)
    config["optim"]["compile"] = compile
    single = train(config)
    mp.spawn(_worker, args=(2, free_port(), config, str(tmp_path)), nprocs=2, join=True)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["reports"] == ranks[1]["reports"] == single.epochs_run  # every rank reports
    for rank in ranks:
        result = rank["result"]
        assert result["best_epoch"] == single.best_epoch
        assert result["test"] == pytest.approx(single.test, abs=1e-6)
        assert result["best_dev"] == pytest.approx(single.best_dev, abs=1e-6)
        for mine, theirs in zip(result["history"], single.history, strict=True):
            assert mine == pytest.approx(theirs, rel=1e-4)
