"""Can a configuration be told apart from the sweep's baseline? For each headline metric (dev
best and test Jaccard, micro-F1 and macro-F1), each configuration's mean over seeds minus the
baseline's, an interval for that difference, p-values from tests named beside them, a verdict
corrected for the many comparisons a sweep makes, and how many seeds would settle it.

Paired when the seeds are shared: the seed fixes the initialisation and the data order of
both configurations, so the per-seed differences carry the comparison and seed-to-seed noise
shared by both cancels. Both ran exactly the same seeds, or at least ``min_seeds()`` of them in
common (a baseline run to 8 seeds against configurations run to 6): the comparison then rests on
the seeds both ran, and a seed only one side ran is left out of the difference, not paired with
a stranger.

- Interval: the 95% t interval of the mean per-seed difference (``scipy.stats.ttest_rel``).
  From ``BOOTSTRAP_MIN_SEEDS`` seeds on, a percentile bootstrap interval of the same mean is
  shown beside it; with fewer seeds a bootstrap can only return combinations of the few
  differences there are (at 2 seeds exactly the two of them), which is no interval at all.
- p-values: the paired t-test, and the exact sign-flip permutation test: under no difference
  each per-seed difference is as likely positive as negative, so the p-value is the fraction of
  the 2^n sign patterns whose mean difference is at least as far from 0 as the observed one
  (``scipy.stats.permutation_test``, ``permutation_type="samples"``; every pattern up to
  ``EXACT_MAX_SEEDS`` seeds, ``RESAMPLES`` random ones above). The verdict uses the sign-flip
  test: it assumes nothing about the differences' distribution, which a handful of seeds cannot
  check.

Unpaired (the seeds differ, and fewer than ``min_seeds()`` are shared): Welch's t interval and
Welch's t-test, which the verdict then uses; a bootstrap interval beside it when both sides have
``BOOTSTRAP_MIN_SEEDS`` seeds.

Scored on the same data: a configuration is compared with the baseline on a metric only when
both score it on the same examples and labels (``SCORED_ON``: the dataset, its folder and files,
the languages and splits scored, the emotions, the annotation-format transfer's test data and
clusters). A zero-shot cell scored on GoEmotions' test through the Ekman clusters is compared on
the dev metrics (its early stopping reads the training data's dev split) but not on the test
ones: against the baseline's SemEval test the difference would be between datasets, not
methods. Its rows say so and stay out of the family.

Too few seeds: the exact sign-flip test cannot go below p = 2^(1-n) (the observed pattern and
its mirror image), so below ``min_seeds()`` seeds (6 at a level of 0.05) no verdict is possible
and the verdict says so, never higher or lower. The same floor applies to each side of an
unpaired comparison.

Many comparisons: within each metric, the comparisons with the baseline form one family (the
baseline against itself is not one of them), corrected with Holm's step-down method, which
controls the chance of any false "higher" or "lower" in the family; Benjamini-Hochberg's
adjustment (``scipy.stats.false_discovery_control``), which controls the expected share of
false ones, is shown beside it for screening. The verdict is "higher" or "lower" when the
Holm-adjusted p-value of its test is at most ``ALPHA``.

Seeds needed: from the standard deviation of a comparison's per-seed differences, the smallest
number of seeds at which a two-sided paired t-test at level ALPHA / m (Holm's first and most
demanding step, m the family size) detects a difference of ``effect`` (the sweep's
``analysis.effect``, in the metric's units) with probability ``POWER``; the power is the
noncentral t distribution's (``scipy.stats.nct``), not the normal approximation, which
undercounts at few seeds. It is never below the seeds at which the exact sign-flip test can pass
that same step, 2^(1-n) <= ALPHA / m. With few seeds the spread itself is a rough estimate.

A folder that kept only configs.parquet (the means and seeds of each configuration, not the
per-trial scores) gets the differences of the means and the seed counts, no interval and no
test: too few seeds where there were, else "no per-seed scores recorded".

Every random draw starts from the same seeded generator, so a table is reproducible. Test
metrics come from the test-stage trials in a two-stage sweep (the protocol's final scores),
else from the dev-stage trials. Configurations are the dev stage's (``config_key``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Collection
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from orchestrator.analysis.matching import Selector, matching

ALPHA = 0.05
CONFIDENCE = 1 - ALPHA
POWER = 0.8
EFFECT = 0.01  # the default analysis.effect: one point of a metric between 0 and 1
BOOTSTRAP_MIN_SEEDS = 10
EXACT_MAX_SEEDS = 16  # 65,536 sign patterns; above, RESAMPLES random ones
RESAMPLES = 9999
RANDOM_SEED = 0
HEADLINE = ("jaccard", "micro_f1", "macro_f1")
PAIRED_T, WELCH_T, SIGN_FLIP = "paired t", "Welch t", "exact sign-flip"
HOLM, BH = "Holm", "Benjamini-Hochberg"
BASELINE = "baseline"
NOT_RECORDED = "no per-seed scores recorded"
OTHER_DATA = "not compared: scored on other data"
# The training-config fields that say which examples and labels a split's metrics are scored
# on, by split (dev, test); a field matches its subfields too (transfer.eval_data.root), apart
# from preprocessing, which changes the text the model reads, not what is scored.
SCORED_ON = {
    "dev": ("data.dataset", "data.root", "data.language", "data.languages", "data.dev_languages",
            "data.dev_file", "data.emotions", "data.eval_limit", "data.labels_column"),
    "test": ("data.dataset", "data.root", "data.language", "data.languages",
             "data.eval_languages", "data.test_file", "data.test_splits", "data.emotions",
             "data.eval_limit", "data.labels_column", "transfer.eval_data",
             "transfer.eval_clusters"),
}  # fmt: skip
TABLE = "significance"
# The Comparison fields that need per-seed scores.
_STATISTICS = ("ci_low", "ci_high", "bootstrap_low", "bootstrap_high", "t_p_value",
               "sign_flip_p_value", "sd_difference")  # fmt: skip


def min_seeds(alpha: float = ALPHA, family: int = 1) -> int:
    """The fewest seeds at which the exact two-sided sign-flip test can give p <= alpha/family:
    its smallest p-value at n seeds is 2^(1-n)."""
    level = alpha / max(family, 1)
    return max(1, 1 + math.ceil(-math.log2(level) - 1e-12))


def too_few_seeds(n: int) -> str:
    return f"too few seeds (n = {n}; at least {min_seeds()} needed)"


@dataclass(frozen=True)
class Comparison:
    """One configuration's scores against the baseline's, on one metric."""

    n: int
    n_baseline: int
    paired: bool
    mean: float  # over all the configuration's seeds, as in configs.parquet
    baseline_mean: float  # over all the baseline's seeds
    difference: float  # paired: the mean per-seed difference over the shared seeds
    ci_low: float  # the t interval: paired, or Welch's when unpaired
    ci_high: float
    bootstrap_low: float  # NaN below BOOTSTRAP_MIN_SEEDS
    bootstrap_high: float
    t_p_value: float  # paired t-test, or Welch's when unpaired
    sign_flip_p_value: float  # paired only
    sd_difference: float  # the per-seed differences' standard deviation (paired only)
    recorded: bool = True  # False: only the means and seed counts are known (no test ran)
    n_paired: int = 0  # the seeds both ran, when paired
    other_data: bool = False  # scored on other examples or labels than the baseline: no test

    @property
    def interval(self) -> str:
        return PAIRED_T if self.paired else WELCH_T

    @property
    def test(self) -> str:
        """The test the verdict uses."""
        return SIGN_FLIP if self.paired else WELCH_T

    @property
    def p_value(self) -> float:
        """The verdict's test's p-value, before any correction."""
        return self.sign_flip_p_value if self.paired else self.t_p_value

    @property
    def seeds(self) -> int:
        """The seeds the comparison rests on: those both ran when paired, else the smaller
        side's."""
        return self.n_paired if self.paired else min(self.n, self.n_baseline)

    def verdict(self, adjusted_p: float | None = None) -> str:
        """higher, lower or not distinguishable from ``adjusted_p`` (the p-value corrected for
        the family; the uncorrected one when None), too few seeds for any verdict, or not
        compared at all (scored on other data)."""
        if self.other_data:
            return OTHER_DATA
        if self.seeds < min_seeds():
            return too_few_seeds(self.seeds)
        if not self.recorded:
            return NOT_RECORDED
        p = self.p_value if adjusted_p is None else adjusted_p
        if not p <= ALPHA:  # NaN too: two constant, equal sides
            return "not distinguishable"
        return "higher" if self.difference > 0 else "lower"


