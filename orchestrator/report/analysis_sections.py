"""The report's analysis sections and their display tables: every configuration against the
sweep's baseline (analysis/significance.py: paired tests, Holm-corrected verdicts, seeds
needed), the papers' numbers beside the measured ones (the reference file the sweep names), and
what the sweep cost (the cost columns of configs.parquet).
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from orchestrator.analysis.matching import describe_selector, matching
from orchestrator.analysis.reference import NO_STD, Reference, comparison_table, unmatched
from orchestrator.analysis.significance import (
    BOOTSTRAP_MIN_SEEDS,
    EXACT_MAX_SEEDS,
    OTHER_DATA,
    RESAMPLES,
    SIGN_FLIP,
)
from orchestrator.report.display_tables import (
    DIGITS,
    HEADLINE,
    KEY_CHARS,
    duration,
    identity,
    ranked,
)
from orchestrator.report.inputs import Experiment
from orchestrator.report.render import ReportSection
from orchestrator.results.trial_cost import totals

SIGNIFICANCE = "Significance against the baseline"


def significance_sections(experiment: Experiment) -> list[ReportSection]:
    """An introduction naming the baseline, the tests and how many seeds would settle the
    comparisons, then one table per metric with its family and correction."""
    baseline = experiment.analysis.get("baseline")
    if baseline is None:
        return []
    table = experiment.significance
    if table.empty:
        text = (
            f"The sweep names the baseline {describe_selector(baseline)}, but no completed "
            "configuration matches it."
        )
        return [ReportSection(SIGNIFICANCE, [text])]
    sections = [ReportSection(SIGNIFICANCE, _significance_text(experiment, baseline, table))]
    for metric, heading in HEADLINE:
        rows = table[table["metric"] == metric]
        if not rows.empty:
            stage = " (test stage)" if (rows["stage"] == "test").all() else ""
            title = f"Against the baseline: {heading}{stage}"
            display = significance_display(rows.reset_index(drop=True))
            sections.append(ReportSection(title, [_family_text(rows, heading)], table=display))
    return sections


def significance_display(rows: pd.DataFrame) -> pd.DataFrame:
    """One metric's rows of the significance table (ranked) as display strings, each p-value
    with the test that gave it."""
    paired_seeds = _paired_seeds(rows)
    flips = [
        (SIGN_FLIP if n <= EXACT_MAX_SEEDS else f"{RESAMPLES} random sign flips") if paired else ""
        for n, paired in zip(paired_seeds, rows["paired"], strict=True)
    ]
    intervals = [
        f"{name}, {n} shared seeds" if paired and n < max(mine, theirs) else name
        for name, paired, n, mine, theirs in zip(
            rows["interval"],
            rows["paired"],
            paired_seeds,
            rows["n"],
            rows["n_baseline"],
            strict=True,
        )
    ]
    cells = pd.DataFrame(
        {
            "rank": rows["rank"].astype(int),
            "seeds": rows["seeds"],
            "mean": rows["mean"].map(_fixed),
            "difference": rows["difference"].map(_signed),
            "95% CI": _labelled(_interval, rows["ci_low"], rows["ci_high"], intervals),
            "95% bootstrap CI": _labelled(_interval, rows["bootstrap_low"], rows["bootstrap_high"]),
            "t-test p": _labelled(_p_value, rows["t_p_value"], rows["t_test"]),
            "sign-flip p": _labelled(_p_value, rows["sign_flip_p_value"], flips),
            "Holm p": _labelled(_p_value, rows["holm_p_value"], rows["test"]),
            "BH q": rows["bh_p_value"].map(_p_value),
            "verdict": rows["verdict"],
            "seeds needed": rows["seeds_needed"].map(lambda n: "n/a" if pd.isna(n) else str(n)),
        },
        index=rows.index,
    )
    cells.loc[~rows["paired"].astype(bool), "sign-flip p"] = "n/a (seeds differ)"
    if rows["bootstrap_low"].isna().all():
        cells = cells.drop(columns="95% bootstrap CI")
    compared = [c for c in cells.columns if c not in ("rank", "seeds", "mean", "verdict")]
    cells.loc[rows["is_baseline"].astype(bool) | (rows["verdict"] == OTHER_DATA), compared] = ""
    return pd.concat([cells[["rank"]], identity(rows), cells.drop(columns="rank")], axis=1)


def _paired_seeds(rows: pd.DataFrame) -> pd.Series:
    """The seeds each paired comparison rests on (tables written before partial pairing: all
    of the configuration's)."""
    return rows["n_paired"] if "n_paired" in rows else rows["n"]


def _labelled(show: Callable[..., str], *columns: Iterable[Any]) -> list[str]:
    """``show`` applied row by row to the columns (the last may name the test or interval)."""
    return [show(*values) for values in zip(*columns, strict=True)]


def suggested_seeds(seeds: list[int], needed: int) -> list[int]:
    """``seeds`` (those run) and the smallest unused non-negative seeds, ``needed`` in all."""
    chosen = sorted(set(seeds))
    candidate = 0
    while len(chosen) < needed:
        if candidate not in chosen:
            chosen.append(candidate)
        candidate += 1
    return sorted(chosen)


def seeds_command(record: dict[str, Any], seeds: list[int]) -> str:
    """The command that runs the sweep recorded in ``record`` (sweep.json) on ``seeds``: the
    trials already completed are not run again. Its other flags are kept (not --seeds, and
    not --rerun, which would run every trial again)."""
    words = ["python", "-m", "orchestrator.run", str(record.get("source") or "SWEEP.yaml")]
    for flag in record.get("overrides") or []:
        name, _, value = str(flag).partition(" ")
        if name not in ("--seeds", "--rerun"):
            words += [name, value] if value else [name]
    return shlex.join([*words, "--seeds", ",".join(map(str, seeds))])


def reference_sections(experiment: Experiment) -> list[ReportSection]:
    """The reference's source, which of its entries this sweep corresponds to, and the
    comparison of the measured test scores with the paper's."""
    reference = experiment.reference
    if reference is None:
        return []
    tested = not experiment.test_stage.empty
    configs = experiment.configs
    if "stage" in configs:
        configs = configs[configs["stage"] == ("test" if tested else "dev")]
    table = comparison_table(reference, configs)
    text = [
        f"Source: {reference.paper}. {reference.table}.",
        *([reference.note] if reference.note else []),
        f"Values in {reference.unit}. Measured: the test scores (mean ± std over seeds) of each "
        f"configuration of {'the test stage' if tested else 'the sweep'} whose training options "
        "match the entry; the encoder is not matched, so compare the encoder columns. "
        "Difference = measured - reference. Within std: |difference| <= the paper's std over "
        f"its runs; where the paper gives no std the column says {NO_STD!r}.",
    ]
    missing = unmatched(reference, configs)
    if missing:
        text.append("Entries without a configuration here: " + "; ".join(missing) + ".")
    sections = [
        ReportSection("Reference: the papers' numbers", text, table=_sources(reference, configs))
    ]
    if not table.empty:
        sections.append(
            ReportSection("Reference beside measured", table=_comparison(table, configs))
        )
    return sections


def cost_section(experiment: Experiment) -> ReportSection:
    """Per configuration (both stages) and for the whole sweep: wall time, CPU- and GPU-hours,
    epochs and memory peaks."""
    configs = experiment.configs
    if configs.empty or "wall_seconds_sum" not in configs:
        return ReportSection("Cost", ["No cost was recorded for these trials."])
    dev = ranked(experiment.dev_configs, experiment.metric, experiment.mode)
    rest = configs[configs["stage"] != "dev"] if "stage" in configs else configs.iloc[:0]
    ordered = pd.concat([dev, rest], ignore_index=True)
    total = totals(configs)
    table = pd.concat([_cost_rows(ordered), _total_row(ordered, total)], ignore_index=True)
    return ReportSection("Cost", [_cost_text(experiment, total)], table=table)


def _significance_text(experiment: Experiment, baseline: Any, table: pd.DataFrame) -> list[str]:
    first = table.iloc[0]
    key = str(first["baseline_config_key"])
    base = experiment.dev_configs[experiment.dev_configs["config_key"] == key]
    cell = base["cell"].iloc[0] if not base.empty else "?"
    count = int(matching(experiment.dev_configs, baseline).sum())
    chosen = (
        f"the best by {experiment.metric} of the {count} configurations that match"
        if count > 1
        else "the configuration that matches"
    )
    alpha, floor = float(first["alpha"]), int(first["min_seeds"])
    return [
        f"Baseline: cell {cell}, configuration {key[:KEY_CHARS]}: {chosen} "
        f"{describe_selector(baseline)}.",
        "For each headline metric, each configuration's mean over seeds minus the baseline's. "
        f"Where both ran the same seeds, or share at least {floor} of them, the comparison is "
        "paired by seed on the seeds both ran: the difference is the mean per-seed difference, "
        "the 95% CI is its t interval, the p-values are the paired t-test's and the exact "
        "sign-flip permutation test's (every pattern of signs of the per-seed differences), and "
        "the verdict uses the sign-flip test. Otherwise (fewer seeds in common), Welch's t "
        "interval and test. A configuration scored on other data than the baseline (another "
        "test set, other languages or labels) is not compared on that metric and stays out of "
        "its family. A percentile bootstrap CI is shown beside the t interval "
        f"from {BOOTSTRAP_MIN_SEEDS} seeds on ({int(first['resamples'])} resamples, generator "
        f"seed {int(first['random_seed'])}); with fewer it can only return the few per-seed "
        "differences there are.",
        f"Too few seeds: at n seeds the exact sign-flip test cannot go below p = 2^(1-n), so "
        f"below {floor} seeds no comparison can reach the level {alpha:g} and the verdict says "
        "too few seeds, never higher or lower. Many comparisons: within each metric, the "
        "comparisons with the baseline form one family, corrected with Holm's method (Holm p, "
        "which the verdict uses: higher or lower when it is at most "
        f"{alpha:g}); the Benjamini-Hochberg q beside it controls the false discovery rate, "
        "for screening only. Ranked by the metric's mean, best first. The same numbers are in "
        "significance.parquet beside this report.",
        _seeds_text(experiment, table),
    ]


def _seeds_text(experiment: Experiment, table: pd.DataFrame) -> str:
    """How many seeds the comparisons on the sweep's metric (else on every metric) need, and
    the command that runs the missing ones."""
    first = table.iloc[0]
    rows = table[table["metric"] == experiment.metric]
    rows = table if rows.empty else rows
    effect, power = float(first["effect"]), float(first["power"])
    metric = str(rows["metric"].iloc[0]) if rows is not table else "any headline metric"
    needed = rows["seeds_needed"].dropna()
    method = (
        f"Seeds needed: the fewest seeds at which a paired t-test at level {first['alpha']:g}/m "
        "(Holm's first step, m the family size) detects a difference of "
        f"{effect:g} with probability {power:.0%}, given the standard deviation of the "
        "per-seed differences measured here (noncentral t; never fewer than the exact "
        "sign-flip test needs to reach that level; analysis.effect sets the difference). "
        "With few seeds that deviation is itself a rough estimate."
    )
    if needed.empty:
        return method + " No comparison has 2 paired seeds to measure it from."
    most = int(needed.max())
    seeds = sorted({int(s) for text in rows["seeds"] for s in str(text).split(",") if s})
    if most <= len(seeds):
        return method + f" On {metric}, the {len(seeds)} seeds run already suffice."
    command = seeds_command(experiment.record, suggested_seeds(seeds, most))
    return (
        f"{method} On {metric} (the most any comparison needs): {most} seeds. This runs only the "
        f"missing ones: {command}"
    )


def _family_text(rows: pd.DataFrame, heading: str) -> str:
    first = rows.iloc[0]
    needed = rows["seeds_needed"].dropna()
    most = (
        f" Seeds needed to detect {first['effect']:g}: up to {int(needed.max())}."
        if len(needed)
        else ""
    )
    if int(first["family_size"]) == 0:
        return f"No comparison on {heading} has per-seed scores to test: no family to correct."
    return (
        f"Family: the {int(first['family_size'])} comparisons with the baseline on {heading}, "
        f"corrected with {first['correction']} (Holm p; BH q for screening).{most}"
    )


def _sources(reference: Reference, configs: pd.DataFrame) -> pd.DataFrame:
    rows = [
        {
            "entry": entry.name,
            "test set": entry.test_set,
            "paper's encoder": entry.encoder or "not recorded",
            "runs": str(entry.runs) if entry.runs else "not stated",
            "configurations here": (
                str(int(matching(configs, entry.match).sum())) if entry.match else "none"
            ),
        }
        for entry in reference.entries
    ]
    return pd.DataFrame(rows)


def _comparison(table: pd.DataFrame, configs: pd.DataFrame) -> pd.DataFrame:
    by_key = configs.drop_duplicates("config_key").set_index("config_key")
    reference = [
        ("≈ " if approximate else "") + _fixed(value, 1) + ("" if pd.isna(std) else f" ± {std:.1f}")
        for value, std, approximate in zip(
            table["reference"], table["reference_std"], table["approximate"], strict=True
        )
    ]
    return pd.DataFrame(
        {
            "entry": table["entry"],
            "cell": table["cell"],
            "config": table["config_key"].str[:KEY_CHARS],
            "measured with": [_measured_with(by_key.loc[key]) for key in table["config_key"]],
            "seeds": table["n_seeds"].astype(int),
            "metric": table["metric"],
            "reference": reference,
            "measured": [
                f"{m:.1f} ± {s:.1f}"
                for m, s in zip(table["measured"], table["measured_std"], strict=True)
            ],
            "difference": table["difference"].map(lambda d: f"{d:+.1f}"),
            "within std": table["within_std"].map(
                lambda w: NO_STD if w is None or pd.isna(w) else ("yes" if w else "no")
            ),
        }
    )


def _measured_with(config: pd.Series) -> str:
    """The encoder and data of a configuration, to set beside the paper's."""
    encoder = config.get("cfg.model.encoder.name")
    if not isinstance(encoder, str):
        encoder = f"tiny {config.get('cfg.model.encoder.tiny')} (random init)"
    data = [str(config.get("cfg.data.dataset")), str(config.get("cfg.data.language"))]
    if config.get("cfg.data.dataset") == "semeval" and config.get("cfg.data.root") is None:
        data.append("demo data")
    return f"{encoder}; {' '.join(data)}"


def _cost_rows(configs: pd.DataFrame) -> pd.DataFrame:
    identity_columns = identity(configs)
    if "stage" in configs and (configs["stage"] == "test").any():
        identity_columns.insert(0, "stage", configs["stage"].astype(str))
    numbers = pd.DataFrame(
        {
            "trials": configs["n_seeds"].astype(int).astype(str),
            "wall time": configs["wall_seconds_sum"].map(duration),
            "CPU-hours": configs["cpu_hours_sum"].map(_hours),
            "GPU-hours": configs["gpu_hours_sum"].map(_hours),
            "epochs": configs["epochs_run_sum"].map(lambda e: f"{e:.0f}"),
            "peak RSS": configs["peak_rss_bytes_max"].map(_memory),
        },
        index=configs.index,
    )
    if configs.get("gpu_max_allocated_bytes_max", pd.Series(dtype=float)).notna().any():
        numbers["peak GPU memory"] = configs["gpu_max_allocated_bytes_max"].map(_memory)
    return pd.concat([identity_columns, numbers], axis=1)


def _total_row(configs: pd.DataFrame, total: dict[str, float]) -> pd.DataFrame:
    row = {column: "" for column in _cost_rows(configs.head(1)).columns}
    first = next(iter(row))
    row |= {
        first: "total",
        "trials": str(int(configs["n_seeds"].sum())),
        "wall time": duration(total["wall_seconds"]),
        "CPU-hours": _hours(total["cpu_hours"]),
        "GPU-hours": _hours(total["gpu_hours"]),
        "epochs": f"{total['epochs_run']:.0f}",
        "peak RSS": _memory(total.get("peak_rss_bytes", math.nan)),
    }
    if "peak GPU memory" in row:
        row["peak GPU memory"] = _memory(total.get("gpu_max_allocated_bytes", math.nan))
    return pd.DataFrame([row])


def _cost_text(experiment: Experiment, total: dict[str, float]) -> str:
    done = int((experiment.trials["status"] == "completed").sum())
    return (
        f"Sweep total over the {done} completed trials: {duration(total['wall_seconds'])} of "
        f"trial wall time, {_hours(total['cpu_hours'])} CPU-hours and "
        f"{_hours(total['gpu_hours'])} GPU-hours, {total['epochs_run']:.0f} epochs. Wall time "
        "is Tune's time_total_s of each trial; CPU- and GPU-hours are the resources each trial "
        "held (resources in sweep.json) times its wall time. Peak RSS is the largest host "
        "resident memory of a trial's process (ru_maxrss); peak GPU memory, shown when CUDA "
        "was used, is torch.cuda.max_memory_allocated. Trials that failed or did not finish "
        "are not counted. Per trial: trials.parquet; per configuration: configs.parquet "
        "(*_sum, *_max)."
    )


def _fixed(value: float, digits: int = DIGITS) -> str:
    return "n/a" if pd.isna(value) else f"{value:.{digits}f}"


def _signed(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:+.{DIGITS}f}"


def _interval(low: float, high: float, name: str = "") -> str:
    """An interval, with the method that gave it in brackets when named."""
    if pd.isna(low):
        return "n/a"
    return f"[{low:+.{DIGITS}f}, {high:+.{DIGITS}f}]" + (f" ({name})" if name else "")


def _p_value(value: float, test: str = "") -> str:
    """A p-value, with the test that gave it in brackets when named."""
    if pd.isna(value):
        return "n/a"
    return f"{value:.3g}" + (f" ({test})" if test else "")


def _hours(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.3g}"


def _memory(value: float) -> str:
    if pd.isna(value):
        return "n/a"
    mebibytes = value / 2**20
    return f"{mebibytes / 1024:.2f} GiB" if mebibytes >= 1024 else f"{mebibytes:.0f} MiB"
