"""``optim.compile``: compiled training matches eager training, keeps the model's own weights,
and refuses CUDA graphs without CUDA; batches padded to a fixed length. Compiled data-parallel
training: tests/emotrain/test_distributed.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from safetensors.torch import load_file
from torch._dynamo.utils import counters

from emotrain import train
from emotrain.config import TrainConfig
from emotrain.data.batches import EncodedSplit, collate
from emotrain.speed.compile import padded_length

# Each compilation of the tiny encoder's forward and backward takes up to a minute on 2 CPUs.
pytestmark = pytest.mark.slow(minutes=4)

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _config(semeval_root: Path, compile: str, **changes: Any) -> dict[str, Any]:
    # Dropout 0: inductor draws dropout masks its own way, so only dropout-free runs can match.
    config = {
        "data": {"root": str(semeval_root), "train_limit": 151, "eval_limit": 61},
        "model": {"encoder": {"tiny": "bert", "dropout": 0.0}, "dropout": 0.0},
        "loss": {"local": "intra", "weights": "rho", "alpha": 0.2},
        "optim": {"max_epochs": 2, "lr": 3e-3, "batch_size": 15, "compile": compile},
        "seed": 5,
        "threads": 2,
        "cache_dir": "off",
    }
    return config | changes


def _assert_same_training(compiled: Any, eager: Any) -> None:
    assert compiled.config_key != eager.config_key  # other kernels: another configuration
    for mine, theirs in zip(compiled.history, eager.history, strict=True):
        assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-3)
        assert mine["dev_jaccard"] == pytest.approx(theirs["dev_jaccard"], abs=0.02)


def test_compiled_training_matches_eager_and_saves_plain_weights(
    semeval_root: Path, tmp_path: Path
) -> None:
    eager = train(_config(semeval_root, "off", output_dir=str(tmp_path / "eager")))
    compiled = train(_config(semeval_root, "default", output_dir=str(tmp_path / "compiled")))
    _assert_same_training(compiled, eager)
    # The saved weights are the model's own: no torch.compile wrapper in their names.
    saved = {frozenset(load_file(p)) for p in (tmp_path / "compiled").glob("*.safetensors")}
    plain = {frozenset(load_file(p)) for p in (tmp_path / "eager").glob("*.safetensors")}
    assert saved == plain and saved


@pytest.mark.parametrize(
    ("mode", "device"),
    [("default", "cpu"), pytest.param("reduce-overhead", "cuda", marks=needs_cuda)],
)
def test_a_process_reuses_compiled_code_for_the_same_model_only(
    semeval_root: Path, mode: str, device: str
) -> None:
    """A reused Ray worker's next trial: same model, no new graph; another model replaces the
    compiled code (kept, it would pile up until torch silently ran every model eager, and on a
    GPU hold the CUDA graphs' memory)."""
    small = {"train_limit": 45, "eval_limit": 30}

    def graphs_after(**changes: Any) -> int:
        config = _config(semeval_root, mode, device=device, **changes)
        train(
            config | {"data": config["data"] | small, "optim": config["optim"] | {"max_epochs": 1}}
        )
        return counters["stats"]["unique_graphs"]

    first = graphs_after(seed=1)
    assert graphs_after(seed=2, loss={"local": "none"}) == first  # reused: nothing compiled
    wider = {"encoder": {"tiny": "bert", "dropout": 0.0, "hidden_size": 32}, "dropout": 0.0}
    other = graphs_after(model=wider)
    assert other > first
    assert graphs_after(seed=3) > other  # the first model's code was dropped: compiled again


def test_cuda_graphs_without_cuda_are_refused_by_name(semeval_root: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("checks a machine without CUDA")
    with pytest.raises(ValueError, match=r"^optim\.compile: reduce-overhead replays CUDA graphs"):
        train(_config(semeval_root, "reduce-overhead"))


def test_a_machine_that_cannot_compile_fails_in_one_line(
    semeval_root: Path, tmp_path: Path
) -> None:
    """No C++ compiler for inductor's CPU kernels (a fresh kernel cache: nothing to reuse)."""
    config = _config(semeval_root, "default", device="cpu")
    config["data"] |= {"train_limit": 30, "eval_limit": 20}
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    env = os.environ | {"CXX": str(tmp_path / "no-compiler"),
                        "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "kernels")}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "emotrain", "--config", str(path)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error")]
    assert errors == [done.stderr.strip().splitlines()[-1]]  # the last line, and the only one
    assert errors[0].startswith("error: optim.compile: default could not compile on this machine:")
    assert "C++ compiler" in errors[0]


def test_batches_pad_to_a_fixed_length_for_cuda_graphs() -> None:
    rows = [torch.tensor([101, 7, 8, 102]), torch.tensor([101, 9, 102])]
    split = EncodedSplit(rows, [torch.zeros(4, dtype=torch.long), torch.ones(3, dtype=torch.long)],
                         torch.eye(2), [[1], [2]], pad_id=0)  # fmt: skip
    batch = collate(split, [0, 1], length=6)
    assert batch["input_ids"].tolist() == [[101, 7, 8, 102, 0, 0], [101, 9, 102, 0, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0]]
    assert batch["token_type_ids"].tolist() == [[0, 0, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0]]
    assert collate(split, [0, 1])["input_ids"].shape == (2, 4)  # else each batch's longest
    assert padded_length("reduce-overhead", 64) == 64
    assert padded_length("default", 64) is None


@needs_cuda
@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
def test_compiled_training_on_the_gpu_matches_eager(semeval_root: Path, mode: str) -> None:
    eager = train(_config(semeval_root, "off", device="cuda"))
    compiled = train(_config(semeval_root, mode, device="cuda"))
    assert compiled.cost.gpu_max_allocated_bytes  # it really ran on the GPU
    _assert_same_training(compiled, eager)


def test_compile_is_part_of_the_config_key(semeval_root: Path) -> None:
    keys = {TrainConfig.model_validate(_config(semeval_root, mode)).config_key()
            for mode in ("off", "default", "reduce-overhead")}  # fmt: skip
    assert len(keys) == 3
