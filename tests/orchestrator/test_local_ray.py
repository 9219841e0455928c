"""The local Ray a sweep starts ends with it: every process it started is gone when the session
closes, the autoscaler monitor included, which is killed before Ray's shutdown rather than
left to Ray's one-second grace (docs/performance.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import psutil
import pytest

pytestmark = pytest.mark.slow(minutes=0.3)

SCRIPT = """
import json, os, psutil, ray
from orchestrator.tune.tuner import is_autoscaler_monitor, ray_session

@ray.remote
def pid() -> int:
    return os.getpid()

with ray_session(None):
    ray.get(pid.remote())  # a worker process too
    started = psutil.Process().children(recursive=True)
    monitors = [p.pid for p in started if is_autoscaler_monitor(p)]
print(json.dumps({"started": [p.pid for p in started], "monitors": monitors}))
"""


def test_the_local_ray_ends_whole_with_its_session() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    pids = json.loads(done.stdout.splitlines()[-1])
    # Ray still starts its monitor where this code looks for it (else the kill finds nothing
    # and every sweep waits on the monitor again).
    assert len(pids["monitors"]) == 1, pids
    _, alive = psutil.wait_procs(
        [p for pid in pids["started"] if (p := _process(pid)) is not None], timeout=10
    )
    assert not alive, [p.cmdline() for p in alive]


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None
