"""Every benchmark in bench/ runs in the suite: its ``--smoke`` mode (the whole code path on a
tiny encoder and the demo data) as a user runs the script, ``python bench/<name>.py --smoke
--out F``; it must exit 0 and write its JSON. The sweep benchmarks' smoke runs are in
tests/e2e/test_bench_sweeps.py. The GPU benchmarks without a CPU mode are import-checked
(``--help``) here, and run briefly where there is a CUDA GPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from bench_runs import BENCH, SHARED, SWEEPS, has_keys, run_bench, smoke_figures

pytestmark = pytest.mark.slow(minutes=3)  # on 2 CPUs: see conftest.py

# Each training benchmark: the top-level keys its --smoke run's JSON must hold.
SMOKE: dict[str, set[str]] = {
    "aggregate_scale": {"new_trials", "sizes", "machine"},
    "data_prep_cache": {"first_seconds", "later_seconds", "ratio", "first", "later", "setup"},
    "embedding_grad": {"summary", "runs"},
    "epoch_profile": {"steps", "profiles", "runs"},
    "minilm_semeval_dev": {"loss", "seed", "dev_jaccard", "dev_macro_f1"},  # one row per run
    "model_options": {"rows", "steps_per_variant", "compile_warmup_s"},
    "speed_defaults_parity": {"setup", "runs", "off", "group_by_length"},
    "trainer_throughput": {"rows", "ratios", "runs", "setup"},
}
FEWER_SEEDS = {"speed_defaults_parity": ["--seeds", "0,1"]}  # a paired comparison needs two
# Only on a CUDA GPU: a short run there on the real data (their JSON is a list of rows).
GPU_ONLY: dict[str, list[str]] = {
    "gpu_throughput": ["--steps", "2", "--warmup", "1", "--variants", "eager-bf16"],
    "gpu_compile_train": ["--epochs", "1", "--modes", "off"],
}


def test_every_benchmark_is_run_by_the_suite() -> None:
    scripts = {path.stem for path in BENCH.glob("*.py")} - SHARED
    assert scripts == set(SMOKE) | set(SWEEPS) | set(GPU_ONLY)


@pytest.mark.parametrize("name", sorted(SMOKE))
def test_smoke_run_writes_its_figures(name: str, tmp_path: Path) -> None:
    figures = smoke_figures(name, tmp_path, *FEWER_SEEDS.get(name, []))
    assert has_keys(figures, SMOKE[name])


@pytest.mark.parametrize("name", sorted(GPU_ONLY))
def test_gpu_benchmark_imports_and_parses_its_options(name: str, tmp_path: Path) -> None:
    done = run_bench(name, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "--out" in done.stdout


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", sorted(GPU_ONLY))
def test_gpu_benchmark_runs_on_a_gpu(name: str, tmp_path: Path, semeval_root: Path) -> None:
    out = tmp_path / f"{name}.json"
    done = run_bench(name, "--data", str(semeval_root), "--out", str(out), *GPU_ONLY[name],
                     cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert rows and all("gpu" in row for row in rows)
