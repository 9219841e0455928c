"""Every cluster launcher file validates against Ray's own cluster-config schema and keeps the
security promises of docs/security.md; the KubeRay RayJob validates against KubeRay's CRD
schema (cluster/schemas/, with its source and version) and keeps the same promises."""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

import jsonschema
import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

CLUSTER = Path(__file__).resolve().parents[2] / "cluster"
# Ray launcher files; a Kubernetes manifest (apiVersion, kind) is checked below.
CLUSTER_FILES = sorted(
    path for path in CLUSTER.glob("*.yaml") if "apiVersion" not in yaml.safe_load(path.read_text())
)


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


@functools.cache
def _rayjob_schema() -> dict:
    # The CRD is large: read once, with libyaml's loader where PyYAML has it.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    text = gzip.decompress((CLUSTER / "schemas" / "ray.io_rayjobs.yaml.gz").read_bytes())
    crd = yaml.load(text.decode("utf-8"), Loader=loader)
    assert crd["spec"]["names"]["kind"] == "RayJob"
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return version["schema"]["openAPIV3Schema"]


def _unknown_fields(value: object, schema: dict, where: str = "") -> list[str]:
    """Fields the schema does not declare: Kubernetes drops them without a word (or refuses
    them, with kubectl's strict validation), so a misspelt field would be lost silently."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    if isinstance(value, dict) and "properties" in schema:
        found = []
        for key, item in value.items():
            if key not in schema["properties"]:
                found.append(f"{where}.{key}")
            else:
                found += _unknown_fields(item, schema["properties"][key], f"{where}.{key}")
        return found
    if isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        children = [
            (item, schema["additionalProperties"], f"{where}.{k}") for k, item in value.items()
        ]
    elif isinstance(value, list) and "items" in schema:
        children = [(item, schema["items"], f"{where}[{i}]") for i, item in enumerate(value)]
    else:
        return []
    return [field for child in children for field in _unknown_fields(*child)]


def test_the_rayjob_validates_against_kuberays_crd() -> None:
    job = yaml.safe_load((CLUSTER / "kuberay.yaml").read_text())
    schema = _rayjob_schema()
    assert (job["apiVersion"], job["kind"]) == ("ray.io/v1", "RayJob")
    jsonschema.Draft7Validator(schema).validate(job)
    assert _unknown_fields(job, schema) == []


def test_the_schema_check_catches_a_wrong_or_misspelt_field() -> None:
    job = yaml.safe_load((CLUSTER / "kuberay.yaml").read_text())
    schema = _rayjob_schema()
    job["spec"]["rayClusterSpec"]["authOptions"]["mode"] = "on"  # not in the enum
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(job)
    job["spec"]["rayClusterSpec"]["authOptions"] = {"mode": "token"}
    job["spec"]["shutdownAfterJobFinish"] = True
    assert _unknown_fields(job, schema) == [".spec.shutdownAfterJobFinish"]


def test_the_rayjob_runs_a_sweep_with_token_auth_and_no_secrets() -> None:
    job = yaml.safe_load((CLUSTER / "kuberay.yaml").read_text())
    spec = job["spec"]
    assert spec["entrypoint"].startswith("python -m orchestrator.run ")
    assert "--storage s3://" in spec["entrypoint"]
    cluster = spec["rayClusterSpec"]
    assert cluster["authOptions"] == {"mode": "token"}
    assert cluster["rayVersion"] == "2.60.0"
    gpus = [group["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"]
            for group in cluster["workerGroupSpecs"]]  # fmt: skip
    assert gpus and all(int(count) >= 1 for count in gpus)
    settings = yaml.safe_dump(job)
    for secret in ("aws_access_key_id", "aws_secret_access_key", "AKIA", "RAY_AUTH_TOKEN"):
        assert secret not in settings
