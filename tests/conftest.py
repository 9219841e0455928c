"""Shared fixtures. Real data comes from EMOSWEEP_DATA (default ../shared/data beside the repo);
without it the data tests skip, except under CI (CI=true), where missing data is a failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"


def _data_root() -> Path:
    return Path(os.environ.get("EMOSWEEP_DATA", DEFAULT_DATA)).expanduser().resolve()


def _require(found: bool, message: str) -> None:
    """Skip without the data; fail under CI, where a wrong path must never pass silently."""
    if found:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = _data_root()
    _require(
        (root / "semeval2018-ec").is_dir(),
        f"real data not found at {root} (set EMOSWEEP_DATA to the shared data folder)",
    )
    return root


@pytest.fixture(scope="session")
def goemotions_root(data_root: Path) -> Path:
    root = data_root / "goemotions"
    _require((root / "train.tsv").is_file(), f"GoEmotions not found at {root}")
    return root


@pytest.fixture(scope="session")
def semeval_root(data_root: Path) -> Path:
    return data_root / "semeval2018-ec"


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """sweeps/smoke.yaml run to the end on a real local Ray, once per session: its experiment
    folder and the driver's output. The smoke-sweep, report and analysis tests read it, and work
    on copies when they change it."""
    workdir = tmp_path_factory.mktemp("report_smoke")
    spec = yaml.safe_load((REPO / "sweeps" / "smoke.yaml").read_text())
    spec["storage"] = str(workdir / "results")
    sweep = workdir / "smoke.yaml"
    sweep.write_text(yaml.safe_dump(spec))
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator.run", str(sweep)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=workdir,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return workdir / "results" / "smoke", done.stdout


@pytest.fixture(scope="session")
def smoke_experiment(smoke_run: tuple[Path, str]) -> Path:
    return smoke_run[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first. The suite runs on two pytest-xdist workers, a file whole on one
    (pyproject: ``-n 2 --dist loadfile``); a long file started last would leave the other worker
    idle at the end. A file states its rough cost as ``pytest.mark.slow(minutes=...)``."""
    items.sort(key=_minutes, reverse=True)  # a stable sort: the rest keep their order


def _minutes(item: pytest.Item) -> float:
    marker = item.get_closest_marker("slow")
    return float(marker.kwargs.get("minutes", 1)) if marker else 0.0
