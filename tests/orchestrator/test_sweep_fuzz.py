"""Sweep files mutated at random: every file is either accepted or refused with exit status 2
and one-line errors that name the file. Never a traceback, and never Ray (a dry run without
--address must not start it).

The generated files start from sweeps/smoke.yaml and from a richer sweep (grid, search of every
parameter type, seeds, two-stage protocol), and from a file that extends another. A mutation
replaces a value with one of the wrong type or a bad number (negative, NaN, inf, huge), or
deletes a key, adds an unknown one, empties a list or repeats an item. Examples are derandomized,
so CI always runs the same files.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emotrain.config_errors import ConfigError
from emotrain.emotions import SEMEVAL_EMOTIONS
from orchestrator.run import main
from orchestrator.spec.sweep import load_sweep

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "sweeps" / "smoke.yaml"
FUZZ = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
MISSING = object()  # a mutation that deletes the key

# Values valid somewhere in the schema, so that mutations also reach the deeper checks.
WORDS = ["", " ", "demux", "memo", "mlm", "classifier", "representations", "predictions",
         "cossim", "sq_diff", "rho", "plutchik", "one", "inter", "intra", "complete", "none",
         "bert", "roberta", "gpt2", "two_stage", "dev", "test", "random", "tpe", "min", "table",
         "goemotions", "semeval", "spanish", "klingon", "joy", "jooy", "best_dev_jaccard",
         "accuracy", "results", "/nonexistent/data", "~nosuchuser/x", "..", "a\nb", "nul\x00",
         "1e-3", "nan", "-inf", "{mask} {text}", "{text}", "sweep.yaml", "parent.yaml"]  # fmt: skip
FIELDS = ["name", "base", "grid", "search", "seeds", "protocol", "resources", "max_failures",
          "storage", "extends", "data", "model", "loss", "optim", "eval", "transfer", "stage",
          "seed", "threads", "root", "dataset", "encoder", "tiny", "kind", "alpha", "beta",
          "space", "budget", "type", "low", "high", "log", "choices", "cpus", "gpus",
          "loss.alpha", "optim.lr", "exclude_emotions", "eval_clusters"]  # fmt: skip
NUMBERS = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, -1, 0, 1, -0.5, 0.5, 2**32, 1e308, 10**30]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    NUMBERS,
    st.sampled_from(WORDS),
    st.text(st.characters(blacklist_categories=["Cs"]), max_size=6),
)
# Keys that break lines, or that look like the union members pydantic names in its errors.
ODD_KEYS = ["a\nb", "x\u2028y", "tab\there", "", "int", "bool", "list[str]", "loss.", ".x"]
KEYS = st.one_of(
    *(st.sampled_from(keys) for keys in (FIELDS, WORDS, ODD_KEYS)), st.text(max_size=6)
)
JUNK = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=5,
)
PATH_VALUES = ["~nosuchuser/x", "a\x00b", "", " ", "/nonexistent", "..", "/dev/null", "/etc",
               "sweep.yaml", "off", "bert-base-uncased", "./missing-model"]  # fmt: skip
ENUM_VALUES = ["demux", "memo", "classifier", "mlm", "none", "inter", "intra", "complete",
               "predictions", "representations", "cossim", "sq_diff", "one", "rho", "data",
               "plutchik", "dev", "test", "semeval", "goemotions", "table", "english", "spanish",
               "arabic", "klingon"]  # fmt: skip
PATHS = st.sampled_from(PATH_VALUES)
ENUMS = st.sampled_from(ENUM_VALUES)
EMOTION_LISTS = st.lists(
    st.sampled_from(["joy", "anger", "trust", "jooy", "", "neutral"]), max_size=3
) | st.just(list(SEMEVAL_EMOTIONS))
# Options that pair with others (a memo model with a representation loss, the demo data in
# Spanish), each set to a plausible value or a bad one: together, the impossible combinations.
KNOWN = {
    "base/model/kind": ENUMS, "base/model/memo_head": ENUMS, "base/loss/local": ENUMS,
    "base/loss/local_on": ENUMS, "base/loss/global_loss": ENUMS, "base/loss/weights": ENUMS,
    "base/loss/rho": ENUMS, "base/data/dataset": ENUMS, "base/data/language": ENUMS,
    "base/data/languages": st.lists(ENUMS, max_size=3), "base/stage": ENUMS,
    "protocol": st.sampled_from(["dev", "two_stage", "test"]),
    "base/model/template": st.sampled_from(["{mask} {text}", "{text} {mask}", "{text}", "x"]),
    "base/model/encoder/tiny": st.sampled_from(["bert", "roberta", "gpt", "BERT", ""]),
    "base/model/encoder/name": PATHS, "base/data/root": PATHS, "base/data/train_file": PATHS,
    "base/transfer/eval_clusters": PATHS, "base/cache_dir": PATHS, "base/output_dir": PATHS,
    "storage": PATHS, "base/transfer/exclude_emotions": EMOTION_LISTS,
    "base/loss/alpha": NUMBERS, "base/loss/beta": NUMBERS, "base/optim/lr": NUMBERS,
    "base/optim/max_epochs": NUMBERS, "base/eval/threshold": NUMBERS, "resources/cpus": NUMBERS,
    "resources/gpus": NUMBERS, "search/budget": NUMBERS, "max_failures": NUMBERS,
    "seeds": st.lists(NUMBERS, max_size=3),
}  # fmt: skip
OPERATIONS = ["replace", "replace", "delete", "unknown_key", "empty", "repeat", "known", "known"]


SMOKE_SPEC = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))


def smoke(storage: Path) -> dict[str, Any]:
    return {**copy.deepcopy(SMOKE_SPEC), "storage": str(storage)}


def rich(storage: Path) -> dict[str, Any]:
    """A valid sweep that sets nearly every section, with a two-stage protocol."""
    encoder = {"tiny": "roberta", "hidden_size": 32, "num_layers": 1, "num_heads": 2,
               "intermediate_size": 64}  # fmt: skip
    return {
        "name": "rich",
        "base": {
            "data": {"root": None, "train_limit": 40, "preprocess": {"lowercase": True}},
            "model": {"kind": "demux", "encoder": encoder, "max_length": 48, "dropout": 0.1},
            "loss": {"local_on": "representations", "global_loss": "cossim", "beta": 0.5},
            "optim": {"lr": 1e-3, "head_lr": 2e-3, "max_epochs": 3, "weight_decay": 0.01},
            "eval": {"threshold": 0.4, "zero_division": 1, "early_stop_metric": "macro_f1"},
            "transfer": {"exclude_emotions": ["trust", "surprise"]},
        },
        "grid": {"loss.local": ["inter", "intra"], "optim.batch_size": [8, 16]},
        "search": {
            "space": {
                "loss.alpha": {"type": "float", "low": 0.01, "high": 0.9, "log": True},
                "model.encoder.num_layers": {"type": "int", "low": 1, "high": 2},
                "loss.weights": {"type": "categorical", "choices": ["one", "rho"]},
            },
            "budget": 3,
            "sampler": "random",
            "seed": 7,
            "metric": "best_dev_macro_f1",
            "mode": "max",
        },
        "seeds": [0, 1, 2],
        "protocol": "two_stage",
        "resources": {"cpus": 1, "gpus": 0},
        "max_failures": 1,
        "storage": str(storage),
    }


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The current folder during the module: a relative storage path resolves in here."""
    folder = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        yield folder


