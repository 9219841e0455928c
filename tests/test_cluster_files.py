"""Every cluster launcher file validates against Ray's own cluster-config schema and keeps the
security promises of README.md."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

CLUSTER_FILES = sorted((Path(__file__).resolve().parents[1] / "cluster").glob("*.yaml"))


@pytest.mark.parametrize("path", CLUSTER_FILES, ids=lambda p: p.name)
def test_validates_against_rays_schema(path: Path) -> None:
    config = yaml.safe_load(path.read_text())
    validate_config(prepare_config(config))


@pytest.mark.parametrize("path", CLUSTER_FILES, ids=lambda p: p.name)
def test_no_secrets_and_a_private_dashboard(path: Path) -> None:
    config = yaml.safe_load(path.read_text())
    settings = yaml.safe_dump(config)  # what the launcher sees, comments left out
    for secret in ("aws_access_key_id", "aws_secret_access_key", "AKIA", "RAY_AUTH_MODE"):
        assert secret not in settings
    head_start = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head_start


def test_there_is_a_gpu_cluster_file() -> None:
    assert "gpu.yaml" in [p.name for p in CLUSTER_FILES]
