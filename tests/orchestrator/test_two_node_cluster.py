"""A sweep on a two-node Ray cluster (ray.cluster_utils.Cluster, both nodes on this machine):
the trials are placed on both nodes, and the storage is checked to be shared first."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import ray
import yaml
from ray.cluster_utils import Cluster

pytestmark = pytest.mark.slow(minutes=2)  # on 2 CPUs: see conftest.py


@pytest.fixture
def two_nodes() -> Iterator[Cluster]:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    try:
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def _sweep(tmp_path: Path, semeval_root: Path, **changes: object) -> Path:
    spec = {
        "name": "two-nodes",
        "base": {
            "data": {"root": str(semeval_root), "train_limit": 120, "eval_limit": 40},
            "optim": {"max_epochs": 1, "lr": 3e-3, "batch_size": 16},
            "cache_dir": "off",
        },
        "seeds": [0, 1],
        "resources": {"cpus": 1},
        "storage": str(tmp_path / "results"),
        **changes,
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _run(sweep: Path, address: str, *flags: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "orchestrator.run", str(sweep), "--address", address]
    return subprocess.run([*command, *flags], capture_output=True, text=True, cwd=sweep.parent,
                          timeout=900)  # fmt: skip


def test_trials_run_on_both_nodes(tmp_path: Path, semeval_root: Path, two_nodes: Cluster) -> None:
    sweep = _sweep(tmp_path, semeval_root)
    done = _run(sweep, two_nodes.address)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    trials = pd.read_parquet(tmp_path / "results" / "two-nodes" / "trials.parquet")
    assert trials["status"].tolist() == ["completed", "completed"]
    nodes = {node["NodeID"] for node in _alive(two_nodes.address)}
    # One CPU a node and two one-CPU trials at once: one on each node.
    assert set(trials["node_id"]) == nodes and len(nodes) == 2


def test_a_trial_too_big_for_any_node_fails_preflight(
    tmp_path: Path, semeval_root: Path, two_nodes: Cluster
) -> None:
    sweep = _sweep(tmp_path, semeval_root, resources={"cpus": 2})
    done = _run(sweep, two_nodes.address, "--dry-run")
    assert done.returncode == 2
    expected = "resources.cpus: 2 per trial but the largest node of the cluster has 1 CPUs"
    assert expected in done.stderr
    assert not (tmp_path / "results").exists()


def _alive(address: str) -> list[dict]:
    ray.init(address=address)
    try:
        return [node for node in ray.nodes() if node.get("Alive")]
    finally:
        ray.shutdown()


def test_losing_a_node_mid_sweep_reschedules_its_trial(
    tmp_path: Path, semeval_root: Path, two_nodes: Cluster
) -> None:
    base = {
        "data": {"root": str(semeval_root), "train_limit": 300, "eval_limit": 60},
        # Long enough that the worker node's trial is still training when the node goes,
        # however fast the machine: many short epochs and no early stop.
        "optim": {"max_epochs": 20, "patience": 20, "lr": 3e-3, "batch_size": 16},
        "cache_dir": "off",
    }
    sweep = _sweep(tmp_path, semeval_root, base=base, max_failures=2)
    experiment = tmp_path / "results" / "two-nodes"
    command = [sys.executable, "-m", "orchestrator.run", str(sweep), "--address",
               two_nodes.address]  # fmt: skip
    driver = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, cwd=tmp_path)  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        # Both trials have started training (a finished trial's checkpoints are deleted, so
        # each trial's first checkpoint is remembered rather than counted at one moment).
        started: set[Path] = set()
        while len(started) < 2:
            assert driver.poll() is None and time.monotonic() < deadline, "no checkpoints"
            started |= {c.parent.parent for c in experiment.glob("*/checkpoint_*/progress.json")}
            time.sleep(0.2)
        worker_node = two_nodes.list_all_nodes()[1]
        two_nodes.remove_node(worker_node)  # the machine is gone, with its trial
        output, _ = driver.communicate(timeout=900)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 0, output[-4000:]
    trials = pd.read_parquet(experiment / "trials.parquet")
    assert sorted(trials["seed"]) == [0, 1] and set(trials["status"]) == {"completed"}
    assert len(list(experiment.glob("*/params.json"))) == 2  # each (config, seed) once
    retried = [d for d in experiment.glob("*/error.txt")]
    assert len(retried) == 1  # the lost node's trial failed once, then ran on the head