def paths(node: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a YAML document, the document itself first."""
    yield at
    if isinstance(node, dict | list):
        for key, child in node.items() if isinstance(node, dict) else enumerate(node):
            yield from paths(child, (*at, key))


def put(doc: Any, where: tuple[Any, ...], value: Any) -> Any:
    """``doc`` with the value at ``where`` replaced (or deleted, for ``MISSING``)."""
    if not where:
        return value
    node = doc
    for key in where[:-1]:
        node = node[key]
    if value is MISSING:
        del node[where[-1]]
    else:
        node[where[-1]] = value
    return doc


def value_at(doc: Any, where: tuple[Any, ...]) -> Any:
    for key in where:
        doc = doc[key]
    return doc


def set_option(doc: dict[str, Any], slashed: str, value: Any) -> None:
    """Set (or delete, for ``MISSING``) ``a/b/c``, creating the sections that are not there;
    nothing happens where a section was replaced by something else."""
    *sections, key = slashed.split("/")
    node = doc
    for section in sections:
        node = node.setdefault(section, {})
        if not isinstance(node, dict):
            return
    if value is MISSING:
        node.pop(key, None)
    else:
        node[key] = value


@st.composite
def mutants(draw: st.DrawFn, make: Any) -> dict[str, Any]:
    """A valid sweep (``make(storage)``) after one to three random mutations."""
    doc = make(Path("results"))
    # A uniform choice: hypothesis favours the first items of sampled_from (here, the name).
    pick = draw(st.randoms(use_true_random=True))
    for _ in range(draw(st.integers(1, 3))):
        if not isinstance(doc, dict):
            break  # the whole file was replaced
        where = pick.choice(list(paths(doc))[1:] or [()])
        current = value_at(doc, where)
        operation = draw(st.sampled_from(OPERATIONS))
        if operation == "delete" and where:
            doc = put(doc, where, MISSING)
        elif operation == "unknown_key" and isinstance(current, dict):
            current[draw(KEYS)] = draw(JUNK)
        elif operation == "empty":
            doc = put(doc, where, draw(st.sampled_from([[], {}, None, ""])))
        elif operation == "repeat" and isinstance(current, list) and current:
            current.append(copy.deepcopy(current[0]))
        elif operation == "known":
            option = pick.choice(sorted(KNOWN))
            set_option(doc, option, draw(KNOWN[option]))
        else:
            doc = put(doc, where, draw(JUNK))
    return doc


def write(path: Path, doc: Any) -> Path:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when built with it: faster
    path.write_text(yaml.dump(doc, Dumper=dumper, allow_unicode=True), encoding="utf-8")
    return path


def dry_run(path: Path) -> tuple[int, str]:
    """``python -m orchestrator.run PATH --dry-run`` in this process: (status, stderr)."""
    ray_before = "ray" in sys.modules
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(path), "--dry-run"])
    assert ray_before or "ray" not in sys.modules, "a dry run imported Ray"
    assert "Traceback" not in out.getvalue() + err.getvalue()
    return status, err.getvalue()


def assert_clear(path: Path, *origins: Path) -> tuple[int, str]:
    """Accepted, or refused with status 2 and only one-line errors that name a sweep file; and
    the same verdict from ``load_sweep`` (one line, naming the file) as from the command."""
    status, err = dry_run(path)
    lines = err.splitlines()
    try:
        if status != 0:  # an accepted file passed load_sweep inside the command already
            load_sweep(path)
    except ConfigError as error:
        message = str(error)
        assert len(message.splitlines()) == 1, message
        assert lines == [f"error: {message}"], err
    files = [str(origin) for origin in (path, *origins)]
    if status == 0:
        assert not [line for line in lines if line.startswith("error:")], err
        return status, err
    assert status == 2, status
    assert lines, "exit 2 without a message"
    for line in lines:
        assert any(line.startswith(f"error: {name}: ") for name in files), line
    return status, err


def test_the_starting_sweeps_are_valid(workdir: Path) -> None:
    # Otherwise every mutant would fail for the same reason and the fuzzing would test nothing.
    for name, make in (("smoke", smoke), ("rich", rich)):
        path = write(workdir / f"{name}.yaml", make(workdir / "results"))
        assert dry_run(path) == (0, ""), name


@settings(max_examples=400, **FUZZ)
@given(doc=mutants(smoke))
def test_mutated_smoke_sweeps_fail_clearly(workdir: Path, doc: Any) -> None:
    assert_clear(write(workdir / "sweep.yaml", doc))


@settings(max_examples=400, **FUZZ)
@given(doc=mutants(rich))
def test_mutated_rich_sweeps_fail_clearly(workdir: Path, doc: Any) -> None:
    assert_clear(write(workdir / "sweep.yaml", doc))


@settings(max_examples=150, **FUZZ)
@given(child=mutants(lambda storage: {"extends": "parent.yaml", "seeds": [0, 1]}))
def test_mutated_files_that_extend_another_fail_clearly(workdir: Path, child: Any) -> None:
    parent = write(workdir / "parent.yaml", rich(Path("results")))
    assert_clear(write(workdir / "child.yaml", child), parent)


@settings(max_examples=60, **FUZZ)
@given(text=st.text(max_size=40) | st.binary(max_size=40).map(lambda b: b.decode("latin-1")))
def test_files_that_are_not_sweeps_fail_clearly(workdir: Path, text: str) -> None:
    path = workdir / "text.yaml"
    path.write_text(text, encoding="utf-8")
    assert_clear(path)


def test_undecodable_and_unreadable_files_fail_clearly(workdir: Path) -> None:
    binary = workdir / "binary.yaml"
    binary.write_bytes(b"name: \xff\xfe\x00smoke\n")
    assert_clear(binary)
    assert dry_run(binary)[0] == 2
    for missing in (workdir / "nope.yaml", workdir):
        status, err = dry_run(missing)
        assert status == 2 and err.startswith(f"error: {missing}: cannot read"), err


# Only the train file is missing (preflight checks that the others exist, not what they hold).
TABLE = {"dataset": "table", "train_file": "/no/t.csv", "dev_file": str(SMOKE),
         "test_file": str(SMOKE)}  # fmt: skip
# Each mutation below must be refused: (changes as {slash/path: value}, words of the message).
REFUSED = [
    ({"seeds": "zero"}, "seeds: Input should be a valid list"),
    ({"resources/cpus": "two"}, "resources.cpus: Input should be a valid number"),
    ({"base/optim/lr": [1]}, "base.optim.lr: Input should be a valid number"),
    ({"base/model/encoder": "bert"}, "base.model.encoder: Input should be a mapping of fields"),
    ({"sedes": [1]}, "sedes: unknown field"),
    ({"base/optim/learning_rate": 0.1}, "base.optim.learning_rate: unknown field"),
    ({"search/space/loss.alpha/step": 0.1}, "search.space.loss.alpha.step: unknown field"),
    ({"name": MISSING}, "name: Field required"),
    ({"search/space/loss.alpha/high": MISSING}, "needs numbers low < high"),
    ({"search/space/loss.alpha/type": MISSING}, "search.space.loss.alpha.type: Field required"),
    ({"seeds": []}, "seeds: List should have at least 1 item"),
    ({"grid/loss.weights": []}, "grid axis 'loss.weights' has no values"),
    ({"search/space": {"loss.weights": {"type": "categorical", "choices": []}}}, "non-empty"),
    ({"seeds": [0, -1]}, "seeds.1: Input should be greater than or equal to 0"),
    ({"seeds": [2**32]}, "seeds.0: Input should be less than or equal to 4294967295"),
    ({"resources/cpus": -1}, "resources.cpus: Input should be greater than 0"),
    ({"resources/gpus": -0.5}, "resources.gpus: Input should be greater than or equal to 0"),
    ({"max_failures": -1}, "max_failures: Input should be greater than or equal to 0"),
    ({"base/optim/lr": -1e-3}, "base.optim.lr: Input should be greater than 0"),
    ({"search/budget": 0}, "search.budget: Input should be greater than or equal to 1"),
    ({"search/budget": 10**9}, "search.budget: Input should be less than or equal to 10000"),
    ({"base/optim/lr": math.nan}, "base.optim.lr: Input should be a finite number"),
    ({"base/optim/lr": math.inf}, "base.optim.lr: Input should be a finite number"),
    ({"resources/cpus": math.inf}, "resources.cpus: Input should be a finite number"),
    ({"search/space/loss.alpha/low": math.nan}, "loss.alpha.low: Input should be a finite"),
    ({"search/space/loss.alpha/high": -math.inf}, "loss.alpha.high: Input should be a finite"),
    ({"grid/loss.weights": ["one", math.nan]}, "grid.loss.weights.1"),
    ({"base/transfer": {"exclude_emotions": ["jooy"]}}, "unknown emotion jooy; SemEval's"),
    ({"base/transfer": {"exclude_emotions": ["joy", "joy"]}}, "repeated name joy"),
    ({"base/transfer": {"exclude_emotions": ["joy", ""]}}, "an empty name"),
    ({"base/model/kind": "memo", "base/loss/local_on": "representations"}, "representation"),
    ({"base/model/kind": "memo", "base/loss/global_loss": "cossim"}, "representation losses"),
    ({"base/model/kind": "memo", "base/transfer": {"exclude_emotions": ["joy"]}}, "MEmo"),
    ({"grid": {"model.kind": ["demux", "memo"]}, "base/loss/global_loss": "sq_diff"}, "kind"),
    ({"base/model/encoder/tiny": "gpt"}, "base.model.encoder.tiny: Input should be 'bert' or"),
    ({"base/model/encoder/name": "bert-base-uncased"}, "set exactly one of 'name'"),
    ({"base/model/encoder": {"name": ""}}, "base.model.encoder.name: String should have at"),
    ({"base/data/root": "/nonexistent/semeval"}, "base.data.root: /nonexistent/semeval: folder"),
    ({"base/data/language": "spanish"}, "the demo data (root null) is English only"),
    ({"base/data": {"dataset": "goemotions", "root": "/nonexistent/go"}}, "folder not found"),
    ({"base/data": TABLE}, "base.data.train_file: /no/t.csv: file not found"),
    ({"base/transfer": {"eval_clusters": "/no/clusters.json"}}, "eval_clusters: /no/clusters"),
    ({"base/seed": 3}, "base: Value error, seed: each trial's seed comes from seeds"),
    ({"grid/seed": [1, 2]}, "grid: Value error, seed: each trial's seed comes from seeds"),
    ({"grid/threads": [1, 2]}, "threads comes from resources.cpus"),
    ({"search/space/loss.alpha/log": True, "search/space/loss.alpha/low": 0}, "low > 0"),
    ({"search/space": {"optim.batch_size": {"type": "int", "low": 4, "high": 8.5}}}, "whole"),
    ({"search/space/loss.alpha/choices": ["a"]}, "choices apply to categorical parameters"),
    ({"search/metric": "accuracy"}, "metric 'accuracy' is not reported by train"),
    ({"storage": "~nosuchuser/results"}, "storage: Value error, ~nosuchuser/results: no such"),
    ({"storage": "a\x00b"}, "storage: Value error, a path cannot hold a NUL character"),
    ({"grid": {"loss.weights\nx": ["one"]}}, "grid.loss.weights\\nx: unknown field"),
    ({"protocol": "two_stage", "base/stage": "test"}, "leave stage at dev"),
    ({"extends": "missing.yaml"}, "extends: "),
    ({"extends": "sweep.yaml"}, "extends: cycle"),
]


@pytest.mark.parametrize(("changes", "expected"), REFUSED, ids=[e for _, e in REFUSED])
def test_each_bad_input_class_is_refused(workdir: Path, changes: dict, expected: str) -> None:
    doc = smoke(workdir / "results")
    for slashed, value in changes.items():
        set_option(doc, slashed, value)
    path = write(workdir / "sweep.yaml", doc)
    status, err = assert_clear(path)
    assert status == 2 and expected in err, err
    assert len(err.splitlines()) == 1, err


def test_a_dry_run_in_a_fresh_interpreter_never_imports_ray(workdir: Path) -> None:
    probe = (
        "import sys; from orchestrator.run import main; "
        "codes = [main([path, '--dry-run']) for path in sys.argv[1:]]; "
        "assert 'ray' not in sys.modules, 'Ray was imported'; print(codes)"
    )
    good = write(workdir / "fresh-good.yaml", rich(workdir / "results"))
    bad = write(workdir / "fresh-bad.yaml", {**rich(workdir / "results"), "seeds": [-1]})
    done = subprocess.run(
        [sys.executable, "-c", probe, str(good), str(bad)],
        capture_output=True, text=True, timeout=300, cwd=workdir,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[0, 2]"