def compare(scores: pd.Series, baseline: pd.Series) -> Comparison:
    """``scores`` and ``baseline`` hold one value per seed, indexed by seed. Paired on the
    seeds both ran when they ran the same ones or share at least ``min_seeds()``."""
    scores, baseline = scores.dropna().sort_index(), baseline.dropna().sort_index()
    shared = scores.index.intersection(baseline.index)
    same = scores.index.equals(baseline.index)
    paired = len(scores) >= 1 and (same or len(shared) >= min_seeds())
    nan = float("nan")
    if paired:
        differences = scores[shared].to_numpy(float) - baseline[shared].to_numpy(float)
        difference = float(np.mean(differences))
        low, high, t_p = paired_t(differences)
        enough = len(differences) >= BOOTSTRAP_MIN_SEEDS
        boot = bootstrap_interval((differences,)) if enough else (nan, nan)
        flip = sign_flip_p_value(differences)
        sd = float(np.std(differences, ddof=1)) if len(differences) >= 2 else nan
    else:
        x, y = scores.to_numpy(float), baseline.to_numpy(float)
        difference = float(scores.mean() - baseline.mean())
        low, high, t_p = welch_t(x, y)
        enough = min(len(x), len(y)) >= BOOTSTRAP_MIN_SEEDS
        boot = bootstrap_interval((x, y)) if enough else (nan, nan)
        flip, sd = nan, nan
    return Comparison(
        n=len(scores),
        n_baseline=len(baseline),
        paired=paired,
        mean=float(scores.mean()),
        baseline_mean=float(baseline.mean()),
        difference=difference,
        ci_low=low,
        ci_high=high,
        bootstrap_low=boot[0],
        bootstrap_high=boot[1],
        t_p_value=t_p,
        sign_flip_p_value=flip,
        sd_difference=sd,
        n_paired=len(shared) if paired else 0,
    )


