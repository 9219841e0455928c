"""Nothing from a results folder or a model folder received from someone else is executed.

Ray writes pickles into every results folder (tuner.pkl, params.pkl, error.pkl, searcher
state); we never read them. Here they are replaced by malicious pickles whose loading would
create a marker file, in a real finished sweep, and the folder is aggregated, reported and
planned again: no marker may appear. emotrain's own loaders (the resumable training state, a
saved model) refuse pickled payloads. A last test keeps unsafe loading out of the source.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
import yaml
from tiny_encoder import TINY_BERT

from emotrain import train
from emotrain.checkpoint import load_model
from emotrain.train_state import LATEST, load_state

pytestmark = pytest.mark.slow(minutes=1)  # on 2 CPUs: see conftest.py

REPO = Path(__file__).resolve().parents[2]
# Every name under which Ray leaves a pickle in a results folder (or might), per level.
EXPERIMENT_PICKLES = ["tuner.pkl", "experiment_state-2026-01-01_00-00-00.pkl",
                      "trainable.pkl", "searcher-state-2026-01-01_00-00-00.pkl",
                      "basic-variant-state.pkl"]  # fmt: skip
TRIAL_PICKLES = ["params.pkl", "error.pkl", "checkpoint_000000/data.pkl",
                 "checkpoint_000000/checkpoint.pkl", "rank_0/checkpoint.pkl"]  # fmt: skip
TRIAL_TORCH = ["checkpoint_000000/latest/state.pt", "checkpoint_000000/state.pt", "model.pt"]
TINY_SWEEP = {
    "name": "tiny",
    "base": {
        "data": {"root": None, "train_limit": 32, "eval_limit": 16},
        "model": {"encoder": TINY_BERT, "max_length": 32},
        "optim": {"max_epochs": 1, "batch_size": 16, "lr": 3e-3},
    },
    "seeds": [0],
    "resources": {"cpus": 1},
}
WITHOUT_RAY = (
    "import sys; from orchestrator.run import main; code = main(sys.argv[1:]); "
    "assert 'ray' not in sys.modules, 'Ray was imported'; sys.exit(code)"
)


class Payload:
    """Unpickling this runs ``call(*args)``: here, the creation of a marker file."""

    def __init__(self, call: Callable[..., Any], *args: Any) -> None:
        self.call, self.args = call, args

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return self.call, self.args


def payloads(marker: Path) -> list[Payload]:
    """Two ways of writing ``marker``: a method call and a shell command."""
    return [Payload(Path.touch, marker), Payload(os.system, f"touch '{marker}'")]


def plant(path: Path, payload: Payload, with_torch: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if with_torch:
        torch.save({"model": payload}, path)
    else:
        path.write_bytes(pickle.dumps(payload))


def run(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, timeout=900, cwd=cwd
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real finished sweep (one tiny trial on the demo data), run on a local Ray."""
    workdir = tmp_path_factory.mktemp("tiny_sweep")
    sweep = workdir / "tiny.yaml"
    sweep.write_text(yaml.safe_dump({**TINY_SWEEP, "storage": str(workdir / "results")}))
    run("-m", "orchestrator.run", str(sweep), cwd=workdir)
    experiment = workdir / "results" / "tiny"
    assert (experiment / "tuner.pkl").is_file()  # Ray does write pickles here
    return experiment


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("model") / "demux"
    train({**TINY_SWEEP["base"], "seed": 0, "threads": 1, "cache_dir": "off",
           "output_dir": str(directory)})  # fmt: skip
    return directory


def test_the_payloads_are_live(tmp_path: Path) -> None:
    """Otherwise the tests below could not fail: loading a planted file does write the marker."""
    for number, payload in enumerate(payloads(tmp_path / "marker")):
        plant(tmp_path / f"{number}.pkl", payload)
        pickle.loads((tmp_path / f"{number}.pkl").read_bytes())
        assert (tmp_path / "marker").is_file()
        (tmp_path / "marker").unlink()
    plant(tmp_path / "state.pt", payloads(tmp_path / "marker")[0], with_torch=True)
    torch.load(tmp_path / "state.pt", weights_only=False)
    assert (tmp_path / "marker").is_file()


