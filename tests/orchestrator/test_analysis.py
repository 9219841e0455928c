"""The analysis a researcher reads in the report, on a real finished smoke sweep (shared with
test_report.py) given a baseline and a reference afterwards, as a user would:
``orchestrator.run --set analysis.baseline=... --set analysis.reference=...`` runs nothing and
rebuilds the tables. The significance numbers must equal an independent scipy computation from
trials.parquet (2 seeds: too few for any verdict), a configuration compared with itself must
not be distinguishable, the cost
columns must add up to the sweep total, and the papers' numbers must sit beside the measured
ones, and the report folder rebuilds itself from the tables it holds. Pure-function tests cover
unpaired seeds and bad input (test_significance.py: the statistics' known answers)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.image import imread
from scipy import stats

from emotrain.config_errors import ConfigError
from orchestrator.analysis.reference import ReferenceError, load_reference, reference_path
from orchestrator.analysis.significance import compare, too_few_seeds
from orchestrator.report import command as report
from orchestrator.spec.record import read_record, read_spec
from orchestrator.spec.sweep import load_sweep

HEADLINE = [f"{p}{m}" for p in ("best_dev_", "test_") for m in ("jaccard", "micro_f1", "macro_f1")]
BASELINE_CELL = "weights-one"
REFERENCE = "semeval_paper1"
ENGLISH = "Demux intra \N{GREEK SMALL LETTER RHO} e^y (English)"


@pytest.fixture(scope="module")
def analysed(smoke_experiment: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the finished smoke sweep, rerun with an analysis (nothing trains), reported."""
    storage = tmp_path_factory.mktemp("analysis") / "results"
    experiment = storage / "smoke"
    ignore = shutil.ignore_patterns("checkpoint_*", "events.*", "*.pkl", "report")
    shutil.copytree(smoke_experiment, experiment, ignore=ignore)
    source = yaml.safe_load((smoke_experiment / "sweep.json").read_text())["source"]
    flags = [f"--set=analysis.baseline={BASELINE_CELL}", f"--set=analysis.reference={REFERENCE}"]
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator.run", source, "--storage", str(storage), *flags],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "nothing to run" in done.stdout
    assert report.main([str(experiment)]) == 0
    return experiment


def test_the_sweep_record_holds_the_analysis(analysed: Path) -> None:
    analysis = read_spec(analysed)["analysis"]
    assert analysis == {"baseline": BASELINE_CELL, "reference": REFERENCE, "effect": 0.01}


def test_significance_equals_an_independent_scipy_computation(analysed: Path) -> None:
    trials = pd.read_parquet(analysed / "trials.parquet")
    table = pd.read_parquet(analysed / "significance.parquet")
    baseline = _expected_baseline(pd.read_parquet(analysed / "configs.parquet"))
    assert set(table["baseline_config_key"]) == {baseline}
    assert sorted(set(table["metric"])) == sorted(HEADLINE)
    for metric in HEADLINE:
        rows = table[table["metric"] == metric].set_index("config_key")
        assert len(rows) == 4 and rows["rank"].tolist() == [1, 2, 3, 4]
        assert rows["mean"].is_monotonic_decreasing  # ranked, best first
        assert (rows["family_size"] == 3).all() and (rows["correction"] == "Holm").all()
        base = _by_seed(trials, baseline, metric)
        for key, row in rows.drop(index=baseline).iterrows():
            scores = _by_seed(trials, key, metric)
            assert list(scores.index) == list(base.index) == [0, 1] and row["paired"]
            differences = scores.to_numpy() - base.to_numpy()
            paired = stats.ttest_rel(scores.to_numpy(), base.to_numpy())
            interval = paired.confidence_interval(0.95)
            assert row["difference"] == pytest.approx(differences.mean(), abs=1e-12)
            assert row["ci_low"] == pytest.approx(interval.low, abs=1e-12)
            assert row["ci_high"] == pytest.approx(interval.high, abs=1e-12)
            assert row["t_p_value"] == pytest.approx(paired.pvalue, abs=1e-12)
            # 2 seeds, 4 sign patterns: the observed one and its mirror image are the farthest
            # from 0 when both differences have one sign (p = 1/2), else all four are as far
            same_sign = differences[0] * differences[1] > 0
            assert row["sign_flip_p_value"] == (0.5 if same_sign else 1.0)
            assert row["test"] == "exact sign-flip" and np.isnan(row["bootstrap_low"])
            assert row["verdict"] == "too few seeds (n = 2; at least 6 needed)"
            assert pd.isna(row["distinguishable"])
        assert rows.loc[baseline, "verdict"] == "baseline"


