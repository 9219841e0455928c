"""Can a configuration be told apart from the sweep's baseline? For each headline metric (dev
best and test Jaccard, micro-F1 and macro-F1): the difference of the means over seeds, its 95%
bootstrap confidence interval and Welch's t-test p-value.

The bootstrap resamples seeds, paired by seed when both configurations ran the same seeds (the
mean of the per-seed differences: seed-to-seed noise shared by both then cancels), else each
configuration's seeds independently. It uses the percentile method: BCa's acceleration is
undefined when every resample agrees, as for a configuration compared with itself, and with a
handful of seeds it is no better calibrated. Every bootstrap starts from the same seeded
generator, so a report is reproducible. A configuration whose interval contains 0 is "not
distinguishable" from the baseline; with fewer than 2 seeds on either side there is no
interval and no p-value (NaN), only the difference.

Test metrics come from the test-stage trials in a two-stage sweep (the protocol's final scores),
else from the dev-stage trials. Configurations are the dev stage's (``config_key``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from orchestrator.matching import Selector, matching

CONFIDENCE = 0.95
RESAMPLES = 9999
BOOTSTRAP_SEED = 0
METHOD = "percentile"
HEADLINE = ("jaccard", "micro_f1", "macro_f1")
NO_CI = "fewer than 2 seeds: no CI"
TABLE = "significance"


@dataclass(frozen=True)
class Comparison:
    """One configuration's scores against the baseline's, on one metric."""

    n: int
    n_baseline: int
    paired: bool
    mean: float
    baseline_mean: float
    ci_low: float
    ci_high: float
    p_value: float

    @property
    def difference(self) -> float:
        return self.mean - self.baseline_mean

    @property
    def distinguishable(self) -> bool | None:
        """None when there is no interval (too few seeds)."""
        if np.isnan(self.ci_low):
            return None
        return not self.ci_low <= 0.0 <= self.ci_high

    @property
    def verdict(self) -> str:
        if self.distinguishable is None:
            return NO_CI
        if not self.distinguishable:
            return "not distinguishable"
        return "higher" if self.difference > 0 else "lower"


def compare(scores: pd.Series, baseline: pd.Series) -> Comparison:
    """``scores`` and ``baseline`` hold one value per seed, indexed by seed."""
    scores, baseline = scores.dropna().sort_index(), baseline.dropna().sort_index()
    paired = len(scores) >= 2 and scores.index.equals(baseline.index)
    low, high = bootstrap_interval(scores.to_numpy(float), baseline.to_numpy(float), paired)
    return Comparison(
        n=len(scores),
        n_baseline=len(baseline),
        paired=paired,
        mean=float(scores.mean()),
        baseline_mean=float(baseline.mean()),
        ci_low=low,
        ci_high=high,
        p_value=welch_p_value(scores.to_numpy(float), baseline.to_numpy(float)),
    )


def bootstrap_interval(
    scores: np.ndarray, baseline: np.ndarray, paired: bool
) -> tuple[float, float]:
    """The CI of mean(scores) - mean(baseline); paired: of the mean per-seed difference (the
    arrays are then aligned by seed). NaN when a side has fewer than 2 seeds."""
    if min(len(scores), len(baseline)) < 2:
        return float("nan"), float("nan")
    options = {
        "confidence_level": CONFIDENCE,
        "n_resamples": RESAMPLES,
        "method": METHOD,
        "rng": np.random.default_rng(BOOTSTRAP_SEED),
    }
    if paired:
        result = stats.bootstrap((scores - baseline,), np.mean, **options)
    else:
        result = stats.bootstrap((scores, baseline), mean_difference, vectorized=True, **options)
    interval = result.confidence_interval
    return float(interval.low), float(interval.high)


def mean_difference(scores: np.ndarray, baseline: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(scores, axis=axis) - np.mean(baseline, axis=axis)


def welch_p_value(scores: np.ndarray, baseline: np.ndarray) -> float:
    """Welch's two-sided t-test (unequal variances); NaN with fewer than 2 seeds a side, or
    when both sides are constant and equal (0/0)."""
    if min(len(scores), len(baseline)) < 2:
        return float("nan")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # identical samples trigger scipy's precision-loss warning; the NaN says it already
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(scores, baseline, equal_var=False).pvalue)


def headline_metrics(trials: pd.DataFrame) -> list[str]:
    """The headline metric columns ``trials`` has, dev best first, then test."""
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


def significance_table(trials: pd.DataFrame, configs: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """One row per (headline metric, dev configuration): its comparison with ``baseline`` (a
    dev ``config_key``), ranked by the metric's mean, best first."""
    parts = [_metric_rows(trials, configs, baseline, metric) for metric in headline_metrics(trials)]
    parts = [part for part in parts if not part.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _metric_rows(
    trials: pd.DataFrame, configs: pd.DataFrame, baseline: str, metric: str
) -> pd.DataFrame:
    stage, scores = seed_scores(trials, metric)
    if baseline not in scores:
        return pd.DataFrame()
    rows = []
    for key, values in scores.items():
        result = compare(values, scores[baseline])
        rows.append(
            {
                "metric": metric,
                "stage": stage,
                "config_key": key,
                "is_baseline": key == baseline,
                "seeds": ",".join(str(int(s)) for s in sorted(values.dropna().index)),
                "n": result.n,
                "baseline_config_key": baseline,
                "n_baseline": result.n_baseline,
                "paired": result.paired,
                "mean": result.mean,
                "baseline_mean": result.baseline_mean,
                "difference": result.difference,
                "ci_low": result.ci_low,
                "ci_high": result.ci_high,
                "p_value": result.p_value,
                "distinguishable": result.distinguishable,
                "verdict": result.verdict,
            }
        )
    table = pd.DataFrame(rows).sort_values("mean", ascending=False, kind="stable")
    table.insert(2, "rank", range(1, len(table) + 1))
    table["distinguishable"] = table["distinguishable"].astype("boolean")
    table = table.assign(
        confidence=CONFIDENCE, resamples=RESAMPLES, method=METHOD, bootstrap_seed=BOOTSTRAP_SEED
    )
    return _with_identity(table, configs)


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
