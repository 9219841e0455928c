"""The statistics of the comparisons with the baseline, against answers worked out by hand or in
closed form: the exact sign-flip p-values (2 seeds, ties, zero differences), the paired t-test
(the t distribution's closed-form CDF at 1 and 2 degrees of freedom), Holm's and
Benjamini-Hochberg's adjustments of a small family, the seeds-needed figure against the normal
approximation and the published sample sizes of a one-sample t-test, and the rule that too few
seeds give no verdict."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from orchestrator.analysis.significance import (
    BASELINE,
    BOOTSTRAP_MIN_SEEDS,
    NOT_RECORDED,
    OTHER_DATA,
    benjamini_hochberg,
    compare,
    holm,
    min_seeds,
    paired_t,
    paired_t_power,
    scored_alike,
    seeds_needed,
    sign_flip_p_value,
    significance_table,
    summary_significance,
    too_few_seeds,
)
from orchestrator.report import command as report
from orchestrator.report.analysis_sections import (
    seeds_command,
    significance_display,
    suggested_seeds,
)


@pytest.mark.parametrize(
    ("differences", "expected"),
    [
        ([0.01, 0.02], 2 / 4),  # n = 2: only the pattern and its mirror image reach |0.015|
        ([1.0, 2.0, 3.0], 2 / 8),  # sums 6, 4, 2, 0, 0, -2, -4, -6: |sum| >= 6 twice
        ([1.0, -1.0, 2.0, 2.0], 6 / 16),  # ties: 2+2 with a+b in {2,0,0,-2}, and the mirror
        ([0.0, 1.0, 1.0, 1.0, 1.0, 1.0], 4 / 64),  # a zero's sign changes nothing: 2 x 2 patterns
        ([0.0, 0.0, 0.0], 1.0),  # no difference at all
        ([0.5, 0.1, 0.2, 0.3, 0.4, 0.6], 2 / 64),  # 6 seeds, all one sign: the floor 2^(1-6)
    ],
)
def test_the_exact_sign_flip_p_value_is_the_share_of_sign_patterns(
    differences: list[float], expected: float
) -> None:
    assert sign_flip_p_value(np.array(differences)) == pytest.approx(expected, abs=1e-12)


def test_the_paired_t_test_matches_the_closed_form_t_distribution() -> None:
    # 2 seeds, differences 0.01 and 0.03: t = 0.02 / (0.01414 / sqrt 2) = 2 on 1 degree of
    # freedom (Cauchy): p = 1 - 2/pi atan(2)
    low, high, p = paired_t(np.array([0.01, 0.03]))
    assert p == pytest.approx(1 - 2 / math.pi * math.atan(2), abs=1e-12)
    # 1 degree of freedom: t_0.975 = tan(0.475 pi); mean 0.02, standard error 0.01
    assert (low, high) == pytest.approx((0.02 - 0.01 * math.tan(0.475 * math.pi),
                                         0.02 + 0.01 * math.tan(0.475 * math.pi)))  # fmt: skip
    # 3 seeds, differences 1, 2, 3: t = 2 sqrt 3 on 2 degrees of freedom, whose CDF is
    # 1/2 + t / (2 sqrt(2 + t^2)): p = 1 - t / sqrt(2 + t^2); t_0.975 = 0.95 sqrt(2 / 0.0975)
    t = 2 * math.sqrt(3)
    low, high, p = paired_t(np.array([1.0, 2.0, 3.0]))
    assert p == pytest.approx(1 - t / math.sqrt(2 + t * t), abs=1e-12)
    half = 0.95 * math.sqrt(2 / 0.0975) / math.sqrt(3)
    assert (low, high) == pytest.approx((2 - half, 2 + half), abs=1e-9)
    # the same through compare, on scores indexed by seed
    result = compare(pd.Series({0: 0.51, 1: 0.53}), pd.Series({0: 0.50, 1: 0.50}))
    assert result.paired and result.t_p_value == pytest.approx(1 - 2 / math.pi * math.atan(2))
    assert result.sign_flip_p_value == pytest.approx(0.5)
    assert result.test == "exact sign-flip" and result.interval == "paired t"


def test_no_spread_gives_the_difference_as_its_interval() -> None:
    low, high, p = paired_t(np.zeros(4))
    assert (low, high) == (0.0, 0.0) and math.isnan(p)
    low, high, p = paired_t(np.full(4, 0.01))
    assert (low, high) == (0.01, 0.01) and p == 0.0


def test_holm_and_benjamini_hochberg_on_a_hand_worked_family() -> None:
    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> 0.06
    # (step-down: never below an earlier step); NaN is no member of the family
    p = [0.01, 0.04, 0.03, 0.005, float("nan")]
    assert holm(p)[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert math.isnan(holm(p)[4])
    # BH: 0.005 x 4/1 = 0.02, 0.01 x 4/2 = 0.02, 0.03 x 4/3 = 0.04, 0.04 x 4/4 = 0.04
    assert benjamini_hochberg(p)[:4] == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert holm([0.3, 0.9]) == pytest.approx([0.6, 0.9])  # capped at 1 only when above
    assert holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]).size == 0 and benjamini_hochberg([float("nan")]).size == 1


def test_the_fewest_seeds_the_exact_test_can_decide_with() -> None:
    assert min_seeds() == 6  # 2^-5 = 0.031 <= 0.05 < 2^-4
    assert min_seeds(family=4) == 8  # Holm's first step at 0.05/4: 2^-7 = 0.0078 <= 0.0125
    assert min_seeds(family=54) == 12  # 54 configurations against one baseline
    assert min_seeds(alpha=0.0625) == 5  # a level of exactly 2^-4 is reachable at 5 seeds


@pytest.mark.parametrize(("effect_size", "published"), [(0.5, 34), (0.8, 15), (1.0, 10)])
def test_seeds_needed_matches_the_published_one_sample_t_test_sizes(
    effect_size: float, published: int
) -> None:
    """G*Power's (and Cohen's) sample sizes for a two-sided one-sample t-test at 0.05 and 80%
    power; the paired t-test is the one-sample t-test of the differences."""
    sd = 0.02
    assert seeds_needed(sd, effect=effect_size * sd) == published


@pytest.mark.parametrize(
    ("sd", "effect", "family"),
    [(0.1, 0.01, 1), (0.01, 0.0015, 1), (0.02, 0.01, 4), (0.03, 0.01, 54), (0.05, 0.01, 54)],
)
def test_seeds_needed_is_the_closed_form_with_the_t_tests_correction(
    sd: float, effect: float, family: int
) -> None:
    """The normal approximation n_z = ((z_(1-a/2) + z_0.8) sd / effect)^2 at a = 0.05 / family
    undercounts the t-test's seeds; Guenther's closed form adds z_(1-a/2)^2 / 2 (Guenther, 1981,
    The American Statistician 35(4))."""
    level = 0.05 / family
    z = stats.norm.ppf(1 - level / 2)
    normal = ((z + stats.norm.ppf(0.8)) * sd / effect) ** 2
    n = seeds_needed(sd, effect, family)
    assert n == math.ceil(normal + z * z / 2)
    assert n > normal and n >= min_seeds(family=family)
    assert paired_t_power(n, sd, effect, level) >= 0.8 > paired_t_power(n - 1, sd, effect, level)


def test_seeds_needed_without_spread_is_the_exact_tests_floor() -> None:
    assert seeds_needed(0.0, 0.01) == 6 and seeds_needed(0.0, 0.01, family=4) == 8
    assert seeds_needed(float("nan"), 0.01) is None


@pytest.mark.parametrize("shift", [-0.2, -0.01, 0.0, 0.003, 0.5])
@pytest.mark.parametrize("n", [1, 2, 5])
def test_too_few_seeds_never_give_higher_or_lower(n: int, shift: float) -> None:
    rng = np.random.default_rng(n)
    baseline = pd.Series(0.5 + rng.normal(0, 0.001, n))
    scores = baseline + shift + rng.normal(0, 0.0001, n)
    result = compare(scores, baseline)
    expected = f"too few seeds (n = {n}; at least 6 needed)"
    assert result.verdict() == expected and result.verdict(0.0) == expected
    trials = _trials({"a": list(scores), "b": list(baseline)})
    table = significance_table(trials, _configs("ab"), "b")
    verdicts = dict(zip(table["config_key"], table["verdict"], strict=True))
    assert verdicts == {"a": expected, "b": BASELINE}
    assert table["distinguishable"].isna().all()


def test_six_paired_seeds_give_a_verdict_that_holm_can_take_back() -> None:
    baseline = [0.50, 0.51, 0.49, 0.52, 0.50, 0.48]
    better = [b + d for b, d in zip(baseline, [0.01, 0.02, 0.015, 0.01, 0.03, 0.02], strict=True)]
    trials = _trials({"a": better, "base": baseline})
    alone = significance_table(trials, _configs(["a", "base"]), "base").set_index("config_key")
    assert alone.loc["a", "sign_flip_p_value"] == pytest.approx(2 / 64)
    assert alone.loc["a", "family_size"] == 1
    assert alone.loc["a", "holm_p_value"] == pytest.approx(2 / 64)
    assert alone.loc["a", "verdict"] == "higher" and alone.loc["a", "distinguishable"]
    assert alone.loc["a", "t_p_value"] == pytest.approx(
        stats.ttest_rel(better, baseline).pvalue, abs=1e-12
    )
    # a second configuration as good: a family of 2, and Holm doubles the smallest p-value
    trials = _trials({"a": better, "c": better, "base": baseline})
    pair = significance_table(trials, _configs(["a", "c", "base"]), "base").set_index("config_key")
    assert pair.loc["a", "family_size"] == 2
    assert pair.loc["a", "holm_p_value"] == pytest.approx(4 / 64)
    assert pair.loc["a", "bh_p_value"] == pytest.approx(2 / 64)
    assert set(pair.loc[["a", "c"], "verdict"]) == {"not distinguishable"}
    assert pair.loc["base", "verdict"] == BASELINE and np.isnan(pair.loc["base", "holm_p_value"])
    assert pair.loc["a", "seeds_needed"] == seeds_needed(
        float(np.std(np.subtract(better, baseline), ddof=1)), 0.01, 2
    )


def test_the_bootstrap_interval_appears_from_ten_paired_seeds() -> None:
    rng = np.random.default_rng(3)
    for n in (BOOTSTRAP_MIN_SEEDS - 1, BOOTSTRAP_MIN_SEEDS):
        baseline = pd.Series(0.5 + rng.normal(0, 0.01, n))
        result = compare(baseline + 0.01 + rng.normal(0, 0.005, n), baseline)
        assert np.isnan(result.bootstrap_low) == (n < BOOTSTRAP_MIN_SEEDS)
    assert result.bootstrap_low < result.difference < result.bootstrap_high


def test_the_display_names_the_test_beside_each_p_value() -> None:
    scores = {"a": [0.52, 0.53, 0.51, 0.55, 0.52, 0.51], "b": [0.5] * 6}
    rows = significance_table(_trials(scores), _configs("ab"), "b")
    display = significance_display(rows).set_index("config")
    assert display.loc["a", "t-test p"].endswith(" (paired t)")
    assert display.loc["a", "sign-flip p"] == "0.0312 (exact sign-flip)"
    assert display.loc["a", "Holm p"] == "0.0312 (exact sign-flip)"
    assert display.loc["a", "95% CI"].endswith(" (paired t)")
    assert display.loc["b", "verdict"] == BASELINE and display.loc["b", "Holm p"] == ""
    assert "95% bootstrap CI" not in display  # fewer than 10 seeds


def test_the_command_runs_the_suggested_seeds_with_the_same_flags() -> None:
    assert suggested_seeds([0, 1], 5) == [0, 1, 2, 3, 4]
    assert suggested_seeds([3, 7], 4) == [0, 1, 3, 7]
    assert suggested_seeds([0, 1, 2], 2) == [0, 1, 2]
    record = {"source": "sweeps/x.yaml", "overrides": ["--set loss.alpha=0.2", "--seeds 0,1",
                                                       "--storage runs", "--rerun"]}  # fmt: skip
    assert seeds_command(record, [0, 1, 2]) == (
        "python -m orchestrator.run sweeps/x.yaml --set loss.alpha=0.2 --storage runs --seeds 0,1,2"
    )


def test_one_seed_gives_a_difference_but_no_interval() -> None:
    one, other = pd.Series({0: 0.4}), pd.Series({0: 0.3})
    result = compare(one, other)
    assert result.difference == pytest.approx(0.1)
    assert np.isnan(result.ci_low) and np.isnan(result.ci_high) and np.isnan(result.t_p_value)
    assert result.verdict() == too_few_seeds(1) == "too few seeds (n = 1; at least 6 needed)"
    trials = _trials({"a": [0.4], "b": [0.3]})
    table = significance_table(trials, _configs("ab"), "b")
    assert table["verdict"].tolist() == [too_few_seeds(1), "baseline"]  # test_jaccard: a, b
    assert table["distinguishable"].isna().all()


def test_a_baseline_with_more_seeds_is_paired_on_the_seeds_both_ran() -> None:
    """A baseline run to 8 seeds against a configuration run to 6 of them: the per-seed
    differences over those 6, their exact sign-flip test and a verdict; the baseline's other 2
    seeds stay out of the difference."""
    baseline = pd.Series([0.50, 0.51, 0.49, 0.52, 0.50, 0.48, 0.40, 0.60])
    gains = np.array([0.01, 0.02, 0.015, 0.01, 0.03, 0.02])
    scores = baseline[:6] + gains
    result = compare(scores, baseline)
    assert result.paired and result.n_paired == 6 and (result.n, result.n_baseline) == (6, 8)
    assert result.difference == pytest.approx(gains.mean())
    assert result.mean == pytest.approx(scores.mean())
    assert result.baseline_mean == pytest.approx(baseline.mean())  # all 8, as configs.parquet
    assert result.sign_flip_p_value == pytest.approx(2 / 64)  # all 6 positive: the floor
    assert result.t_p_value == pytest.approx(stats.ttest_rel(scores, baseline[:6]).pvalue)
    assert result.verdict() == "higher"
    trials = _trials({"a": list(scores), "base": list(baseline)})
    rows = significance_table(trials, _configs(["a", "base"]), "base")
    display = significance_display(rows).set_index("config")
    assert display.loc["a", "95% CI"].endswith(" (paired t, 6 shared seeds)")
    assert display.loc["a", "sign-flip p"] == "0.0312 (exact sign-flip)"


def test_fewer_shared_seeds_than_a_verdict_needs_are_not_paired() -> None:
    """Seeds 3-7 against 0-7: 5 in common, too few for the paired exact test to decide, so
    Welch's test on all seeds, and no verdict from the 5-seed side."""
    baseline = pd.Series([0.50, 0.51, 0.49, 0.52, 0.50, 0.48, 0.47, 0.53])
    scores = pd.Series([0.55, 0.56, 0.54, 0.57, 0.58], index=[3, 4, 5, 6, 7])
    result = compare(scores, baseline)
    assert not result.paired and result.n_paired == 0
    assert result.difference == pytest.approx(scores.mean() - baseline.mean())
    welch = stats.ttest_ind(scores, baseline, equal_var=False)
    assert result.t_p_value == pytest.approx(welch.pvalue)
    assert result.verdict(0.0) == too_few_seeds(5)


