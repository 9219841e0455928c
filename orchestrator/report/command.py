"""Write an experiment's report: ``python -m orchestrator.report RESULTS_DIR [--out DIR]``.

``RESULTS_DIR`` is an experiment folder (``results/smoke``) or a report folder this command
wrote. Only its Parquet tables and ``sweep.json`` are read. ``report.md`` and ``report.html``
(the same content) and their PNG figures are written into ``DIR`` (default
``RESULTS_DIR/report``; a report folder is rebuilt in place): the papers' table of the
configurations (mean ± std over seeds, best first by the sweep's metric), each configuration
against the sweep's baseline (``analysis.baseline``: paired tests, verdicts corrected for many
comparisons, the seeds needed; see analysis/significance.py), the per-emotion F1 as a table,
bars and a heat-map, the papers' numbers beside the measured ones (``analysis.reference``), learning
curves, the Optuna search history, the cost (wall time, CPU- and GPU-hours, memory peaks), and
the trials that did not complete.

The report folder also holds the tables it was built from (trials, epochs, configs, test_stage
when there is one, and ``sweep.json``) and the comparisons it shows (``significance.parquet``),
so that it can be committed (``results/measured/<study>``) and rebuilt from the repository
alone: ``python -m orchestrator.report results/measured/<study>``.

The folder is built beside its destination and renamed into place, so a reader sees the old
report or the new one, never a mix. A missing or empty results folder exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from orchestrator.analysis.significance import TABLE
from orchestrator.report import plots
from orchestrator.report.analysis_sections import (
    cost_section,
    reference_sections,
    significance_sections,
)
from orchestrator.report.display_tables import (
    duration,
    emotion_prefix,
    emotion_table,
    headline_table,
    problem_table,
    ranked,
    test_stage_table,
)
from orchestrator.report.inputs import Experiment, ReportInputError, load_experiment
from orchestrator.report.render import ReportSection, markdown, page
from orchestrator.spec.record import RECORD

CURVES = [("dev_jaccard", "dev Jaccard"), ("dev_macro_f1", "dev macro-F1")]
REPORT = "report.md"
SOURCE_TABLES = ("trials", "epochs", "configs", "test_stage")  # what load_experiment reads
FOLDER_MODE = 0o755  # mkdtemp makes 0700; a report is meant to be read by others too


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestrator.report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("results", type=Path, help="an experiment folder (results/<name>)")
    parser.add_argument("--out", type=Path, help="the report folder (default RESULTS/report)")
    args = parser.parse_args(argv)
    out = args.out or default_out(args.results)
    try:
        experiment = load_experiment(args.results)
        if out.exists() and not out.is_dir():
            raise ReportInputError(f"{out}: exists and is not a folder")
    except ReportInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    written = write_report(experiment, out)
    figures = [name for name in written if name.endswith(".png")]
    print(f"report: {out / REPORT}, {out / 'report.html'} and {len(figures)} figures")
    return 0


def default_out(results: Path) -> Path:
    """``results/report``, or ``results`` itself when it is a report folder (it holds
    report.md): rebuilt in place from the tables it holds."""
    return results if (results / REPORT).is_file() else results / "report"


def write_report(experiment: Experiment, out: Path) -> list[str]:
    """Build the report folder and swap it in; the names of the files it holds."""
    return replace_folder(out, lambda folder: _fill(experiment, folder))


def replace_folder(out: Path, fill: Callable[[Path], list[str]]) -> list[str]:
    """``fill`` a fresh folder beside ``out``, then rename it to ``out``. A folder cannot be
    renamed over a non-empty one, so the old report is first renamed aside, then deleted."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
    try:
        written = fill(staging)
        os.chmod(staging, FOLDER_MODE)
        if out.exists():
            out.rename(old)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if old.exists() and not out.exists():  # the swap failed halfway: keep the old report
            old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return written


def _fill(experiment: Experiment, folder: Path) -> list[str]:
    sections = build_sections(experiment, folder)
    title = f"Sweep report: {experiment.name}"
    (folder / REPORT).write_text(markdown(title, sections), encoding="utf-8")
    (folder / "report.html").write_text(page(title, sections), encoding="utf-8")
    figures = [name for section in sections for name, _ in section.figures]
    return [REPORT, "report.html", *figures, *_sources(experiment, folder)]


def _sources(experiment: Experiment, folder: Path) -> list[str]:
    """Copy the tables the report was built from into ``folder``, and write the comparisons it
    shows: the folder can then be reported on again on its own."""
    names = [f"{table}.parquet" for table in SOURCE_TABLES] + [RECORD]
    copied = [name for name in names if (experiment.folder / name).is_file()]
    for name in copied:
        shutil.copy2(experiment.folder / name, folder / name)
    if experiment.significance.empty:
        return copied
    experiment.significance.to_parquet(folder / f"{TABLE}.parquet", index=False)
    return [*copied, f"{TABLE}.parquet"]


def build_sections(experiment: Experiment, folder: Path) -> list[ReportSection]:
    """The report's content; figures are drawn into ``folder`` as they are listed."""
    configs = ranked(experiment.dev_configs, experiment.metric, experiment.mode)
    sections = [_overview(experiment, configs)]
    if configs.empty:
        sections.append(ReportSection("Configurations", ["No configuration completed."]))
    else:
        sections += [
            _configurations(experiment, configs),
            *significance_sections(experiment),
            _emotions(configs, folder),
            *_test_stage(experiment),
            *reference_sections(experiment),
            _curves(experiment, configs, folder),
            *_search(experiment, configs, folder),
            cost_section(experiment),
        ]
    return sections + _problems(experiment)


