"""Replaying stored suggestions into a cell's Optuna study: the seeded sampler then proposes
what an uninterrupted run would have, and the plan matches stored trials to their cells."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.plan.plan import cell_seed, make_plan, trial_config
from orchestrator.plan.stored import StoredTrial
from orchestrator.spec.sweep import Cell, SearchSpec, load_sweep
from orchestrator.tune.replay import CellStudy

REPO = Path(__file__).resolve().parents[2]
SPACE = {
    "loss.alpha": {"type": "float", "low": 0.05, "high": 0.5},
    "loss.weights": {"type": "categorical", "choices": ["one", "rho"]},
    "optim.batch_size": {"type": "int", "low": 4, "high": 64, "log": True},
}


def _score(params: dict[str, Any]) -> list[float]:
    value = -((params["loss.alpha"] - 0.3) ** 2) + 0.1 * (params["loss.weights"] == "rho")
    return [value, value + 0.01]  # two seeds


@pytest.mark.parametrize("sampler", ["tpe", "random"])
@pytest.mark.parametrize("replayed", [1, 2, 10, 12])  # TPE leaves random sampling at 10
def test_after_a_replay_the_next_point_is_the_uninterrupted_runs(
    sampler: str, replayed: int
) -> None:
    search = SearchSpec.model_validate({"space": SPACE, "budget": 13, "sampler": sampler})
    cell = Cell("c", {"loss.local": "intra"})
    first = CellStudy(search, cell)
    proposed = []
    for _ in range(replayed + 1):
        trial, params = first.ask()
        proposed.append(params)
        first.tell(trial, _score(params))
    again = CellStudy(search, cell)
    for params in proposed[:replayed]:
        trial, asked = again.ask(replay=params)
        assert asked == params
        again.tell(trial, _score(params))
    assert again.ask()[1] == proposed[replayed]
    assert proposed[replayed] not in proposed[:replayed]


def test_cells_have_their_own_seed_from_their_grid_values() -> None:
    search = SearchSpec.model_validate({"space": SPACE, "seed": 3})
    one, rho = Cell("a", {"loss.weights": "one"}), Cell("b", {"loss.weights": "rho"})
    assert cell_seed(search, one) != cell_seed(search, rho)
    assert cell_seed(search, one) == cell_seed(search, Cell("renamed", {"loss.weights": "one"}))
    assert cell_seed(search, one) != cell_seed(search.model_copy(update={"seed": 4}), one)


def test_the_plan_replays_stored_points_and_leaves_the_rest_to_optuna(tmp_path: Path) -> None:
    sweep = load_sweep(REPO / "sweeps" / "smoke.yaml")
    one, rho = sweep.cells
    stored = [
        _stored(sweep, rho, 0, 0.2, 0, tmp_path),
        _stored(sweep, rho, 0, 0.2, 1, tmp_path),
        _stored(sweep, one, 1, 0.4, 1, tmp_path),
        _stored(sweep, one, 0, 0.3, 5, tmp_path),  # a seed the sweep does not run
        _stored(sweep, one, 2, 0.9, 0, tmp_path),  # outside the search space: not a point
        _stored(sweep, one, 0, 0.1, 0, tmp_path, search="another sampler or seed"),
    ]
    plan = make_plan(sweep, {trial.trial_key: trial for trial in stored})
    by_cell = {cell.name: [s for s in plan.suggestions if s.cell == cell] for cell in sweep.cells}
    assert [(s.params, sorted(s.stored)) for s in by_cell["weights-one"]] == [
        ({"loss.alpha": 0.3}, []),  # oldest suggestion first
        ({"loss.alpha": 0.4}, [1]),
    ]
    assert [(s.params, sorted(s.stored)) for s in by_cell["weights-rho"]] == [
        ({"loss.alpha": 0.2}, [0, 1]),
        (None, []),
    ]
    assert plan.existing == 3 and plan.to_run == 8 - 3
    assert len(plan.stored) == len(stored)  # all still reused if Optuna proposes them again


def _stored(
    sweep: Any,
    cell: Cell,
    suggestion: int,
    alpha: float,
    seed: int,
    folder: Path,
    search: str | None = None,
) -> StoredTrial:
    config = trial_config(sweep, cell, suggestion, seed, {"loss.alpha": alpha})
    return StoredTrial(
        trial_dir=folder / f"{cell.name}_{suggestion}_{seed}",
        trial_key=config["trial_key"],
        config_key=config["config_key"],
        search_key=search or config["search_key"],
        suggestion=suggestion,
        seed=seed,
        params={"loss.alpha": alpha},
        metrics={"best_dev_jaccard": 0.5},
        timestamp=float(suggestion),
    )