def test_a_configuration_scored_on_other_test_data_is_compared_on_dev_only() -> None:
    """A zero-shot cell scored on GoEmotions' test through clusters: its dev scores (the
    training data's dev split) are compared with the baseline's, its test scores are not, and
    the test family holds only the configurations scored on the baseline's test set."""
    dev, test = [0.50, 0.51, 0.49, 0.52, 0.50, 0.48], [0.40, 0.41, 0.39, 0.42, 0.40, 0.38]
    shift = [0.01, 0.02, 0.015, 0.01, 0.03, 0.02]
    better = {"dev": np.add(dev, shift), "test": np.add(test, shift)}
    trials = _trials({"a": list(better["test"]), "zero-shot": [0.2] * 6, "base": test}).assign(
        best_dev_jaccard=[*better["dev"], *better["dev"], *dev]
    )
    configs = _configs(["a", "zero-shot", "base"]).assign(
        **{
            "cfg.data.root": "/data/semeval",
            "cfg.transfer.eval_data.root": [None, "/data/goemotions", None],
            "cfg.transfer.eval_clusters": [None, "/data/goemotions/ekman.json", None],
        }
    )
    table = significance_table(trials, configs, "base").set_index(["metric", "config_key"])
    assert table.loc[("test_jaccard", "zero-shot"), "verdict"] == OTHER_DATA
    assert np.isnan(table.loc[("test_jaccard", "zero-shot"), "difference"])
    assert table.loc[("test_jaccard", "a"), "family_size"] == 1
    assert table.loc[("test_jaccard", "a"), "holm_p_value"] == pytest.approx(2 / 64)
    # on dev both are in the family: Holm doubles the smallest p-value
    assert table.loc[("best_dev_jaccard", "zero-shot"), "family_size"] == 2
    assert table.loc[("best_dev_jaccard", "zero-shot"), "holm_p_value"] == pytest.approx(4 / 64)
    assert table.loc[("best_dev_jaccard", "zero-shot"), "difference"] == pytest.approx(
        np.mean(shift)
    )
    rows = table.loc["test_jaccard"].reset_index()
    shown = significance_display(rows).set_index("cell")
    assert shown.loc["zero-shot", "verdict"] == OTHER_DATA
    assert shown.loc["zero-shot", "difference"] == "" and shown.loc["zero-shot", "Holm p"] == ""
    summary = summary_significance(
        configs.assign(
            seeds="0,1,2,3,4,5", test_jaccard_mean=[0.6, 0.2, 0.5], test_jaccard_count=6
        ),
        "base",
    ).set_index("config_key")
    assert summary.loc["zero-shot", "verdict"] == OTHER_DATA
    assert summary.loc["a", "verdict"] == NOT_RECORDED


