"""Sweep files are validated before Ray starts: a clear one-line error naming the field, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from emotrain.config_errors import ConfigError
from orchestrator.spec.sweep import load_sweep

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "sweeps" / "smoke.yaml"


def _mutated(tmp_path: Path, change: dict) -> Path:
    spec = yaml.safe_load(SMOKE.read_text())
    for dotted, value in change.items():
        node = spec
        *parents, leaf = dotted.split("/")
        for part in parents:
            node = node[part]
        if value is _DELETE:
            del node[leaf]
        else:
            node[leaf] = value
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


_DELETE = object()


def test_the_smoke_sweep_expands_to_its_plan() -> None:
    sweep = load_sweep(SMOKE)
    assert [cell.name for cell in sweep.cells] == ["weights-one", "weights-rho"]
    assert sweep.total_trials == 2 * 2 * 2
    assert sweep.spec.storage.is_absolute()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"sedes": [1]}, "sedes: unknown field; did you mean seeds?"),
        ({"seeds": "zero"}, "seeds: Input should be a valid list"),
        ({"seeds": []}, "seeds: List should have at least 1 item"),
        ({"seeds": [1, 1]}, "seeds must be distinct"),
        ({"resources/cpus": -1}, "resources.cpus: Input should be greater than 0"),
        ({"base/optim/lr": "fast"}, "base.optim.lr: Input should be a valid number"),
        ({"base/optim/learning_rate": 0.1}, "base.optim.learning_rate: unknown field"),
        ({"base/model/encoder/tiny": "gpt"}, "base.model.encoder.tiny: Input should be 'bert' or"),
        (
            {"grid": {"loss.weigths": ["one"]}},
            "grid.loss.weigths: unknown field; did you mean weights?",
        ),
        ({"grid": {"loss.weights": ["one", "sqrt"]}}, "grid.loss.weights: Input should be"),
        ({"grid": {"loss.weights": []}}, "grid axis 'loss.weights' has no values"),
        ({"search/metric": "accuracy"}, "metric 'accuracy' is not reported by train"),
        (
            {"search/space": {"loss.alpha": {"type": "float", "low": 0.5, "high": 2.0}}},
            "search.space.loss.alpha: loss.alpha: Input should be less than or equal to 1",
        ),
        (
            {"search/space": {"loss.alpha": {"type": "float", "low": 0.5}}},
            "search.space.loss.alpha: Value error, a float parameter needs numbers low < high",
        ),
        (
            {"search/space": {"optim.momentum": {"type": "float", "low": 0.1, "high": 0.9}}},
            "search.space.optim.momentum: optim.momentum: unknown field",
        ),
        ({"name": _DELETE}, "name: Field required"),
        ({"base/output_dir": "models"}, "base: Value error, output_dir: a sweep keeps each"),
        ({"grid": {"output_dir": ["a", "b"]}}, "grid: Value error, output_dir: a sweep keeps"),
    ],
)
def test_bad_fields_are_named(tmp_path: Path, change: dict, expected: str) -> None:
    path = _mutated(tmp_path, change)
    with pytest.raises(ConfigError) as caught:
        load_sweep(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and expected in message, message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"serach": {"budget": 2}}, "serach: unknown field; did you mean search?"),
        ({"base/loss/locall": "intra"}, "base.loss.locall: unknown field; did you mean local?"),
        (
            {"base/transfer": {"eval_data": {"dataset": "goemotions", "rooot": "go"}}},
            "base.transfer.eval_data.rooot: unknown field; did you mean root?",
        ),
        (
            {"search/space/loss.alpha/hihg": 0.4},
            "search.space.loss.alpha.hihg: unknown field; did you mean high?",
        ),
        (
            {"search/space": {"loss.alpah": {"type": "float", "low": 0.1, "high": 0.5}}},
            "search.space.loss.alpah: loss.alpah: unknown field; did you mean alpha?",
        ),
        ({"resources/gpu": 1}, "resources.gpu: unknown field; did you mean gpus?"),
        ({"base/optim/zzz": 1}, "base.optim.zzz: unknown field"),  # nothing near it
    ],
)
def test_an_unknown_field_is_told_the_nearest_one(
    tmp_path: Path, change: dict, expected: str
) -> None:
    path = _mutated(tmp_path, change)
    with pytest.raises(ConfigError) as caught:
        load_sweep(path)
    assert str(caught.value) == f"{path}: {expected}"


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_sweep(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML"):
        load_sweep(bad)
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_sweep(bad)


def test_command_exits_2_before_ray_starts_and_writes_nothing(tmp_path: Path) -> None:
    path = _mutated(tmp_path, {"seeds": ["zero"], "storage": str(tmp_path / "results")})
    probe = (
        "import sys; from orchestrator.run import main; code = main(sys.argv[1:]); "
        "assert 'ray' not in sys.modules, 'Ray was imported'; sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert (
        done.stderr.strip() == f"error: {path}: seeds.0: Input should be a valid integer, "
        "unable to parse string as an integer"
    )
    assert not (tmp_path / "results").exists()
