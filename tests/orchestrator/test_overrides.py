"""``extends:`` and the command-line overrides are validated exactly like the file: a bad value
stops the run with exit status 2 and one line naming the file or flag that set it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from emotrain.config_errors import ConfigError
from orchestrator.run import main
from orchestrator.spec.layers import seeds_override, set_override, storage_override
from orchestrator.spec.sweep import load_sweep

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "sweeps" / "smoke.yaml"


def _write(path: Path, spec: dict) -> Path:
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--set", "base.optim.lr=fast"], "--set base.optim.lr: Input should be a valid number"),
        (["--set", "grid.loss.weights=[sqrt]"], "--set grid.loss.weights: Input should be 'one'"),
        (["--set", "sedes=[1]"], "--set sedes: unknown field; did you mean seeds?"),
        (["--set", "base.optim.learning_rate=1"], "--set base.optim.learning_rate: unknown field"),
        (
            ["--set", "search.space.loss.alpha.high=2"],
            "--set search.space.loss.alpha.high: search.space.loss.alpha: loss.alpha: "
            "Input should be less than or equal to 1",
        ),
        (["--set", "resources.cpus=-1"], "--set resources.cpus: Input should be greater than 0"),
        (["--set", "base.optim"], "--set base.optim: expected PATH=VALUE"),
        (["--set", "base.optim.lr=[unclosed"], "--set base.optim.lr: not valid YAML"),
        (["--set", "seeds.first=1"], "--set seeds.first: seeds is not a section"),
        (["--seeds", "0,x"], "--seeds: '0,x' is not integers separated by commas"),
        (["--seeds", "1,1"], "--seeds: '1,1' repeats a seed"),
    ],
)
def test_a_bad_override_exits_2_naming_the_flag(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(SMOKE), "--dry-run", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {expected}"), err
    assert err.count("\n") == 1


def test_overrides_replace_the_file_values(tmp_path: Path) -> None:
    overrides = [
        set_override("base.optim.lr=3e-5"),
        set_override("grid.loss.weights=[one]"),
        set_override("search.budget=3"),
        seeds_override("0,1,2"),
        storage_override(str(tmp_path / "elsewhere")),
    ]
    sweep = load_sweep(SMOKE, overrides)
    assert sweep.spec.base["optim"]["lr"] == 3e-5  # YAML 1.1 alone would read a string
    assert [cell.name for cell in sweep.cells] == ["weights-one"]
    assert sweep.spec.search.budget == 3
    assert sweep.spec.seeds == [0, 1, 2]
    assert sweep.experiment_dir == tmp_path / "elsewhere" / "smoke"
    assert sweep.total_trials == 1 * 3 * 3


def test_quoted_values_stay_strings() -> None:
    assert set_override("name='1e3'").value == "1e3"
    assert set_override("name=1e3").value == 1000.0
    assert set_override("base.data.root=").value is None


def test_extends_deep_merges_mappings_and_replaces_lists(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    parent = yaml.safe_load(SMOKE.read_text())
    _write(tmp_path / "parent.yaml", parent)
    child = _write(
        tmp_path / "sub" / "child.yaml",
        {
            "extends": "../parent.yaml",  # relative to the extending file
            "name": "child",
            "base": {"optim": {"lr": 0.01}},
            "seeds": [5],
            "grid": {"loss.weights": ["rho"]},
        },
    )
    sweep = load_sweep(child)
    assert sweep.spec.name == "child"
    assert sweep.spec.base["optim"] == {**parent["base"]["optim"], "lr": 0.01}
    assert sweep.spec.base["model"] == parent["base"]["model"]
    assert sweep.spec.seeds == [5]
    assert [cell.name for cell in sweep.cells] == ["weights-rho"]
    assert sweep.spec.search.budget == parent["search"]["budget"]


def test_extends_errors_name_the_file_that_set_the_field(tmp_path: Path) -> None:
    parent = yaml.safe_load(SMOKE.read_text())
    parent["base"]["optim"]["lr"] = "fast"
    _write(tmp_path / "parent.yaml", parent)
    child = _write(tmp_path / "child.yaml", {"extends": "parent.yaml", "seeds": [0, "one"]})
    with pytest.raises(ConfigError) as caught:
        load_sweep(child)
    assert str(caught.value).startswith(f"{tmp_path / 'child.yaml'}: seeds.1: Input should be")
    _write(child, {"extends": "parent.yaml", "seeds": [3]})
    with pytest.raises(ConfigError) as caught:
        load_sweep(child)
    assert str(caught.value).startswith(
        f"{tmp_path / 'parent.yaml'}: base.optim.lr: Input should be a valid number"
    )
    # the override wins over both files, and is what an error names
    with pytest.raises(ConfigError, match=r"^--set base\.optim\.lr: Input should be"):
        load_sweep(child, [set_override("base.optim.lr=slow")])
    assert load_sweep(child, [set_override("base.optim.lr=0.1")]).spec.seeds == [3]


def test_extends_cycles_and_missing_files_are_errors(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    _write(a, {"extends": "b.yaml", "name": "a"})
    _write(b, {"extends": "a.yaml", "name": "b"})
    with pytest.raises(ConfigError) as caught:
        load_sweep(a)
    message = str(caught.value)
    assert "extends: cycle" in message and str(a) in message and str(b) in message, message
    _write(b, {"extends": "nope.yaml"})
    with pytest.raises(ConfigError, match=r"b\.yaml: extends: .*nope\.yaml: file not found"):
        load_sweep(a)
    _write(b, {"extends": ["a.yaml"]})
    with pytest.raises(ConfigError, match=r"b\.yaml: extends: expected the path"):
        load_sweep(a)
