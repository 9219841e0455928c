"""The report's analysis sections and their display tables: every configuration against the
sweep's baseline (significance.parquet), the papers' numbers beside the measured ones (the
reference file the sweep names), and what the sweep cost (the cost columns of configs.parquet).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from orchestrator.cost import totals
from orchestrator.matching import describe, matching
from orchestrator.reference import NO_STD, Reference, comparison_table, unmatched
from orchestrator.report_inputs import Experiment
from orchestrator.report_render import Section
from orchestrator.report_tables import (
    DIGITS,
    HEADLINE,
    KEY_CHARS,
    duration,
    identity,
    ranked,
)

SIGNIFICANCE = "Significance against the baseline"


def significance_sections(experiment: Experiment) -> list[Section]:
    """An introduction naming the baseline and the method, then one table per metric."""
    baseline = experiment.analysis.get("baseline")
    if baseline is None:
        return []
    table = experiment.significance
    if table.empty:
        text = (
            f"The sweep names the baseline {describe(baseline)}, but no completed configuration "
            "matches it, or the tables predate it (python -m orchestrator.aggregate "
            f"{experiment.folder} rebuilds them)."
        )
        return [Section(SIGNIFICANCE, [text])]
    sections = [Section(SIGNIFICANCE, _significance_text(experiment, baseline, table))]
    for metric, heading in HEADLINE:
        rows = table[table["metric"] == metric]
        if not rows.empty:
            stage = " (test stage)" if (rows["stage"] == "test").all() else ""
            title = f"Against the baseline: {heading}{stage}"
            sections.append(Section(title, table=significance_display(rows.reset_index(drop=True))))
    return sections


def significance_display(rows: pd.DataFrame) -> pd.DataFrame:
    """One metric's rows of significance.parquet (ranked) as display strings."""
    verdicts = rows["verdict"].where(~rows["is_baseline"].astype(bool), "baseline")
    cells = pd.DataFrame(
        {
            "rank": rows["rank"].astype(int),
            "seeds": rows["seeds"],
            "paired": rows["paired"].map({True: "yes", False: "no"}),
            "mean": rows["mean"].map(_fixed),
            "difference": rows["difference"].map(_signed),
            "95% CI": [
                _interval(lo, hi) for lo, hi in zip(rows["ci_low"], rows["ci_high"], strict=True)
            ],
            "Welch p": rows["p_value"].map(_p_value),
            "verdict": verdicts,
        },
        index=rows.index,
    )
    return pd.concat([cells[["rank"]], identity(rows), cells.drop(columns="rank")], axis=1)


def reference_sections(experiment: Experiment) -> list[Section]:
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
    sections = [Section("Reference: the papers' numbers", text, table=_sources(reference, configs))]
    if not table.empty:
        sections.append(Section("Reference beside measured", table=_comparison(table, configs)))
    return sections


def cost_section(experiment: Experiment) -> Section:
    """Per configuration (both stages) and for the whole sweep: wall time, CPU- and GPU-hours,
    epochs and memory peaks."""
    configs = experiment.configs
    if configs.empty or "wall_seconds_sum" not in configs:
        return Section("Cost", ["No cost was recorded for these trials."])
    dev = ranked(experiment.dev_configs, experiment.metric, experiment.mode)
    rest = configs[configs["stage"] != "dev"] if "stage" in configs else configs.iloc[:0]
    ordered = pd.concat([dev, rest], ignore_index=True)
    total = totals(configs)
    table = pd.concat([_cost_rows(ordered), _total_row(ordered, total)], ignore_index=True)
    return Section("Cost", [_cost_text(experiment, total)], table=table)


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
    return [
        f"Baseline: cell {cell}, configuration {key[:KEY_CHARS]}: {chosen} {describe(baseline)}.",
        "For each headline metric, each configuration's mean over seeds minus the baseline's, "
        f"with a {first['confidence']:.0%} bootstrap confidence interval "
        f"({int(first['resamples'])} resamples, {first['method']} method, generator seed "
        f"{int(first['bootstrap_seed'])}) and Welch's t-test p-value. The bootstrap is paired by "
        "seed when both configurations ran the same seeds. A configuration whose interval "
        "contains 0 is not distinguishable from the baseline. With few seeds the interval is "
        "crude: paired over 2 seeds it spans the two per-seed differences, so it can exclude 0 "
        "while the t-test finds nothing; run more seeds before trusting a higher or lower. "
        "With fewer than 2 seeds there is no interval and no p-value (n/a). Ranked by the "
        "metric's mean, best first. The same numbers are in significance.parquet.",
    ]


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


def _interval(low: float, high: float) -> str:
    return "n/a" if pd.isna(low) else f"[{low:+.{DIGITS}f}, {high:+.{DIGITS}f}]"


def _p_value(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.3g}"


def _hours(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.3g}"


def _memory(value: float) -> str:
    if pd.isna(value):
        return "n/a"
    mebibytes = value / 2**20
    return f"{mebibytes / 1024:.2f} GiB" if mebibytes >= 1024 else f"{mebibytes:.0f} MiB"