def test_a_received_results_folder_runs_nothing_from_its_pickles(
    finished: Path, tmp_path: Path
) -> None:
    storage = tmp_path / "received"
    experiment = storage / "tiny"
    shutil.copytree(finished, experiment)
    marker = tmp_path / "PWNED"
    (trial,) = [p.parent for p in experiment.glob("*/params.json")]
    for number, name in enumerate(EXPERIMENT_PICKLES):
        plant(experiment / name, payloads(marker)[number % 2])
    for number, name in enumerate(TRIAL_PICKLES):
        plant(trial / name, payloads(marker)[number % 2])
    for name in TRIAL_TORCH:
        plant(trial / name, payloads(marker)[0], with_torch=True)
    (trial / "checkpoint_000000" / "latest" / "progress.json").write_text("{}")
    for table in ("trials", "epochs", "configs"):
        (experiment / f"{table}.parquet").unlink()

    run("-m", "orchestrator.aggregate", str(experiment), cwd=tmp_path)
    assert not marker.exists()
    poison_parquet(experiment / "epochs.parquet", pickle.dumps(payloads(marker)[0]))
    run("-m", "orchestrator.report", str(experiment), cwd=tmp_path)
    assert not marker.exists()
    assert (experiment / "trials.parquet").is_file() and (experiment / "configs.parquet").is_file()
    assert (experiment / "report" / "report.md").is_file()
    assert (experiment / "report" / "report.html").is_file()

    # Planned again on that storage: the trial is found (from its JSON) and reused, without Ray.
    sweep = tmp_path / "tiny.yaml"
    sweep.write_text(yaml.safe_dump({**TINY_SWEEP, "storage": str(storage)}))
    done = run("-c", WITHOUT_RAY, str(sweep), cwd=tmp_path)
    assert "1 already completed, 0 to run" in done.stdout, done.stdout
    assert not marker.exists()
    assert (experiment / "tuner.pkl").read_bytes() == pickle.dumps(payloads(marker)[0])


def poison_parquet(path: Path, payload: bytes) -> None:
    """Mark a column with the pickled extension type older pyarrow versions unpickled on read
    (CVE-2023-47248): the report must read the table without running the payload."""
    table = pq.read_table(path)
    metadata = {b"ARROW:extension:name": b"arrow.py_extension_type",
                b"ARROW:extension:metadata": payload}  # fmt: skip
    fields = [table.schema.field(0).with_metadata(metadata), *list(table.schema)[1:]]
    schema = pa.schema(fields, metadata=table.schema.metadata)
    pq.write_table(pa.Table.from_arrays(table.columns, schema=schema), path)


@pytest.mark.parametrize("with_torch", [True, False], ids=["torch-save", "raw-pickle"])
def test_a_planted_training_state_is_refused_unexecuted(tmp_path: Path, with_torch: bool) -> None:
    """The per-epoch state a retried or resumed trial reads (weights_only=True)."""
    marker = tmp_path / "PWNED"
    latest = tmp_path / "state" / LATEST
    plant(latest / "state.pt", payloads(marker)[0], with_torch=with_torch)
    (latest / "progress.json").write_text(json.dumps({"random": {}}))
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        load_state(tmp_path / "state")
    assert not marker.exists()


@pytest.mark.parametrize("target", ["head.safetensors", "encoder/model.safetensors"])
def test_a_saved_model_with_a_pickle_is_refused_unexecuted(
    saved_model: Path, tmp_path: Path, target: str
) -> None:
    model = tmp_path / "model"
    shutil.copytree(saved_model, model)
    marker = tmp_path / "PWNED"
    plant(model / target, payloads(marker)[0])
    with pytest.raises(ValueError, match=r": damaged weights \(Error while deserializing header"):
        load_model(model)
    assert not marker.exists()


