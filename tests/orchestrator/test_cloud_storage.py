"""``storage: s3://…``: a real S3 endpoint on this machine (moto's server), a real local Ray.

Tune writes the trials to the bucket; the driver plans and writes its tables in a local mirror
that leaves the checkpoints out, and levels the two (orchestrator/store/cloud_storage.py).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pandas as pd
import pyarrow.fs as pafs
import pytest
import yaml
from driver_kill import kill_driver_when
from moto.server import ThreadedMotoServer
from ray import tune
from tiny_encoder import TINY_BERT

from emotrain import train
from orchestrator.store.cloud_storage import MIRROR_ROOT, sync
from orchestrator.store.sweep_lock import LOCK
from orchestrator.trial.folder import FINAL
from orchestrator.trial.trainable import earlier_attempt

pytestmark = pytest.mark.slow(minutes=1.5)  # on 2 CPUs: see conftest.py

BUCKET = "emosweep-test"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def s3() -> Iterator[pafs.FileSystem]:
    """An S3 endpoint with an empty bucket; the AWS variables point every process at it."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    names = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")
    saved = {name: os.environ.get(name) for name in names}
    values = (f"http://127.0.0.1:{port}", "test", "test", "us-east-1")
    os.environ.update(dict(zip(names, values, strict=True)))
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    fs, _ = pafs.FileSystem.from_uri(f"s3://{BUCKET}")  # as Ray and the orchestrator open it
    try:
        yield fs
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _put(fs: pafs.FileSystem, path: str, data: bytes) -> None:
    with fs.open_output_stream(path) as stream:
        stream.write(data)


def _keys(fs: pafs.FileSystem, prefix: str) -> set[str]:
    found = fs.get_file_info(pafs.FileSelector(prefix, recursive=True, allow_not_found=True))
    start = len(prefix) + 1
    return {info.path[start:] for info in found if info.type == pafs.FileType.File}


def test_sync_levels_storage_and_mirror_without_checkpoints(
    s3: pafs.FileSystem, tmp_path: Path
) -> None:
    root = f"{BUCKET}/sync"
    _put(s3, f"{root}/exp/t1/result.json", b'{"a": 1}\n')
    _put(s3, f"{root}/exp/t1/checkpoint_000000/state.pt", b"weights")
    mirror = tmp_path / "mirror"
    (mirror / "exp").mkdir(parents=True)
    (mirror / "exp" / "sweep.json").write_text("{}")
    (mirror / "exp" / LOCK).write_text("pid 1")
    (mirror / "exp" / ".sweep.json.x.tmp").write_text("half")

    assert sync(f"s3://{root}", mirror) == (1, 1)
    assert (mirror / "exp" / "t1" / "result.json").read_bytes() == b'{"a": 1}\n'
    assert not (mirror / "exp" / "t1" / "checkpoint_000000").exists()
    assert _keys(s3, root) == {
        "exp/t1/result.json", "exp/t1/checkpoint_000000/state.pt", "exp/sweep.json"
    }  # fmt: skip
    assert sync(f"s3://{root}", mirror) == (0, 0)  # level: nothing to copy

    _put(s3, f"{root}/exp/t1/result.json", b'{"a": 1}\n{"a": 2}\n')  # Ray appended
    (mirror / "exp" / "sweep.json").write_text('{"new": true}')  # the driver rewrote it
    assert sync(f"s3://{root}", mirror) == (1, 1)
    assert (mirror / "exp" / "t1" / "result.json").read_bytes().count(b"\n") == 2
    with s3.open_input_stream(f"{root}/exp/sweep.json") as stream:
        assert json.loads(stream.read()) == {"new": True}


def _saved_state(fs: pafs.FileSystem, folder: str, state: bytes, recorded: int) -> None:
    """A checkpoint as emotrain writes it: progress.json (last) records state.pt's size."""
    _put(fs, f"{folder}/state.pt", state)
    _put(
        fs,
        f"{folder}/progress.json",
        json.dumps({"steps": 1, "files": {"state.pt": recorded}}).encode(),
    )


def test_an_unfinished_trial_continues_from_its_last_whole_checkpoint_in_the_bucket(
    s3: pafs.FileSystem, tmp_path: Path
) -> None:
    experiment = f"{BUCKET}/attempts/exp"
    params = json.dumps({"trial_key": "k1"}).encode()
    # Lost mid-run: a whole checkpoint, then one whose copy was cut short.
    _put(s3, f"{experiment}/cell_q0_seed0_aaa/params.json", params)
    _saved_state(s3, f"{experiment}/cell_q0_seed0_aaa/checkpoint_000000", b"12345", 5)
    _saved_state(s3, f"{experiment}/cell_q0_seed0_aaa/checkpoint_000001", b"123", 5)
    # The same key, finished: nothing to continue from there.
    _put(s3, f"{experiment}/cell_q0_seed0_bbb/params.json", params)
    _put(s3, f"{experiment}/cell_q0_seed0_bbb/result.json", json.dumps({FINAL: 1.0}).encode())
    _saved_state(s3, f"{experiment}/cell_q0_seed0_bbb/checkpoint_000002", b"12345", 5)
    # Folders named for another cell or seed are not read: the key they claim is not looked at.
    for other in ("other_q0_seed0_ccc", "cell_q0_seed1_ddd"):
        _put(s3, f"{experiment}/{other}/params.json", params)
        _saved_state(s3, f"{experiment}/{other}/checkpoint_000003", b"12345", 5)

    config = {"experiment_dir": f"s3://{experiment}", "trial_key": "k1", "cell": "cell",
              "stage": "dev", "seed": 0}  # fmt: skip
    found = earlier_attempt(config)
    assert found == f"s3://{experiment}/cell_q0_seed0_aaa/checkpoint_000000"
    tune.Checkpoint(found).to_directory(str(tmp_path / "latest"))
    assert (tmp_path / "latest" / "state.pt").read_bytes() == b"12345"
    assert earlier_attempt({**config, "trial_key": "another"}) is None
    # Under another suggestion number (a resumed search numbers anew), it is still found.
    _put(s3, f"{experiment}/cell_q7_seed0_eee/params.json", params)
    _saved_state(s3, f"{experiment}/cell_q7_seed0_eee/checkpoint_000004", b"1234567", 7)
    assert earlier_attempt(config) == f"s3://{experiment}/cell_q7_seed0_eee/checkpoint_000004"