def not_compared(scores: pd.Series, baseline: pd.Series) -> Comparison:
    """A configuration scored on other data than the baseline: its mean and seeds, no
    difference and no test."""
    nan = float("nan")
    statistics = dict.fromkeys((*_STATISTICS, "difference"), nan)
    unpaired = {"paired": False, "n_paired": 0, "recorded": False, "other_data": True}
    return replace(compare(scores, baseline), **statistics, **unpaired)


def scored_alike(configs: pd.DataFrame, baseline: str, metric: str) -> set[str]:
    """The dev configurations that score ``metric`` on the same examples and labels as the
    ``baseline`` configuration: equal in every ``SCORED_ON`` field of the metric's split that
    configs.parquet records (a table recording none of them compares every configuration)."""
    dev = configs[configs["stage"] == "dev"] if "stage" in configs else configs
    dev = dev.drop_duplicates("config_key").set_index("config_key")
    fields = SCORED_ON["test" if metric.startswith("test_") else "dev"]
    columns = [
        column
        for column in dev.columns
        if column.startswith("cfg.")
        and ".preprocess." not in column
        and any(column[4:] == f or column[4:].startswith(f + ".") for f in fields)
    ]
    if not columns or baseline not in dev.index:
        return {str(key) for key in dev.index}
    # as text: a list, None and NaN each compare equal to themselves
    identity = dev[columns].map(str)
    alike = (identity == identity.loc[baseline]).all(axis=1)
    return {str(key) for key in identity.index[alike]}


def paired_t(differences: np.ndarray) -> tuple[float, float, float]:
    """The t interval of the mean difference and the paired t-test's two-sided p-value (a
    paired t-test is the one-sample t-test of the differences); NaN below 2 seeds, and a NaN
    p-value when every difference is 0."""
    if len(differences) < 2:
        return float("nan"), float("nan"), float("nan")
    with _quiet():
        result = stats.ttest_1samp(differences, 0.0)
        interval = result.confidence_interval(CONFIDENCE)
    if np.all(differences == differences[0]):  # no spread: the interval is the difference
        return float(differences[0]), float(differences[0]), float(result.pvalue)
    return float(interval.low), float(interval.high), float(result.pvalue)


