"""cluster/slurm.sbatch on a real Slurm: a one-node cluster on this machine (munged, slurmctld
and slurmd from Debian's slurm-wlm, installed here when missing), configured in a folder of its
own with its own ports, so it touches no other Slurm or Ray. The smoke sweep submitted with
sbatch runs on the allocation's Ray, which refuses a client with the wrong token; the same
sbatch command then runs nothing. Without root or Slurm the test skips, except under CI=true,
where it fails."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psutil
import pytest
from conftest import _require
from local_ports import free_port

pytestmark = pytest.mark.slow(minutes=2)  # on 2 CPUs: see conftest.py

REPO = Path(__file__).resolve().parents[2]
DAEMONS = ("slurmctld", "slurmd", "munged")
SLURM_CONF = """\
ClusterName=emosweep-test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge.socket
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
{node} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def _installed() -> bool:
    """Slurm and munge are there, installed from Debian's packages when missing (as root)."""
    if all(shutil.which(tool) for tool in (*DAEMONS, "sbatch")):
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "slurm-wlm", "munge"]
    for command in (["apt-get", "update", "-q"], install):
        if subprocess.run(command, env=env, capture_output=True, timeout=600).returncode:
            return False
    return all(shutil.which(tool) for tool in (*DAEMONS, "sbatch"))


@pytest.fixture(scope="module")
def slurm() -> Iterator[dict[str, str]]:
    """A one-node Slurm on this machine; the environment that submits to it."""
    _require(os.geteuid() == 0, "the Slurm test runs slurmd as root")
    _require(_installed(), "Slurm (slurm-wlm, munge) is not installed and could not be")
    # munged wants every folder above its socket searchable by all: not pytest's tmp_path.
    root = Path(tempfile.mkdtemp(prefix="emosweep-slurm-"))
    root.chmod(0o711)
    (root / "state").mkdir()
    (root / "spool").mkdir()
    key = root / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    host = socket.gethostname().split(".")[0]
    # The node as slurmd sees it (its real CPUs and memory), on localhost.
    node = subprocess.run(["slurmd", "-C"], capture_output=True, text=True).stdout.splitlines()[0]
    conf = root / "slurm.conf"
    conf.write_text(SLURM_CONF.format(host=host, root=root, node=node, ctld_port=free_port(),
                                      slurmd_port=free_port()))  # fmt: skip
    env = {**os.environ, "SLURM_CONF": str(conf)}
    munged = ["munged", f"--socket={root}/munge.socket", f"--key-file={key}",
              f"--pid-file={root}/munged.pid", f"--log-file={root}/munged.log",
              f"--seed-file={root}/munged.seed"]  # fmt: skip
    try:
        for command in (munged, ["slurmctld", "-f", str(conf)], ["slurmd", "-f", str(conf)]):
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
            _require(done.returncode == 0, f"{command[0]} did not start: {done.stderr.strip()}")
        _require(_node_idle(env), f"the test's Slurm did not start; see the logs in {root}")
        yield env
    finally:
        subprocess.run(["scancel", "--full", "--user=root"], env=env, capture_output=True)
        _stop(root)
    shutil.rmtree(root, ignore_errors=True)


def _node_idle(env: dict[str, str]) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = subprocess.run(["sinfo", "--noheader", "--format=%t"], env=env,
                               capture_output=True, text=True).stdout.strip()  # fmt: skip
        if state == "idle":
            return True
        time.sleep(0.5)
    return False


def _stop(root: Path) -> None:
    """Stop the daemons this test started, by the process ids in their pid files."""
    for daemon in DAEMONS:
        pid_file = root / f"{daemon}.pid"
        if not pid_file.is_file():
            continue
        pid = int(pid_file.read_text().split()[0])
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.2)