def _overview(experiment: Experiment, configs: pd.DataFrame) -> ReportSection:
    trials = experiment.trials
    done = trials[trials["status"] == "completed"]
    seeds = sorted(int(s) for s in trials["seed"].dropna().unique())
    seconds = (
        done["train_seconds"].sum() if "train_seconds" in done else _trained(experiment.configs)
    )
    counts = (
        f"{len(trials)} trials ({len(done)} completed{_by_stage(trials)}), "
        f"{len(configs)} configurations, "
        f"{len(seeds)} seeds ({', '.join(map(str, seeds))}); total training time "
        f"{duration(seconds)} (the sum over the completed trials)."
    )
    ranking = (
        f"Configurations are ranked by {experiment.metric} ({experiment.mode}), the metric the "
        "search optimised. Scores are mean ± std over seeds (the population std, as in "
        "configs.parquet); dev scores are those of each trial's best epoch, test scores use "
        "that epoch's weights."
    )
    source = f"Built from the Parquet tables of {experiment.folder}."
    if not experiment.per_seed:
        source += (
            " It holds configs.parquet but no trials.parquet: the per-trial scores were not "
            "kept, so there are no tests against the baseline, no learning curves and no list "
            "of failed trials; the counts and times come from configs.parquet."
        )
    return ReportSection("Overview", [counts, ranking, source])


def _trained(configs: pd.DataFrame) -> float:
    """The total training time from configs.parquet (mean times count, per configuration)."""
    if "train_seconds_mean" not in configs:
        return 0.0
    return float((configs["train_seconds_mean"] * configs["train_seconds_count"]).sum())


def _by_stage(trials: pd.DataFrame) -> str:
    """Two-stage sweeps: how many of the trials each stage has."""
    if "stage" not in trials or not (trials["stage"] == "test").any():
        return ""
    counts = trials["stage"].value_counts()
    return f"; {counts.get('dev', 0)} dev-stage, {counts.get('test', 0)} test-stage"


def _configurations(experiment: Experiment, configs: pd.DataFrame) -> ReportSection:
    # in a two-stage sweep these test scores are not the protocol's final ones: say where those are
    text = (
        []
        if experiment.test_stage.empty
        else ["Dev stage: trained on train; the protocol's final test scores are under Test stage."]
    )
    return ReportSection("Configurations", text, table=headline_table(configs, experiment.metric))


def _test_stage(experiment: Experiment) -> list[ReportSection]:
    """Two-stage sweeps only: the protocol's final numbers."""
    table = experiment.test_stage
    if table.empty:
        return []
    table = ranked(table, experiment.metric, experiment.mode)
    text = (
        "Each configuration retrained on train+dev for the epochs shown, on the same seeds, "
        "and scored on test; the dev metric is the one from the first stage."
    )
    return [
        ReportSection("Test stage", [text], table=test_stage_table(table, experiment.metric)),
        ReportSection(
            "Per-emotion test F1, test stage", table=emotion_table(table, "dev_config_key")
        ),
    ]


def _emotions(configs: pd.DataFrame, folder: Path) -> ReportSection:
    """Per-emotion F1 by configuration: test F1, or the best dev epoch's without test scores."""
    prefix = emotion_prefix(configs)
    heading = "test F1" if prefix == "test_" else "dev F1 (best epoch)"
    figures = []
    if plots.emotion_bars(configs, folder / "emotion_f1.png", prefix):
        figures.append(("emotion_f1.png", f"{heading} per emotion (mean, std error bars)"))
    if plots.emotion_heatmap(configs, folder / "emotion_f1_heatmap.png", prefix):
        caption = f"{heading} per emotion by configuration (mean over seeds)"
        figures.append(("emotion_f1_heatmap.png", caption))
    table = emotion_table(configs, prefix=prefix)
    return ReportSection(f"Per-emotion {heading}", table=table, figures=figures)


def _curves(experiment: Experiment, configs: pd.DataFrame, folder: Path) -> ReportSection:
    figures = []
    for metric, heading in CURVES:
        name = f"curve_{metric}.png"
        if plots.learning_curve(experiment.epochs, configs, metric, heading, folder / name):
            figures.append((name, f"{heading} by epoch, mean ± std over seeds"))
    text = (
        "One line per configuration (the best ones when there are many). A seed that "
        "stopped early leaves the later epochs' mean to the other seeds."
    )
    return ReportSection(
        "Learning curves", [text] if figures else ["No epochs were recorded."], figures=figures
    )


def _search(experiment: Experiment, configs: pd.DataFrame, folder: Path) -> list[ReportSection]:
    name = "search_history.png"
    if not plots.search_history(configs, experiment.metric, experiment.log_params, folder / name):
        return []
    text = (
        "Each point is one Optuna suggestion, labelled q0, q1 and so on in the order it was "
        f"proposed within its cell, at the mean {experiment.metric} over seeds that the "
        "search was given."
    )
    return [ReportSection("Search history", [text], figures=[(name, "Optuna search history")])]


def _problems(experiment: Experiment) -> list[ReportSection]:
    table = problem_table(experiment.trials)
    if table.empty:
        return []
    count = f"{len(table)} trial{'s' if len(table) != 1 else ''}"
    text = f"{count} did not complete; their seeds are missing from the means above."
    return [ReportSection("Failed or incomplete trials", [text], table=table)]