def welch_t(scores: np.ndarray, baseline: np.ndarray) -> tuple[float, float, float]:
    """Welch's t interval of mean(scores) - mean(baseline) and its two-sided p-value (unequal
    variances); NaN with fewer than 2 seeds a side, or when both sides are constant (0/0)."""
    if min(len(scores), len(baseline)) < 2:
        return float("nan"), float("nan"), float("nan")
    with _quiet():
        result = stats.ttest_ind(scores, baseline, equal_var=False)
        interval = result.confidence_interval(CONFIDENCE)
    return float(interval.low), float(interval.high), float(result.pvalue)


def sign_flip_p_value(differences: np.ndarray) -> float:
    """The two-sided sign-flip permutation test of mean difference 0: exact (every one of the
    2^n sign patterns) up to EXACT_MAX_SEEDS seeds. NaN without seeds."""
    if len(differences) < 2:  # one seed: the pattern and its mirror image are equally far
        return 1.0 if len(differences) else float("nan")
    exact = len(differences) <= EXACT_MAX_SEEDS
    result = stats.permutation_test(
        (np.asarray(differences, float),),
        np.mean,
        permutation_type="samples",  # one sample: each difference keeps or flips its sign
        vectorized=True,
        n_resamples=np.inf if exact else RESAMPLES,
        alternative="two-sided",
        rng=np.random.default_rng(RANDOM_SEED),
    )
    return float(result.pvalue)


