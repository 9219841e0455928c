"""Every sweep file of sweeps/ (sweeps/reference/ holds the papers' numbers, not sweeps) passes
``--dry-run``, and runs end to end with ``--smoke`` on a real local Ray: one completed trial per
(cell, seed), and under ``protocol: two_stage`` one completed test-stage trial per cell too.

The files name their data as ``${EMOSWEEP_DATA}/...``; here ``--data`` points them at the data the
tests use ($EMOSWEEP_DATA, else ../shared/data: conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from ray.cluster_utils import Cluster

from orchestrator import run
from orchestrator.spec.layers import read_layers
from orchestrator.spec.smoke import smoke_overrides
from orchestrator.spec.sweep import load_sweep

pytestmark = pytest.mark.slow(minutes=8)  # on 2 CPUs: see conftest.py

REPO = Path(__file__).resolve().parents[2]
SWEEPS = sorted(
    path
    for path in (REPO / "sweeps").rglob("*.yaml")
    if path.relative_to(REPO / "sweeps").parts[0] != "reference"
)
# The measured/ files are the paper files' machinery on the offline encoder and have run for
# real here (docs/papers.md): they are planned and checked (--dry-run), not smoke-run again.
SMOKE_SWEEPS = [path for path in SWEEPS if path.relative_to(REPO / "sweeps").parts[0] != "measured"]
DATA_FIELDS = ("base.data.root", "base.transfer.eval_data.root", "base.transfer.eval_clusters")
# The paper sweeps ask for the GPU cluster's resources; this machine has 2 CPUs and no GPU.
HERE = ["--set", "resources.cpus=1", "--set", "resources.gpus=0"]


def _ids(path: Path) -> str:
    return str(path.relative_to(REPO / "sweeps"))


def _data_flags(data_root: Path) -> list[str]:
    return ["--data", str(data_root)]


def _get(node: Any, parts: list[str]) -> Any:
    for part in parts:
        node = node.get(part) if isinstance(node, dict) else None
    return node


@pytest.mark.parametrize("path", SWEEPS, ids=_ids)
def test_every_data_path_is_in_emosweep_data(path: Path) -> None:
    """Every path option of a file names its data as the users keep it, not in the repository's
    neighbourhood; the smoke sweep's demo data is emotrain's own (null)."""
    layers = read_layers(path, data="/data")
    values = [_get(layers.raw, dotted.split(".")) for dotted in DATA_FIELDS]
    paths = [value for value in values if value is not None]
    assert all(value.startswith("/data/") for value in paths), paths
    assert paths or path.name == "smoke.yaml"


def test_an_unset_emosweep_data_is_one_line_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("EMOSWEEP_DATA", raising=False)
    path = REPO / "sweeps" / "measured" / "minilm-ekman.yaml"
    assert run.main([str(path), "--dry-run"]) == 2
    parent = REPO / "sweeps" / "measured" / "minilm-semeval.yaml"  # it sets base.data.root
    assert capsys.readouterr().err == (
        f"error: {parent}: base.data.root: $EMOSWEEP_DATA is not set; set it to the folder "
        "holding semeval2018-ec/ and goemotions/, or pass --data DIR\n"
    )


def test_emosweep_data_or_data_fills_the_paths(
    data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = REPO / "sweeps" / "transfer-clusters.yaml"
    monkeypatch.setenv("EMOSWEEP_DATA", str(data_root))
    config = load_sweep(path).train_config(load_sweep(path).cells[0], {}, 0)
    assert config.data.root == data_root / "semeval2018-ec"
    assert config.transfer.eval_data.root == data_root / "goemotions"
    assert config.transfer.eval_clusters == data_root / "goemotions" / "ekman_mapping.json"
    monkeypatch.setenv("EMOSWEEP_DATA", "/elsewhere")  # --data wins over the variable
    sweep = load_sweep(path, data=str(data_root))
    assert sweep.train_config(sweep.cells[0], {}, 0).data.root == data_root / "semeval2018-ec"


def test_a_relative_data_folder_reaches_the_trials_absolute(
    data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--data ../shared/data`` as the docs write it: every path a trial gets is absolute, the
    grid's too (a trial runs in its own folder, where a relative path names nothing)."""
    monkeypatch.chdir(data_root.parent)
    sweep = load_sweep(REPO / "sweeps" / "measured" / "minilm-converged.yaml", data=data_root.name)
    ekman = [cell for cell in sweep.cells if "transfer.eval_clusters" in cell.overrides]
    assert ekman, "the study has its GoEmotions-Ekman cell"
    for cell in sweep.cells:
        config = sweep.train_config(cell, {}, 0)
        assert config.data.root == data_root.resolve() / "semeval2018-ec"
    config = sweep.train_config(ekman[0], {}, 0)
    assert config.transfer.eval_data.root == data_root.resolve() / "goemotions"
    assert config.transfer.eval_clusters == data_root.resolve() / "goemotions/ekman_mapping.json"


