"""``python -m orchestrator.report`` on a real finished smoke sweep: report.md, report.html and
valid PNGs are written beside copies of the tables they were built from, the numbers in the
report are those of configs.parquet, a failed trial is listed, a missing or empty folder exits
2, and a second run replaces the report cleanly."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.image import imread

from orchestrator.report import command as report
from orchestrator.report.display_tables import HEADLINE, duration
from orchestrator.results.summary import missing_results
from orchestrator.results.tables import write_tables

FIGURES = {
    "curve_dev_jaccard.png",
    "curve_dev_macro_f1.png",
    "emotion_f1.png",
    "emotion_f1_heatmap.png",
    "search_history.png",
}
# the tables the report was built from, copied beside it so that it can be rebuilt from them
SOURCES = {"trials.parquet", "epochs.parquet", "configs.parquet", "sweep.json"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HEADINGS = {heading: column for column, heading in HEADLINE}
MEAN_STD = re.compile(r"^(\d+\.\d{4}) ± (\d+\.\d{4})$")
# Runs the report command and fails if it imported Ray or torch: it reads tables only.
TABLES_ONLY = (
    "import sys; from orchestrator.report.command import main; code = main(sys.argv[1:]); "
    "heavy = {'ray', 'torch', 'optuna'} & set(sys.modules); "
    "assert not heavy, f'imported {heavy}'; sys.exit(code)"
)


@pytest.fixture(scope="module")
def experiment(smoke_experiment: Path) -> Path:
    """The smoke sweep, run to the end on a real local Ray (conftest.py, shared)."""
    return smoke_experiment


@pytest.fixture(scope="module")
def reported(experiment: Path) -> Path:
    """The command, as a user runs it, into the default folder."""
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator.report", str(experiment)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=experiment.parent,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "report.md" in done.stdout
    return experiment / "report"


def test_the_report_files_and_valid_pngs_are_written(reported: Path, experiment: Path) -> None:
    assert {p.name for p in reported.iterdir()} == {"report.md", "report.html", *FIGURES, *SOURCES}
    for name in SOURCES:
        assert (reported / name).read_bytes() == (experiment / name).read_bytes(), name
    markdown = (reported / "report.md").read_text(encoding="utf-8")
    html = (reported / "report.html").read_text(encoding="utf-8")
    for name in FIGURES:
        data = (reported / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000, name
        assert f"]({name})" in markdown and f'src="{name}"' in html  # embedded, relative
    pixels = imread(reported / "curve_dev_jaccard.png")
    assert pixels.ndim == 3 and pixels.shape[0] > 300 and pixels.shape[1] > 600
    assert pixels.std() > 0.05  # not a blank canvas
    assert html.startswith("<!DOCTYPE html>") and "<table" in html


def test_the_headline_table_has_the_numbers_of_configs_parquet(
    experiment: Path, reported: Path
) -> None:
    markdown = (reported / "report.md").read_text(encoding="utf-8")
    configs = pd.read_parquet(experiment / "configs.parquet")
    rows = _markdown_table(markdown, "Configurations")
    assert len(rows) == len(configs) == 4
    best_first = configs.sort_values("best_dev_jaccard_mean", ascending=False)  # smoke: max
    assert [row["config"] for row in rows] == [key[:8] for key in best_first["config_key"]]
    html = (reported / "report.html").read_text(encoding="utf-8")
    for row, (_, config) in zip(rows, best_first.iterrows(), strict=True):
        assert row["cell"] == config["cell"]
        assert row["loss.alpha"] == f"{config['param.loss.alpha']:.4g}"
        assert int(row["seeds"]) == config["n_seeds"] == 2
        for heading, metric in HEADINGS.items():
            _assert_mean_std(row[heading], config[f"{metric}_mean"], config[f"{metric}_std"])
            assert f"<td>{row[heading]}</td>" in html  # the HTML shows the same cells


def test_the_per_emotion_table_has_the_test_f1_of_configs_parquet(
    experiment: Path, reported: Path
) -> None:
    markdown = (reported / "report.md").read_text(encoding="utf-8")
    configs = pd.read_parquet(experiment / "configs.parquet")
    configs = configs.set_index(configs["config_key"].str[:8])
    rows = _markdown_table(markdown, "Per-emotion test F1")
    emotions = [c for c in rows[0] if c not in ("cell", "loss.alpha", "config")]
    assert "joy" in emotions and len(emotions) == 11  # the SemEval E-c emotions
    for row in rows:
        config = configs.loc[row["config"]]
        for emotion in emotions:
            metric = f"test_{emotion}_f1"
            _assert_mean_std(row[emotion], config[f"{metric}_mean"], config[f"{metric}_std"])


def test_the_overview_counts_trials_configurations_seeds_and_time(
    experiment: Path, reported: Path
) -> None:
    markdown = (reported / "report.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Sweep report: smoke\n")
    assert "8 trials (8 completed), 4 configurations, 2 seeds (0, 1)" in markdown
    seconds = pd.read_parquet(experiment / "trials.parquet")["train_seconds"].sum()
    assert f"total training time {duration(seconds)} " in markdown
    assert "ranked by best_dev_jaccard (max)" in markdown
    assert "Failed or incomplete" not in markdown


def test_the_report_reads_tables_only_without_ray_or_torch(experiment: Path, tmp_path) -> None:
    out = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-c", TABLES_ONLY, str(experiment), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (out / "report.md").is_file()


def test_a_failed_trial_is_listed_and_its_configuration_has_one_seed_less(
    experiment: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "smoke"
    shutil.copytree(
        experiment,
        copy,
        ignore=shutil.ignore_patterns("checkpoint_*", "events.*", "*.pkl", "report"),
    )
    trial = sorted(copy.glob("weights-rho_q0_seed1_*"))[0]
    _fail_trial(trial, "RuntimeError: CUDA out of memory")
    tables = write_tables(copy)  # the real tables of a sweep with a failed trial
    trials = pd.read_parquet(tables["trials"]).set_index("trial_dir")
    assert trials.loc[trial.name, "failure"] == "error"  # it raised: Tune's error.txt
    # The sweep's exit status counts it only when this run ran it.
    assert missing_results(trials.reset_index(), {trial.name}) == 1
    assert missing_results(trials.reset_index(), set()) == 0
    assert report.main([str(copy)]) == 0
    markdown = (copy / "report" / "report.md").read_text(encoding="utf-8")
    assert "8 trials (7 completed), 4 configurations" in markdown
    failed = _markdown_table(markdown, "Failed or incomplete trials")
    assert [(r["status"], r["trial_dir"]) for r in failed] == [("failed", trial.name)]
    assert failed[0]["error"] == "RuntimeError: CUDA out of memory"
    seeds = {row["config"]: row["seeds"] for row in _markdown_table(markdown, "Configurations")}
    assert sorted(seeds.values()) == ["1", "2", "2", "2"]


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_a_missing_or_empty_results_folder_exits_2(kind: str, tmp_path: Path, capsys) -> None:
    folder = tmp_path / kind
    if kind == "empty":
        folder.mkdir()
    assert report.main([str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {folder}: "), err
    assert not (folder / "report").exists()


def test_a_second_run_replaces_the_report_cleanly(experiment: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert report.main([str(experiment), "--out", str(out)]) == 0
    first = (out / "report.md").read_text(encoding="utf-8")
    (out / "stale.png").write_bytes(PNG_SIGNATURE)  # left from an older report
    assert report.main([str(experiment), "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"report.md", "report.html", *FIGURES, *SOURCES}
    assert (out / "report.md").read_text(encoding="utf-8") == first
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging or old folder left
    assert capsys.readouterr().out.count("report:") == 2


def _markdown_table(markdown: str, heading: str) -> list[dict[str, str]]:
    """The rows of the first table under ``## heading``, as {column: cell}."""
    section = markdown.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header, rows = _cells(lines[0]), [_cells(line) for line in lines[2:]]
    return [dict(zip(header, row, strict=True)) for row in rows]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split(" | ")]


def _assert_mean_std(cell: str, mean: float, std: float) -> None:
    """A ``mean ± std`` cell against the Parquet values rounded to its 4 decimals."""
    match = MEAN_STD.match(cell)
    assert match, cell
    assert float(match[1]) == pytest.approx(round(mean, 4), abs=1e-9), cell
    assert float(match[2]) == pytest.approx(round(std, 4), abs=1e-9), cell


def _fail_trial(trial: Path, error: str) -> None:
    """What a crashed trial leaves: its epochs but no final result, and Tune's error.txt."""
    results = trial / "result.json"
    lines = results.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not json.loads(line).get("final")]
    results.write_text("\n".join(kept) + "\n", encoding="utf-8")
    (trial / "error.txt").write_text(f"Traceback (most recent call last):\n{error}\n")
