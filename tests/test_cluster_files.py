"""Every cluster launcher file validates against Ray's own cluster-config schema and keeps the
security promises of docs/security.md."""

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
    for secret in ("aws_access_key_id", "aws_secret_access_key", "AKIA", "RAY_AUTH_TOKEN"):
        assert secret not in settings
    head_start = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head_start


@pytest.mark.parametrize("path", CLUSTER_FILES, ids=lambda p: p.name)
def test_every_node_starts_ray_with_the_shared_token(path: Path) -> None:
    config = yaml.safe_load(path.read_text())
    for commands in ("head_start_ray_commands", "worker_start_ray_commands"):
        starts = [c for c in config[commands] if "ray start" in c]
        assert starts and all(c.startswith("RAY_AUTH_MODE=token ray start") for c in starts)
    # The token travels as a file from the launching machine, never as a value in the file.
    assert config["file_mounts"]["/home/ubuntu/.ray/auth_token"] == "~/.ray/auth_token"
    assert any("RAY_AUTH_MODE=token" in c for c in config["initialization_commands"])


def test_there_is_a_gpu_cluster_file() -> None:
    assert "gpu.yaml" in [p.name for p in CLUSTER_FILES]