def _sbatch(env: dict[str, str], folder: Path, semeval_root: Path) -> str:
    """Submit the smoke sweep on real data (a slice of it), storage in ``folder``, as the
    script's header says (from the repository root); the job's number."""
    cpus = int(re.search(r"CPUs=(\d+)", Path(env["SLURM_CONF"]).read_text())[1])
    command = ["sbatch", "--parsable", "--nodes=1", f"--cpus-per-task={cpus}",
               f"--output={folder}/slurm-%j.out", "cluster/slurm.sbatch", "sweeps/smoke.yaml",
               "--set", f"base.data.root={semeval_root}", "--set", "base.data.train_limit=300",
               "--set", "base.data.eval_limit=100", "--storage", f"{folder}/results"]  # fmt: skip
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _state(env: dict[str, str], job: str) -> str:
    shown = subprocess.run(["scontrol", "show", "job", job], env=env, capture_output=True,
                           text=True, timeout=60).stdout  # fmt: skip
    state, exit_code = re.search(r"JobState=(\S+).*?ExitCode=(\S+)", shown, re.DOTALL).groups()
    return f"{state} {exit_code}"


def _finish(env: dict[str, str], job: str, folder: Path) -> str:
    """The job's output, once it has ended; its exit status checked."""
    deadline = time.monotonic() + 600
    while (state := _state(env, job)).split()[0] in ("PENDING", "CONFIGURING", "RUNNING",
                                                     "COMPLETING"):  # fmt: skip
        assert time.monotonic() < deadline, f"job {job} still {state}"
        time.sleep(0.5)
    output = (folder / f"slurm-{job}.out").read_text()
    assert state == "COMPLETED 0:0", f"job {job}: {state}\n{output[-4000:]}"
    return output


def _wrong_token_refused(env: dict[str, str], job: str, folder: Path) -> None:
    """Once the allocation's Ray is up, a client with another token is refused."""
    deadline = time.monotonic() + 300
    found = None
    while found is None:
        state = _state(env, job)
        assert state.startswith(("PENDING", "RUNNING")), f"job {job}: {state}"
        assert time.monotonic() < deadline, "the allocation's Ray never came up"
        output = folder / f"slurm-{job}.out"
        found = (
            re.search(r"Ray: 1 of 1 nodes up at (\S+)", output.read_text())
            if output.is_file()
            else None
        )
        time.sleep(0.5)
    probe = "import ray, sys; ray.init(address=sys.argv[1])"
    client_env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "0" * 64}
    client = subprocess.Popen([sys.executable, "-c", probe, found[1]], env=client_env, text=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        # The client retries for a while before it gives up: its first refusal is enough.
        lines = []
        for line in client.stderr:
            lines.append(line)
            if "InvalidAuthToken" in line or "Connected to Ray cluster" in line:
                break
        assert lines and "InvalidAuthToken" in lines[-1], "".join(lines[-20:])
    finally:
        client.kill()
        client.communicate()


def test_a_sweep_in_an_allocation_then_the_same_command_runs_nothing(
    slurm: dict[str, str], semeval_root: Path, tmp_path: Path
) -> None:
    first_job = _sbatch(slurm, tmp_path, semeval_root)
    _wrong_token_refused(slurm, first_job, tmp_path)
    first = _finish(slurm, first_job, tmp_path)
    assert "8 trials, 0 already completed, 8 to run" in first, first[-4000:]
    experiment = tmp_path / "results" / "smoke"
    trials = pd.read_parquet(experiment / "trials.parquet")
    assert len(trials) == 8 and (trials["status"] == "completed").all()
    assert trials["test_jaccard"].notna().all()
    assert len(pd.read_parquet(experiment / "configs.parquet")) == 4
    trial_folders = sorted(path.name for path in experiment.glob("*/result.json"))
    assert len(trial_folders) == 8

    again_job = _sbatch(slurm, tmp_path, semeval_root)
    again = _finish(slurm, again_job, tmp_path)
    assert "8 trials, 8 already completed, 0 to run" in again, again[-4000:]
    assert "nothing to run" in again
    assert sorted(path.name for path in experiment.glob("*/result.json")) == trial_folders
    # Each allocation's Ray is stopped, and its folder removed.
    folders = [f"/tmp/ray-{job}" for job in (first_job, again_job)]
    assert not [folder for folder in folders if Path(folder).exists()]
    commands = [
        " ".join(process.info["cmdline"] or []) for process in psutil.process_iter(["cmdline"])
    ]
    assert not [command for command in commands if any(folder in command for folder in folders)]