def test_preprocessing_does_not_change_what_is_scored() -> None:
    """Cleaning the text differently scores the same examples and labels; another test folder
    or another test split does not."""
    configs = _configs(["base", "cleaned", "other", "split"]).assign(
        **{
            "cfg.transfer.eval_data.root": ["/go", "/go", "/elsewhere", "/go"],
            "cfg.transfer.eval_data.preprocess.reddit": [False, True, False, False],
            "cfg.data.test_splits": ["test"] * 3 + ["train,dev"],
        }
    )
    assert scored_alike(configs, "base", "test_jaccard") == {"base", "cleaned"}
    assert scored_alike(configs, "base", "best_dev_jaccard") == {"base", "cleaned", "other",
                                                                  "split"}  # fmt: skip


def _trials(scores: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {"config_key": key, "dev_config_key": key, "stage": "dev", "status": "completed",
         "seed": seed, "timestamp": 0.0, "test_jaccard": value}
        for key, values in scores.items()
        for seed, value in enumerate(values)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def _configs(keys: list[str] | str) -> pd.DataFrame:
    keys = list(keys)
    return pd.DataFrame({"config_key": keys, "cell": keys, "suggestion": 0, "stage": "dev"})


def test_the_committed_minilm_study_rerenders_with_too_few_seeds_everywhere(tmp_path: Path) -> None:
    """results/measured/minilm-semeval kept configs.parquet only (2 seeds): its report is rebuilt
    from the repository, every comparison says too few seeds, and none is higher or lower."""
    folder = Path(__file__).parents[2] / "results" / "measured" / "minilm-semeval"
    out = tmp_path / "report"
    assert report.main([str(folder), "--out", str(out)]) == 0
    table = pd.read_parquet(out / "significance.parquet")
    compared = table[~table["is_baseline"]]
    assert len(compared) == 4 * 6  # 4 configurations against the baseline on 6 metrics
    assert set(compared["verdict"]) == {"too few seeds (n = 2; at least 6 needed)"}
    configs = pd.read_parquet(folder / "configs.parquet").set_index("config_key")
    for row in compared.itertuples():
        means = configs[f"{row.metric}_mean"]
        assert row.difference == pytest.approx(
            means[row.config_key] - means[row.baseline_config_key]
        )
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert markdown.count("too few seeds (n = 2; at least 6 needed)") == 24
    assert "| higher |" not in markdown and "| lower |" not in markdown


def test_means_alone_at_six_seeds_say_no_scores_were_recorded() -> None:
    configs = _configs(["a", "b"]).assign(
        seeds="0,1,2,3,4,5", test_jaccard_mean=[0.6, 0.5], test_jaccard_count=[6, 6]
    )
    table = summary_significance(configs, "b").set_index("config_key")
    assert table.loc["a", "verdict"] == NOT_RECORDED
    assert table.loc["a", "difference"] == pytest.approx(0.1)
    assert np.isnan(table.loc["a", "sign_flip_p_value"]) and table.loc["a", "family_size"] == 0