def test_the_report_shows_the_same_intervals_and_names_the_tests(analysed: Path) -> None:
    markdown = (analysed / "report" / "report.md").read_text(encoding="utf-8")
    table = pd.read_parquet(analysed / "significance.parquet")
    rows = _markdown_table(markdown, "Against the baseline: dev Jaccard")
    expected = table[table["metric"] == "best_dev_jaccard"]
    assert [r["config"] for r in rows] == [k[:8] for k in expected["config_key"]]
    for row, (_, want) in zip(rows, expected.iterrows(), strict=True):
        if want["is_baseline"]:
            assert row["verdict"] == "baseline" and row["cell"] == BASELINE_CELL
            continue
        assert row["95% CI"] == f"[{want['ci_low']:+.4f}, {want['ci_high']:+.4f}] (paired t)"
        assert row["difference"] == f"{want['difference']:+.4f}"
        assert row["t-test p"] == f"{want['t_p_value']:.3g} (paired t)"
        assert row["sign-flip p"] == f"{want['sign_flip_p_value']:.3g} (exact sign-flip)"
        assert row["Holm p"] == f"{want['holm_p_value']:.3g} (exact sign-flip)"
        assert row["verdict"] == "too few seeds (n = 2; at least 6 needed)"
    assert "Family: the 3 comparisons with the baseline on dev Jaccard" in markdown
    # the seeds the sweep's metric needs, and the command that runs only the missing ones
    needed = int(expected["seeds_needed"].max())
    assert needed >= 7  # the exact test's floor for a family of 3
    source = read_record(analysed)["source"]
    command = f"python -m orchestrator.run {source} --set analysis.baseline={BASELINE_CELL}"
    seeds = ",".join(str(seed) for seed in range(needed))
    assert f"{needed} seeds. This runs only the missing ones: {command}" in markdown
    assert f"--seeds {seeds}\n" in markdown


