"""Training on a CUDA GPU (skipped without one) and the device options' errors (run anywhere)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from safetensors.torch import load_file

from emotrain import train
from emotrain.config import TrainConfig
from emotrain.train_state import LATEST

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


class _Crash(RuntimeError):
    pass


def _config(semeval_root: Path, **changes: Any) -> dict[str, Any]:
    # Dropout 0: the CPU and the GPU draw different dropout masks from the same seed.
    config = {
        "data": {"root": str(semeval_root), "train_limit": 151, "eval_limit": 61},
        "model": {"encoder": {"tiny": "bert", "dropout": 0.0}, "dropout": 0.0},
        "loss": {"local": "intra", "weights": "rho", "alpha": 0.2},
        "optim": {"max_epochs": 2, "lr": 3e-3, "batch_size": 15},
        "seed": 5,
        "threads": 1,
        "cache_dir": "off",
    }
    return config | changes


@needs_cuda
def test_fp32_on_the_gpu_is_close_to_the_cpu(semeval_root: Path) -> None:
    on_cpu = train(_config(semeval_root, device="cpu"))
    on_gpu = train(_config(semeval_root, device="cuda"))
    assert on_gpu.cost.gpu_max_allocated_bytes  # it really ran on the GPU
    # Loose: the GPU sums in another order and multiplies in TF32.
    for cpu_record, gpu_record in zip(on_cpu.history, on_gpu.history, strict=True):
        assert gpu_record["train_loss"] == pytest.approx(cpu_record["train_loss"], rel=0.05)
    for name in ("jaccard", "micro_f1"):
        assert on_gpu.test[name] == pytest.approx(on_cpu.test[name], abs=0.1)


@needs_cuda
def test_bf16_trains_with_a_finite_loss(semeval_root: Path) -> None:
    optim = {"max_epochs": 2, "lr": 3e-3, "batch_size": 15, "precision": "bf16"}
    result = train(_config(semeval_root, device="cuda", optim=optim))
    assert all(math.isfinite(record["train_loss"]) for record in result.history)
    assert 0.0 <= result.test["jaccard"] <= 1.0
    assert result.config_key != TrainConfig.model_validate(_config(semeval_root)).config_key()


@needs_cuda
def test_a_gpu_run_resumes_from_its_state(semeval_root: Path, tmp_path: Path) -> None:
    config = _config(semeval_root, device="cuda", optim={"max_epochs": 3, "lr": 3e-3})
    undisturbed = train(config)

    def crash_after_one(metrics: dict[str, float]) -> None:
        if metrics["epoch"] == 1:
            raise _Crash("killed after epoch 1")

    with pytest.raises(_Crash):
        train(config, report=crash_after_one, state_dir=tmp_path)
    # Saved from the GPU, readable on a machine without one.
    assert all(
        t.device.type == "cpu" for t in load_file(tmp_path / LATEST / "best.safetensors").values()
    )
    reports: list[dict[str, float]] = []
    resumed = train(config, report=reports.append, state_dir=tmp_path)
    assert [r["epoch"] for r in reports] == [2, 3]
    # Close, not bit-identical: some CUDA kernels sum in a nondeterministic order.
    for mine, theirs in zip(resumed.history, undisturbed.history, strict=True):
        assert mine == pytest.approx(theirs, rel=1e-3, abs=1e-3)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_device_cuda_without_cuda_fails_in_one_line(semeval_root: Path, tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(_config(semeval_root, device="cuda")))
    done = subprocess.run(
        [sys.executable, "-m", "emotrain", "--config", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: device: cuda was asked for, but CUDA is not available on this machine"
    ]


def test_bf16_on_the_cpu_is_refused_by_name(semeval_root: Path) -> None:
    optim = {"max_epochs": 1, "precision": "bf16"}
    with pytest.raises(ValueError, match=r"^optim\.precision: bf16 needs a CUDA GPU"):
        train(_config(semeval_root, device="cpu", optim=optim))


def test_the_device_is_not_part_of_the_config_key(semeval_root: Path) -> None:
    keys = {TrainConfig.model_validate(_config(semeval_root, device=d)).config_key()
            for d in ("auto", "cpu", "cuda")}  # fmt: skip
    assert len(keys) == 1
    plain = TrainConfig.model_validate(_config(semeval_root))
    assert (
        plain.config_key()
        == TrainConfig.model_validate(
            _config(semeval_root, optim=plain.optim.model_dump() | {"precision": "fp32"})
        ).config_key()
    )
