"""Shared fixtures. Real data comes from EMOSWEEP_DATA (default ../shared/data beside the repo);
without it the data tests skip, except under CI (CI=true), where missing data is a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