def test_a_saved_model_with_only_pickled_weights_is_refused_unexecuted(
    saved_model: Path, tmp_path: Path
) -> None:
    """Without model.safetensors, transformers would fall back to pytorch_model.bin (a pickle);
    load_model asks for safetensors only."""
    model = tmp_path / "model"
    shutil.copytree(saved_model, model)
    (model / "encoder" / "model.safetensors").unlink()
    marker = tmp_path / "PWNED"
    plant(model / "encoder" / "pytorch_model.bin", payloads(marker)[0], with_torch=True)
    with pytest.raises(OSError, match=r"no file named model\.safetensors"):
        load_model(model)
    assert not marker.exists()


def test_a_saved_model_asking_for_remote_code_runs_none(saved_model: Path, tmp_path: Path) -> None:
    """A config pointing at code shipped in the folder: trust_remote_code is never on."""
    model = tmp_path / "model"
    shutil.copytree(saved_model, model)
    marker = tmp_path / "PWNED"
    encoder = model / "encoder"
    (encoder / "evil.py").write_text(f"from pathlib import Path\nPath({str(marker)!r}).touch()\n")
    for name, auto in (("config.json", "AutoModel"), ("tokenizer_config.json", "AutoTokenizer")):
        config = json.loads((encoder / name).read_text())
        config["auto_map"] = {auto: "evil.Evil"}
        (encoder / name).write_text(json.dumps(config))
    with contextlib.suppress(ValueError, OSError):
        load_model(model)  # loading the built-in classes, or refusing, are both fine
    assert not marker.exists()


UNSAFE_MODULES = {"pickle", "cloudpickle", "dill", "marshal", "shelve", "joblib"}
# Calls that unpickle or run code from a file; Ray's restore APIs read the pickles of a folder.
BUILTINS = {"eval", "exec"}
UNSAFE_CALLS = ("yaml.load", "Tuner.restore")
UNSAFE_METHODS = {"read_pickle", "unsafe_load", "ExperimentAnalysis"}


def unsafe_call(name: str) -> bool:
    if name in BUILTINS or name.rsplit(".", 1)[-1] in UNSAFE_METHODS:
        return True
    return any(f".{name}".endswith(f".{call}") for call in UNSAFE_CALLS)


def unsafe_uses(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Each place in a module that could load a pickle or run code it did not ship with."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [alias.name for alias in node.names]
            modules = [getattr(node, "module", None) or "", *names]
            if UNSAFE_MODULES & {part for module in modules for part in module.split(".")}:
                yield node.lineno, "imports a pickle module"
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        keywords = {k.arg: ast.unparse(k.value) for k in node.keywords if k.arg}
        if unsafe_call(name):
            yield node.lineno, f"calls {name}"
        if name == "torch.load" and keywords.get("weights_only") != "True":
            yield node.lineno, "torch.load without weights_only=True"
        if name.endswith("from_pretrained") and keywords.get("trust_remote_code") != "False":
            yield node.lineno, f"{name} without trust_remote_code=False"
        if keywords.get("allow_pickle") not in (None, "False"):
            yield node.lineno, "allow_pickle"


def test_the_source_never_loads_pickles_or_remote_code() -> None:
    sources = sorted([*(REPO / "emotrain").rglob("*.py"), *(REPO / "orchestrator").rglob("*.py")])
    found = [
        f"{path.relative_to(REPO)}:{line}: {what}"
        for path in sources
        for line, what in unsafe_uses(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not found, "\n".join(found)
    # The check itself can fail: each unsafe form is caught.
    for bad in ("import pickle", "from ray.cloudpickle import loads", "torch.load(path)",
                "AutoModel.from_pretrained(name)", "yaml.load(text)", "pd.read_pickle(p)",
                "np.load(p, allow_pickle=True)", "tune.Tuner.restore(path)"):  # fmt: skip
        assert list(unsafe_uses(ast.parse(bad))), bad