def test_every_experiment_has_a_file() -> None:
    names = {_ids(path) for path in SWEEPS}
    papers = {"correlation.yaml", "correlation-spanish.yaml", "correlation-arabic.yaml",
              "goemotions.yaml", "transfer-languages.yaml", "transfer-emotions.yaml",
              "transfer-clusters.yaml", "smoke.yaml"}  # fmt: skip
    assert papers <= names
    for path in SWEEPS:
        header = path.read_text(encoding="utf-8").split("\nname:")[0]
        assert f"python -m orchestrator.run sweeps/{_ids(path)}" in header, path


@pytest.mark.parametrize("path", SWEEPS, ids=_ids)
def test_dry_run(
    path: Path, data_root: Path, goemotions_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run.main([str(path), "--dry-run", *_data_flags(data_root), *HERE]) == 0
    assert "preflight: data files, encoders and resources" in capsys.readouterr().out


def test_smoke_keeps_the_cells_and_shrinks_the_trials(data_root: Path) -> None:
    path = REPO / "sweeps" / "transfer-clusters.yaml"
    data = str(data_root)
    real = load_sweep(path, data=data)
    smoke = load_sweep(path, smoke_overrides(read_layers(path, data=data).raw), data)
    assert smoke.cells == real.cells and smoke.spec.protocol == real.spec.protocol
    assert smoke.spec.name == "transfer-clusters-smoke" and smoke.spec.seeds == [0]
    assert (smoke.spec.search.budget, smoke.spec.resources.gpus, smoke.spec.reuse_workers) == (
        1,
        0,
        True,
    )
    config = smoke.train_config(smoke.cells[0], {}, 0)
    assert config.model.encoder.tiny == "roberta"  # XLM-T is RoBERTa-style
    assert (config.data.train_limit, config.data.eval_limit, config.optim.max_epochs) == (
        200,
        100,
        1,
    )
    assert config.transfer.eval_data.eval_limit == 100
    assert config.model.max_length == 128  # the file's: its 27-word prompt needs it
    assert (
        config.transfer.eval_clusters
        == real.train_config(real.cells[0], {}, 0).transfer.eval_clusters
    )


def test_smoke_refuses_a_grid_over_encoders(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sweep = tmp_path / "encoders.yaml"
    sweep.write_text(
        "name: encoders\ngrid: {model.encoder.name: [bert-base-uncased, roberta-base]}\n"
    )
    assert run.main([str(sweep), "--smoke", "--dry-run"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --smoke: grid.model.encoder.name: the smoke run replaces every encoder with one "
        "tiny encoder, so the encoder cannot vary across cells (smoke-test a copy without it)"
    )


def test_smoke_leaves_the_files_own_errors_to_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    sweep = tmp_path / "bad.yaml"
    sweep.write_text("name: bad\nseeds: [first]\n")
    assert run.main([str(sweep), "--smoke", "--dry-run"]) == 2
    assert capsys.readouterr().err.startswith(f"error: {sweep}: seeds.0: Input should be")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the smoke runs write: ``results/<name>-smoke``, as from the repository folder."""
    return tmp_path_factory.mktemp("sweeps_files")


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """One local Ray for all the smoke runs of this module: each run connects to it with
    --address (as on a cluster) instead of starting and stopping a Ray of its own. Two CPUs, so
    the two drivers' 1-CPU trials run side by side (Cluster's default head has one)."""
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    try:
        yield cluster.address
    finally:
        cluster.shutdown()


@pytest.fixture(scope="module")
def smoke_runs(
    data_root: Path, goemotions_root: Path, workdir: Path, ray_address: str
) -> dict[Path, subprocess.CompletedProcess[str]]:
    """Every file's smoke run, two at a time on the shared Ray: while one driver starts up or
    writes its tables, the other's trials use the CPUs. The largest sweep starts first."""
    order = sorted(SMOKE_SWEEPS, key=lambda path: path.name != "correlation.yaml")
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {path: pool.submit(_smoke, path, data_root, workdir, ray_address) for path in order}
    return {path: run.result() for path, run in runs.items()}


def _smoke(
    path: Path, data_root: Path, workdir: Path, address: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.run", str(path), "--smoke",
         *_data_flags(data_root), "--storage", "results", "--address", address],
        capture_output=True, text=True, timeout=1500, cwd=workdir, env=_env(workdir),
    )  # fmt: skip


def _experiment(path: Path, data_root: Path, workdir: Path) -> Path:
    """Where the file's smoke run writes: ``results/<name>-smoke``."""
    name = load_sweep(path, data=str(data_root)).spec.name
    return workdir / "results" / f"{name}-smoke"


def _env(workdir: Path) -> dict[str, str]:
    return os.environ | {"EMOTRAIN_CACHE": str(workdir / "cache")}


@pytest.mark.parametrize("path", SMOKE_SWEEPS, ids=_ids)
def test_smoke_run(path: Path, data_root: Path, workdir: Path, smoke_runs: dict[Path, Any]) -> None:
    done = smoke_runs[path]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    sweep = load_sweep(path, data=str(data_root))
    trials = pd.read_parquet(_experiment(path, data_root, workdir) / "trials.parquet")
    assert (trials["status"] == "completed").all()
    assert (trials["seed"] == sweep.spec.seeds[0]).all()  # one seed
    assert (trials["cfg.optim.max_epochs"] == 1).all() and trials["epochs_run"].eq(1).all()
    cells = sorted(cell.name for cell in sweep.cells)
    stages = ["dev", "test"] if sweep.spec.protocol == "two_stage" else ["dev"]
    for stage in stages:
        rows = trials[trials["stage"] == stage]
        assert sorted(rows["cell"]) == cells, stage  # one completed row per (cell, seed)
    assert sorted(trials["stage"].unique()) == stages


# The walkthrough (docs/walkthrough.md; test_docs.py runs the page itself), on a smoke run.
READ_TABLES = """
import pandas as pd
configs = pd.read_parquet("results/correlation-spanish-smoke/configs.parquet")
dev = configs[configs["stage"] == "dev"].sort_values("best_dev_jaccard_mean", ascending=False)
print(dev[["cell", "n_seeds", "best_dev_jaccard_mean"]].head().to_string(index=False))
final = pd.read_parquet("results/correlation-spanish-smoke/test_stage.parquet")
print(final[["cell", "epochs", "test_jaccard_mean", "test_macro_f1_mean"]].to_string())
"""
PICK_BEST = """
import json, pathlib
import pandas as pd
experiment = pathlib.Path("results/correlation-spanish-smoke")
configs = pd.read_parquet(experiment / "configs.parquet")
dev = configs[configs["stage"] == "dev"]
best = dev.loc[dev["best_dev_jaccard_mean"].idxmax(), "config_key"]
trials = pd.read_parquet(experiment / "trials.parquet")
trial = trials[trials["config_key"] == best].iloc[0]
params = json.loads((experiment / trial["trial_dir"] / "params.json").read_text())
pathlib.Path("best.yaml").write_text(json.dumps(params["train"] | {"output_dir": "models/best"}))
"""


def test_walkthrough_tables_report_retrain_predict(
    workdir: Path, smoke_runs: dict[Path, Any]
) -> None:
    assert smoke_runs[REPO / "sweeps" / "correlation-spanish.yaml"].returncode == 0
    commands = [
        ["-c", READ_TABLES],
        ["-m", "orchestrator.report", "results/correlation-spanish-smoke"],
        ["-c", PICK_BEST],
        ["-m", "emotrain", "--config", "best.yaml"],
        ["-m", "emotrain.predict", "--model", "models/best", "¡qué día tan feliz!"],
    ]
    outputs = []
    for command in commands:
        done = subprocess.run(
            [sys.executable, *command],
            capture_output=True, text=True, timeout=600, cwd=workdir, env=_env(workdir),
        )  # fmt: skip
        assert done.returncode == 0, f"{command[:2]}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        outputs.append(done.stdout)
    assert "local-none" in outputs[0] and "test_jaccard_mean" in outputs[0]
    assert (workdir / "results" / "correlation-spanish-smoke" / "report" / "report.md").is_file()
    assert json.loads(outputs[3])["test_jaccard"] >= 0.0
    prediction = json.loads(outputs[4])
    assert set(prediction["scores"]) == {"ira", "anticipación", "asco", "miedo", "alegría",
                                         "amor", "optimismo", "pesimismo", "tristeza",
                                         "sorpresa", "confianza"}  # fmt: skip