def _sweep(tmp_path: Path, storage: str) -> Path:
    spec = {
        "name": "cloud",
        "base": {
            "model": {"encoder": TINY_BERT},
            "optim": {"max_epochs": 2, "patience": 2, "batch_size": 16, "lr": 3e-3},
            "cache_dir": "off",
        },
        "seeds": [0, 1],
        "resources": {"cpus": 1},
        "reuse_workers": True,
        "storage": storage,
    }
    path = tmp_path / "cloud.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _run(sweep: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, MIRROR_ROOT: str(tmp_path / "mirrors")}
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.run", str(sweep)],
        capture_output=True, text=True, timeout=900, cwd=tmp_path, env=env,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("storage", "says"),
    [(f"s3://no-such-bucket-{os.getpid()}/x", "no-such-bucket"), ("nosuch://bucket/x", "nosuch")],
    ids=["missing-bucket", "unknown-scheme"],  # the same on every pytest-xdist worker
)
def test_an_unreachable_storage_is_one_line_naming_the_field(
    s3: pafs.FileSystem, tmp_path: Path, storage: str, says: str
) -> None:
    done = _run(_sweep(tmp_path, storage), tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and "storage" in lines[0] and says in lines[0]
    assert "cloud.yaml" in lines[0]
    assert not (tmp_path / "mirrors").exists(), "nothing written"


def test_after_the_driver_is_lost_another_machine_resumes_from_the_bucket(
    s3: pafs.FileSystem, tmp_path: Path, semeval_root: Path
) -> None:
    """kill -9 of the driver (and its local Ray) mid-trial; --resume from an empty mirror
    continues the trial from its checkpoint in the bucket and ends as an undisturbed run, with
    the tables in the bucket and no checkpoint left there; a third machine finds it done."""
    sweep = _sweep(tmp_path, f"s3://{BUCKET}/lost")
    spec = yaml.safe_load(sweep.read_text())
    spec["base"]["data"] = {"root": str(semeval_root), "train_limit": 600, "eval_limit": 150}
    spec["base"]["optim"] |= {"max_epochs": 5, "patience": 5}
    spec["seeds"] = [3]
    sweep.write_text(yaml.safe_dump(spec))
    experiment = f"{BUCKET}/lost/cloud"
    env = {**os.environ, MIRROR_ROOT: str(tmp_path / "mirrors")}
    command = [sys.executable, "-m", "orchestrator.run", str(sweep)]

    def checkpointed() -> bool:
        return any("checkpoint_" in key for key in _keys(s3, experiment))

    kill_driver_when(command, tmp_path, checkpointed, env=env)
    before = {key.split("/")[0] for key in _keys(s3, experiment) if "/" in key}
    shutil.rmtree(tmp_path / "mirrors")  # another machine
    done = subprocess.run([*command, "--resume"], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    mirror = tmp_path / "mirrors" / "s3" / experiment
    trials = pd.read_parquet(mirror / "trials.parquet")
    assert trials["status"].tolist() == ["completed"]  # once
    (new,) = {p.parent.name for p in mirror.glob("*/params.json")} - before
    rows = [json.loads(line) for line in (mirror / new / "result.json").read_text().splitlines()]
    epochs = [row["epoch"] for row in rows if "epoch" in row]
    assert epochs[0] > 1 and epochs[-1] == 5  # continued from the bucket's checkpoint
    undisturbed = train(json.loads((mirror / new / "params.json").read_text())["train"])
    assert trials["test_macro_f1"].item() == pytest.approx(undisturbed.test["macro_f1"], abs=1e-12)
    assert "0 already completed, 1 to run -> s3://emosweep-test/lost/cloud" in done.stdout
    stored = _keys(s3, experiment)
    for name in ("sweep.json", "trials.parquet", "configs.parquet", "epochs.parquet"):
        assert name in stored
    assert not [key for key in stored if "checkpoint_" in key], "the killed attempt's too"
    assert LOCK not in stored

    shutil.rmtree(tmp_path / "mirrors")  # a third machine: everything comes from the bucket
    again = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env,
                           timeout=300)  # fmt: skip
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "1 already completed, 0 to run" in again.stdout and "nothing to run" in again.stdout
    assert (mirror / "trials.parquet").is_file()
