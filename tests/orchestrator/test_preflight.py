"""``--dry-run`` prints the plan and the preflight problems without starting Ray; a real run
checks the trial's resources against the Ray cluster before Tune starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from orchestrator.run import main

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "sweeps" / "smoke.yaml"
WITHOUT_RAY = (
    "import sys; from orchestrator.run import main; code = main(sys.argv[1:]); "
    "assert 'ray' not in sys.modules, 'Ray was imported'; sys.exit(code)"
)


def _sweep(tmp_path: Path, **changes: object) -> Path:
    spec = yaml.safe_load(SMOKE.read_text())
    spec["storage"] = str(tmp_path / "results")
    for dotted, value in changes.items():
        node = spec
        *parents, leaf = dotted.split("__")
        for part in parents:
            node = node[part]
        node[leaf] = value
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_the_dry_run_prints_the_plan_and_starts_no_ray(tmp_path: Path) -> None:
    path = _sweep(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_RAY, str(path), "--dry-run"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for expected in (
        f"sweep smoke ({path})",
        f"storage:   {tmp_path / 'results' / 'smoke'}",
        "seeds:     0, 1",
        "resources: 1 CPU, 0 GPU per trial",
        "search:    tpe (seed 0) over loss.alpha; 2 suggestion(s) per cell; max best_dev_jaccard",
        "2 cells x 2 suggestions x 2 seeds = 8; 0 exist completed in storage, 8 to run",
        "cell weights-one: loss.weights=one",
        "cell weights-rho: loss.weights=rho",
        "q1  new (Optuna suggests it during the run)  [to run: seeds 0 1]",
        "preflight: data files, encoders and resources (this machine) OK; nothing was run",
    ):
        assert expected in out, out
    assert not (tmp_path / "results").exists()


def test_a_missing_data_root_is_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "nowhere"
    path = _sweep(tmp_path, base__data__root=str(root))
    assert main([str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"error: {path}: base.data.root: {root}: folder not found"]
    (root / "English").mkdir(parents=True)  # a folder without the files: one line, not three
    assert main([str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err.splitlines()
    train = root / "English" / "2018-E-c-En-train.txt"
    assert err == [f"error: {path}: base.data.root: {train}: file not found (data root {root})"]


def test_real_data_passes_preflight(
    tmp_path: Path, semeval_root: Path, capsys: pytest.CaptureFixture
) -> None:
    assert (
        main([str(_sweep(tmp_path)), "--dry-run", "--set", f"base.data.root={semeval_root}"]) == 0
    )
    assert "preflight: data files, encoders and resources" in capsys.readouterr().out


def test_encoders_a_hub_name_is_a_note_a_missing_folder_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = _sweep(tmp_path)
    hub = ["--set", "base.model.encoder={name: someone/some-model}"]
    assert main([str(path), "--dry-run", *hub]) == 0
    assert "note: base.model.encoder.name: someone/some-model is not a local folder: it will " \
        "be downloaded" in capsys.readouterr().out  # fmt: skip
    folder = ["--set", f"base.model.encoder={{name: {tmp_path / 'no-model'}}}"]
    assert main([str(path), "--dry-run", *folder]) == 2
    err = capsys.readouterr().err
    assert err == f"error: --set base.model.encoder: base.model.encoder.name: " \
        f"{tmp_path / 'no-model'}: folder not found\n"  # fmt: skip


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (  # 4 workers of a quarter CPU each: only the GPUs are missing
            {"resources__gpus": 4, "resources__cpus": 0.25},
            "resources.gpus: 4 per trial (4 workers x 1) but this machine has 0 GPUs",
        ),
        ({"resources__cpus": 4096}, "resources.cpus: 4096 per trial but this machine has"),
    ],
)
def test_a_dry_run_checks_resources_against_this_machine(
    tmp_path: Path, change: dict, expected: str, capsys: pytest.CaptureFixture
) -> None:
    path = _sweep(tmp_path, **change)
    assert main([str(path), "--dry-run"]) == 2
    assert capsys.readouterr().err.startswith(f"error: {path}: {expected}")


@pytest.mark.parametrize(
    ("option", "value"), [("precision", "bf16"), ("compile", "reduce-overhead")]
)
def test_gpu_only_options_without_gpus_are_named_before_any_trial(
    tmp_path: Path, option: str, value: str, capsys: pytest.CaptureFixture
) -> None:
    path = _sweep(tmp_path, **{f"base__optim__{option}": value})
    assert main([str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"error: {path}: base.optim.{option}: {value} needs a CUDA GPU, but resources.gpus is 0"
    ]
    cpu = _sweep(tmp_path, **{f"base__optim__{option}": value, "resources__gpus": 1},
                 base__device="cpu")  # fmt: skip
    main([str(cpu), "--dry-run"])
    assert f"base.optim.{option}: {value} needs a CUDA GPU, but device is cpu" in (
        capsys.readouterr().err
    )


def test_a_run_asking_more_gpus_than_the_cluster_has_fails_before_tune(tmp_path: Path) -> None:
    path = _sweep(tmp_path, resources__gpus=4)
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator.run", str(path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    asked = "4 per trial (4 workers x 1)"
    expected = f"error: {path}: resources.gpus: {asked} but the cluster has 0 GPUs"
    assert expected in done.stderr.splitlines(), done.stderr[-2000:]
    assert not (tmp_path / "results").exists()  # Tune never started: no trial folder, no log


def test_a_malformed_data_file_is_named_before_ray_starts(
    tmp_path: Path, semeval_root: Path
) -> None:
    """Every data file is read through in the preflight: a bad line stops the run at once,
    with exit status 2, instead of failing every trial."""
    root = tmp_path / "semeval"
    (root / "English").mkdir(parents=True)
    for source in (semeval_root / "English").glob("2018-E-c-En-*.txt"):
        lines = source.read_text(encoding="utf-8").splitlines(keepends=True)[:40]
        (root / "English" / source.name).write_text("".join(lines), encoding="utf-8")
    train = root / "English" / "2018-E-c-En-train.txt"
    lines = train.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[29].split("\t")
    lines[29] = "\t".join([*fields[:2], "7", *fields[3:]])  # anger, the first label
    train.write_text("".join(lines), encoding="utf-8")
    path = _sweep(tmp_path, base__data__root=str(root))
    for flags in (["--dry-run"], []):
        done = subprocess.run(
            [sys.executable, "-c", WITHOUT_RAY, str(path), *flags],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 2, done.stdout + done.stderr
        problem = f"{train}:30: label anger='7' is not 0 or 1"
        assert done.stderr.splitlines() == [f"error: {path}: base.data.root: {problem}"]
    assert not (tmp_path / "results").exists()


def test_a_malformed_table_file_names_its_option(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    files = {}
    for split in ("train", "dev", "test"):
        files[split] = tmp_path / f"{split}.csv"
        rows = ["text,joy,anger", "a happy day,1,0", "so cross,0,1"]
        files[split].write_text("\n".join(rows) + "\n", encoding="utf-8")
    files["dev"].write_text("text,joy,anger\na happy day,1,yes\n", encoding="utf-8")
    data = {"dataset": "table", "root": None, "language": "english"}
    data |= {f"{split}_file": str(file) for split, file in files.items()}
    path = _sweep(tmp_path, base__data=data)
    assert main([str(path), "--dry-run"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {path}: base.data.dev_file: {files['dev']}:2: ")
    assert "anger" in line