def bootstrap_interval(samples: tuple[np.ndarray, ...]) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean of one sample (the per-seed differences),
    or of the difference of two samples' means (each resampled on its own)."""
    statistic = np.mean if len(samples) == 1 else mean_difference
    result = stats.bootstrap(
        samples,
        statistic,
        vectorized=True,
        confidence_level=CONFIDENCE,
        n_resamples=RESAMPLES,
        method="percentile",
        rng=np.random.default_rng(RANDOM_SEED),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def mean_difference(scores: np.ndarray, baseline: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(scores, axis=axis) - np.mean(baseline, axis=axis)


def holm(p_values: np.ndarray | list[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN entries are not in the family): the i-th
    smallest of m is multiplied by m - i + 1, then made non-decreasing in that order and
    capped at 1."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    valid = ~np.isnan(p)
    family = p[valid]
    order = np.argsort(family, kind="stable")
    steps = (len(family) - np.arange(len(family))) * family[order]
    out = np.empty_like(family)
    out[order] = np.minimum(1.0, np.maximum.accumulate(steps))
    adjusted[valid] = out
    return adjusted


def benjamini_hochberg(p_values: np.ndarray | list[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN entries are not in the family)."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    valid = ~np.isnan(p)
    if valid.any():
        adjusted[valid] = stats.false_discovery_control(p[valid], method="bh")
    return adjusted


def paired_t_power(n: int, sd: float, effect: float, alpha: float = ALPHA) -> float:
    """The probability that a two-sided paired t-test at level ``alpha`` over ``n`` seeds
    rejects when the true mean difference is ``effect`` and the differences' standard deviation
    ``sd``: P(|T| > t_(1-alpha/2, n-1)) with T noncentral t, n-1 degrees of freedom,
    noncentrality effect * sqrt(n) / sd."""
    df = n - 1
    critical = stats.t.ppf(1 - alpha / 2, df)
    noncentrality = abs(effect) * math.sqrt(n) / sd
    return float(
        stats.nct.sf(critical, df, noncentrality) + stats.nct.cdf(-critical, df, noncentrality)
    )


def seeds_needed(
    sd: float, effect: float = EFFECT, family: int = 1, alpha: float = ALPHA, power: float = POWER
) -> int | None:
    """The fewest seeds at which the paired t-test at level alpha/family has ``power`` against a
    difference of ``effect`` (never fewer than the exact sign-flip test needs to pass that
    level); None without a spread to go by (fewer than 2 paired seeds)."""
    if not sd >= 0:
        return None
    floor = max(2, min_seeds(alpha, family))
    if sd == 0:
        return floor
    level = alpha / max(family, 1)
    # the normal approximation ((z_(1-level/2) + z_power) * sd / effect)^2 undercounts the t
    # test's seeds, so the search starts just below it
    z = stats.norm.ppf(1 - level / 2) + stats.norm.ppf(power)
    n = max(floor, math.ceil((z * sd / effect) ** 2) - 1)
    while paired_t_power(n, sd, effect, level) < power:
        n += 1
    return n


def headline_metrics(trials: pd.DataFrame | Collection[str]) -> list[str]:
    """The headline metric columns ``trials`` has (or the names given), dev best first, then
    test."""
    wanted = [f"{prefix}{name}" for prefix in ("best_dev_", "test_") for name in HEADLINE]
    return [column for column in wanted if column in trials]


def baseline_key(configs: pd.DataFrame, selector: Selector, metric: str, mode: str) -> str | None:
    """The dev configuration the selector names; of several, the best by the sweep's metric
    (a cell usually holds several Optuna suggestions). None when it names none."""
    dev = configs[configs["stage"] == "dev"] if "stage" in configs else configs
    named = dev[matching(dev, selector)]
    if named.empty:
        return None
    column = f"{metric}_mean"
    if column in named:
        named = named.sort_values(column, ascending=mode == "min", na_position="last")
    return str(named["config_key"].iloc[0])


def seed_scores(trials: pd.DataFrame, metric: str) -> tuple[str, dict[str, pd.Series]]:
    """The stage whose trials score ``metric`` and, per dev configuration, its scores by seed."""
    done = trials[(trials["status"] == "completed") & trials[metric].notna()]
    tested = metric.startswith("test_") and (done["stage"] == "test").any()
    stage = "test" if tested else "dev"
    rows = done[done["stage"] == stage]
    if stage == "test":
        rows = _one_test_configuration(rows)
    scores = {
        str(key): group.set_index("seed")[metric] for key, group in rows.groupby("dev_config_key")
    }
    return stage, scores


def summary_significance(
    configs: pd.DataFrame, baseline: str, effect: float = EFFECT
) -> pd.DataFrame:
    """The comparisons as far as configs.parquet alone tells them, for a folder whose per-trial
    scores were not kept: the means, their difference and the seeds, no interval and no test;
    the verdict is too few seeds where there were, else that no per-seed scores are recorded."""
    dev = configs[configs["stage"] == "dev"] if "stage" in configs else configs
    dev = dev.drop_duplicates("config_key").set_index("config_key")
    seeds = dev["seeds"].astype(str)
    nan = float("nan")
    parts = []
    for metric in headline_metrics({column.removesuffix("_mean") for column in dev}):
        means, counts = dev[f"{metric}_mean"], dev[f"{metric}_count"]
        if pd.isna(means.get(baseline)):
            continue
        alike = scored_alike(configs, baseline, metric)
        results = {
            str(key): Comparison(
                n=int(counts[key]),
                n_baseline=int(counts[baseline]),
                paired=seeds[key] == seeds[baseline],
                mean=float(means[key]),
                baseline_mean=float(means[baseline]),
                difference=float(means[key] - means[baseline]) if key in alike else nan,
                **dict.fromkeys(_STATISTICS, nan),
                recorded=False,
                n_paired=int(counts[key]) if seeds[key] == seeds[baseline] else 0,
                other_data=key not in alike,
            )
            for key in means.index[means.notna()]
        }
        shown = {key: seeds[key] for key in results}
        parts.append(_rows(configs, metric, "dev", results, shown, baseline, effect))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def significance_table(
    trials: pd.DataFrame, configs: pd.DataFrame, baseline: str, effect: float = EFFECT
) -> pd.DataFrame:
    """One row per (headline metric, dev configuration): its comparison with ``baseline`` (a
    dev ``config_key``), ranked by the metric's mean, best first. ``effect``: the difference
    the seeds-needed figure is for."""
    parts = [
        _metric_rows(trials, configs, baseline, metric, effect)
        for metric in headline_metrics(trials)
    ]
    parts = [part for part in parts if not part.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _metric_rows(
    trials: pd.DataFrame, configs: pd.DataFrame, baseline: str, metric: str, effect: float
) -> pd.DataFrame:
    stage, scores = seed_scores(trials, metric)
    if baseline not in scores:
        return pd.DataFrame()
    alike = scored_alike(configs, baseline, metric)
    results = {
        key: (compare if key in alike else not_compared)(values, scores[baseline])
        for key, values in scores.items()
    }
    seeds = {
        key: ",".join(str(int(s)) for s in sorted(values.dropna().index))
        for key, values in scores.items()
    }
    return _rows(configs, metric, stage, results, seeds, baseline, effect)


def _rows(
    configs: pd.DataFrame,
    metric: str,
    stage: str,
    results: dict[str, Comparison],
    seeds: dict[str, str],
    baseline: str,
    effect: float,
) -> pd.DataFrame:
    """One metric's rows: each comparison, corrected within the family of them all."""
    others = [key for key in results if key != baseline]
    p_values = [results[key].p_value for key in others]
    family = int(np.sum(~np.isnan(p_values)))
    adjusted = dict(
        zip(others, zip(holm(p_values), benjamini_hochberg(p_values), strict=True), strict=True)
    )
    rows = []
    for key, result in results.items():
        is_baseline = key == baseline
        holm_p, bh_p = adjusted.get(key, (np.nan, np.nan))
        verdict = BASELINE if is_baseline else result.verdict(holm_p)
        rows.append(
            {
                "metric": metric,
                "stage": stage,
                "config_key": key,
                "is_baseline": is_baseline,
                "seeds": seeds[key],
                "n": result.n,
                "baseline_config_key": baseline,
                "n_baseline": result.n_baseline,
                "paired": result.paired,
                "n_paired": result.n_paired,
                "mean": result.mean,
                "baseline_mean": result.baseline_mean,
                "difference": result.difference,
                "interval": result.interval,
                "ci_low": result.ci_low,
                "ci_high": result.ci_high,
                "bootstrap_low": result.bootstrap_low,
                "bootstrap_high": result.bootstrap_high,
                "t_test": result.interval,
                "t_p_value": result.t_p_value,
                "sign_flip_p_value": result.sign_flip_p_value,
                "test": result.test,
                "p_value": result.p_value,
                "family": f"{metric}: the {family} comparisons with the baseline",
                "family_size": family,
                "correction": HOLM,
                "holm_p_value": holm_p,
                "bh_p_value": bh_p,
                "verdict": verdict,
                "distinguishable": _distinguishable(verdict),
                "sd_difference": result.sd_difference,
                "seeds_needed": None
                if is_baseline or not result.paired
                else seeds_needed(result.sd_difference, effect, family),
            }
        )
    table = pd.DataFrame(rows).sort_values("mean", ascending=False, kind="stable")
    table.insert(2, "rank", range(1, len(table) + 1))
    table["distinguishable"] = table["distinguishable"].astype("boolean")
    table["seeds_needed"] = table["seeds_needed"].astype("Int64")
    table = table.assign(
        alpha=ALPHA,
        min_seeds=min_seeds(),
        confidence=CONFIDENCE,
        effect=effect,
        power=POWER,
        resamples=RESAMPLES,
        random_seed=RANDOM_SEED,
    )
    return _with_identity(table, configs)


def _distinguishable(verdict: str) -> bool | None:
    """None where there is no verdict (too few seeds, or the baseline itself)."""
    if verdict in ("higher", "lower"):
        return True
    return False if verdict == "not distinguishable" else None


def _with_identity(table: pd.DataFrame, configs: pd.DataFrame) -> pd.DataFrame:
    """The cell, suggestion and searched values of each row's configuration."""
    columns = ["cell", "suggestion", *(c for c in configs.columns if c.startswith("param."))]
    identity = configs.drop_duplicates("config_key").set_index("config_key")[columns]
    joined = table.join(identity, on="config_key")
    first = ["metric", "stage", "rank", "config_key", *columns]
    return joined[first + [c for c in table.columns if c not in first]].reset_index(drop=True)


def _one_test_configuration(rows: pd.DataFrame) -> pd.DataFrame:
    """Per dev configuration, one test-stage configuration: the one with the most seeds (a
    change of seeds that changed the epoch count leaves two)."""
    sizes = rows.groupby("config_key")["seed"].transform("size")
    ordered = rows.assign(_size=sizes).sort_values(["_size", "timestamp"], kind="stable")
    chosen = ordered.groupby("dev_config_key")["config_key"].last()
    return rows[rows["config_key"].isin(set(chosen))]


class _quiet(warnings.catch_warnings):
    """scipy warns of precision loss on identical samples; the NaN or the zero-width interval
    says it already."""

    def __enter__(self) -> None:
        super().__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)