def test_the_report_folder_rebuilds_itself_from_the_tables_it_holds(
    analysed: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "measured" / "smoke"
    shutil.copytree(analysed / "report", folder)
    for table in ("trials", "epochs", "configs"):
        assert (folder / f"{table}.parquet").is_file(), table
    assert read_spec(folder) == read_spec(analysed)
    before = (folder / "report.md").read_text(encoding="utf-8")
    assert report.main([str(folder)]) == 0  # a report folder: rebuilt in place
    after = (folder / "report.md").read_text(encoding="utf-8")
    assert _after_overview(after) == _after_overview(before)
    assert not (folder / "report").exists()
    shown = pd.read_parquet(folder / "significance.parquet")
    pd.testing.assert_frame_equal(shown, pd.read_parquet(analysed / "significance.parquet"))


def test_a_configuration_compared_with_itself_is_not_distinguishable(analysed: Path) -> None:
    table = pd.read_parquet(analysed / "significance.parquet")
    itself = table[table["is_baseline"]]
    assert len(itself) == len(HEADLINE)
    assert (itself["difference"] == 0).all()
    assert (itself["ci_low"] == 0).all() and (itself["ci_high"] == 0).all()
    assert (itself["sign_flip_p_value"] == 1).all() and itself["holm_p_value"].isna().all()
    assert set(itself["verdict"]) == {"baseline"}
    # through the function, on a real configuration's scores: too few seeds at 2, and with
    # those scores repeated over 6 seeds, not distinguishable
    trials = pd.read_parquet(analysed / "trials.parquet")
    scores = _by_seed(trials, itself["config_key"].iloc[0], "test_jaccard")
    assert compare(scores, scores).verdict() == too_few_seeds(2)
    six = pd.Series(np.tile(scores.to_numpy(), 3))
    assert compare(six, six).verdict() == "not distinguishable"


def test_cost_columns_are_positive_and_sum_to_the_sweep_total(analysed: Path) -> None:
    trials = pd.read_parquet(analysed / "trials.parquet")
    configs = pd.read_parquet(analysed / "configs.parquet").set_index("config_key")
    for column in ("wall_seconds", "run_wall_seconds", "run_cpu_seconds", "cpu_hours",
                   "peak_rss_bytes"):  # fmt: skip
        assert (trials[column] > 0).all(), column
    assert (trials["cpus"] == 1).all() and (trials["gpus"] == 0).all()  # smoke: 1 CPU, 0 GPU
    assert trials["cpu_hours"].to_numpy() == pytest.approx(trials["wall_seconds"] / 3600)
    assert (trials["gpu_hours"] == 0).all()
    assert trials["peak_rss_bytes"].min() > 50 * 2**20  # torch alone takes more than that
    sums = trials.groupby("config_key")[["wall_seconds", "cpu_hours", "epochs_run"]].sum()
    for column in sums:
        assert configs.loc[sums.index, f"{column}_sum"].to_numpy() == pytest.approx(sums[column])
    peaks = trials.groupby("config_key")["peak_rss_bytes"].max()
    assert (configs.loc[peaks.index, "peak_rss_bytes_max"] == peaks).all()
    markdown = (analysed / "report" / "report.md").read_text(encoding="utf-8")
    total = [r for r in _markdown_table(markdown, "Cost") if r["cell"] == "total"]
    assert len(total) == 1
    assert total[0]["CPU-hours"] == f"{trials['cpu_hours'].sum():.3g}"
    assert total[0]["CPU-hours"] == f"{configs['cpu_hours_sum'].sum():.3g}"
    assert total[0]["epochs"] == str(int(trials["epochs_run"].sum()))
    assert total[0]["trials"] == "8"


def test_the_papers_numbers_sit_beside_the_measured_ones(analysed: Path) -> None:
    markdown = (analysed / "report" / "report.md").read_text(encoding="utf-8")
    configs = pd.read_parquet(analysed / "configs.parquet")
    reference = load_reference(reference_path(REFERENCE))
    english = next(entry for entry in reference.entries if entry.name == ENGLISH)
    rho = configs[configs["cfg.loss.weights"] == "rho"]
    rho = rho.set_index(rho["config_key"].str[:8])
    rows = _markdown_table(markdown, "Reference beside measured")
    assert {r["entry"] for r in rows} == {ENGLISH}
    assert len(rows) == len(rho) * len(english.scores)  # the two rho configurations only
    for row in rows:
        config, score = rho.loc[row["config"]], english.scores[row["metric"]]
        measured = config[f"test_{row['metric']}_mean"] * 100
        std = config[f"test_{row['metric']}_std"] * 100
        assert row["measured"] == f"{measured:.1f} ± {std:.1f}"
        assert row["reference"] == ("≈ " if score.approximate else "") + f"{score.mean:.1f}"
        assert row["difference"] == f"{measured - score.mean:+.1f}"
        assert row["within std"] == "no std reported"
        assert row["measured with"].startswith("tiny bert")
    assert "SpanEmo (English): no training options given" in markdown
    assert "Source: Chochlakis" in markdown


def test_the_per_emotion_heatmap_is_a_readable_png(analysed: Path) -> None:
    path = analysed / "report" / "emotion_f1_heatmap.png"
    pixels = imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 300 and pixels.shape[1] > 800
    assert pixels.std() > 0.05
    assert "](emotion_f1_heatmap.png)" in (analysed / "report" / "report.md").read_text()


def test_different_seeds_are_compared_unpaired() -> None:
    scores, baseline = pd.Series({0: 0.50, 1: 0.55, 2: 0.52}), pd.Series({3: 0.40, 4: 0.47})
    result = compare(scores, baseline)
    welch = stats.ttest_ind(scores, baseline, equal_var=False)
    assert not result.paired and result.test == "Welch t" and result.interval == "Welch t"
    interval = welch.confidence_interval(0.95)
    assert (result.ci_low, result.ci_high) == pytest.approx((interval.low, interval.high))
    assert result.t_p_value == pytest.approx(welch.pvalue) == result.p_value
    assert np.isnan(result.sign_flip_p_value) and np.isnan(result.bootstrap_low)
    assert result.verdict(0.0) == too_few_seeds(2)  # the smaller side's seeds
    many = (
        pd.Series(np.linspace(0.5, 0.6, 10)),
        pd.Series(np.linspace(0.4, 0.5, 10), index=range(10, 20)),
    )
    unpaired = compare(*many)
    expected = stats.bootstrap(
        (many[0].to_numpy(), many[1].to_numpy()),
        lambda x, y, axis=-1: x.mean(axis=axis) - y.mean(axis=axis),
        vectorized=True,
        n_resamples=9999,
        method="percentile",
        rng=np.random.default_rng(0),
    ).confidence_interval
    assert (unpaired.bootstrap_low, unpaired.bootstrap_high) == pytest.approx(
        (expected.low, expected.high)
    )
    assert unpaired.verdict() == "higher"


def test_a_bad_reference_file_is_one_line_naming_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "paper.yaml"
    good = yaml.safe_load(reference_path(REFERENCE).read_text())
    good["entries"][0]["scores"]["anger_f1"] = "high"
    path.write_text(yaml.safe_dump(good, allow_unicode=True))
    with pytest.raises(ReferenceError) as caught:
        load_reference(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: entries.0.scores.anger_f1.mean: ")
    assert len(message.splitlines()) == 1
    good["entries"][0]["scores"] = {"anger": 3.0}
    path.write_text(yaml.safe_dump(good, allow_unicode=True))
    with pytest.raises(ReferenceError, match=r"entries\.0\.scores: .*'anger' is not a metric"):
        load_reference(path)


@pytest.mark.parametrize(
    ("analysis", "expected"),
    [
        ({"baseline": "weights-two"}, "analysis: Value error, baseline: no grid cell is named"),
        (
            {"baseline": {"loss.wieghts": "one"}},
            "analysis.baseline: Value error, 'loss.wieghts' is not a training option; "
            "did you mean loss.weights?",
        ),
        ({"reference": "nowhere"}, "analysis.reference: Value error, 'nowhere': no such file"),
        (
            {"baselines": "weights-one"},
            "analysis.baselines: unknown field; did you mean baseline?",
        ),
        ({"effect": 0}, "analysis.effect: Input should be greater than 0"),
    ],
)
def test_a_bad_analysis_field_is_one_line_naming_it(
    analysis: dict[str, object], expected: str, tmp_path: Path
) -> None:
    spec = yaml.safe_load((Path(__file__).parents[2] / "sweeps" / "smoke.yaml").read_text())
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec | {"analysis": analysis}))
    with pytest.raises(ConfigError) as caught:
        load_sweep(path)
    assert str(caught.value).startswith(f"{path}: {expected}"), str(caught.value)
    assert len(str(caught.value).splitlines()) == 1


def _expected_baseline(configs: pd.DataFrame) -> str:
    """The best configuration of the baseline cell by the sweep's metric (smoke: max)."""
    cell = configs[configs["cell"] == BASELINE_CELL]
    return str(cell.sort_values("best_dev_jaccard_mean", ascending=False)["config_key"].iloc[0])


def _by_seed(trials: pd.DataFrame, key: str, metric: str) -> pd.Series:
    mine = trials[(trials["config_key"] == key) & (trials["status"] == "completed")]
    return mine.set_index("seed")[metric].sort_index()


def _after_overview(markdown: str) -> str:
    """The report from its first section after the overview (which names the folder read)."""
    return markdown.split("\n## Configurations\n", 1)[1]


def _markdown_table(markdown: str, heading: str) -> list[dict[str, str]]:
    """The rows of the first table under ``## heading``, as {column: cell}."""
    section = markdown.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header, rows = _cells(lines[0]), [_cells(line) for line in lines[2:]]
    return [dict(zip(header, row, strict=True)) for row in rows]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split(" | ")]
