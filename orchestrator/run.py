"""Run a sweep: ``python -m orchestrator.run sweeps/smoke.yaml [--set PATH=VALUE] [--seeds 0,1,2]
[--storage PATH] [--data DIR] [--smoke] [--dry-run] [--resume | --rerun] [--address ADDRESS]
[--verbose]``.

Validates the sweep file (with the files it extends and the overrides), plans the run against
the trials already completed in storage (those are never run again unless ``--rerun``), runs
the preflight checks, lets Tune run the missing (configuration, seed) trials on the Ray cluster
named by ``--address`` / ``RAY_ADDRESS`` (else a local Ray), then writes the Parquet tables next
to Tune's results and prints a summary of the configurations. Bad input exits with status 2.

With ``protocol: two_stage`` a second Tuner pass follows the dev pass: the test stage of every
configuration whose dev seeds have all completed (see plan/second_stage.py).

``--resume`` continues a sweep whose driver was lost (Ctrl-C, kill -9, a lost machine): the
completed trials are kept, the unfinished ones continue from their last checkpoint, and the
seeded Optuna studies are replayed from the stored trials. A plain run does the same; the flag
says it is meant, so it fails when the storage holds no earlier run of the sweep.

The terminal shows the sweep's own lines: the headline, one live progress view (one plain line
per finished trial on a pipe or in CI), the summary. Everything else the driver prints, Ray's and
Tune's output among it, goes to ``run.log`` in the experiment folder, and also to the terminal
with ``--verbose`` (console.py).

A sweep file names its data as ``${EMOSWEEP_DATA}/semeval2018-ec``: the folder ``--data`` names,
else the environment variable EMOSWEEP_DATA.

``--smoke`` shrinks the sweep to a CI-sized run of every cell as experiment ``<name>-smoke``
(see spec/smoke.py).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd

from emotrain.config_errors import ConfigError
from emotrain.process_exit import exit_now
from orchestrator import console
from orchestrator.plan.disk import describe_disk
from orchestrator.plan.plan import Plan, describe_plan, make_plan, trial_identity
from orchestrator.plan.preflight import (
    Findings,
    check_inputs,
    check_resources,
    concurrent_trials,
    local_capacity,
)
from orchestrator.plan.second_stage import (
    SecondStage,
    describe_second_stage,
    headline,
    plan_second_stage,
)
from orchestrator.plan.stored import StoredTrial, adopt, completed_trials
from orchestrator.results.summary import missing_results, summary_text
from orchestrator.results.tables import TablesNotWritten, write_tables
from orchestrator.spec.layers import Override, seeds_override, set_override, storage_override
from orchestrator.spec.record import RECORD, write_record
from orchestrator.spec.smoke import smoke_overrides
from orchestrator.spec.sweep import Sweep, load_sweep
from orchestrator.store.cloud_storage import sync
from orchestrator.store.sweep_lock import exclusive

say = console.say


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        sweep = load_sweep(args.sweep, _overrides(args), args.data)
        level(sweep)
    except ConfigError as err:
        return _fail([str(err)])
    if args.resume and (problem := _nothing_to_resume(sweep, args.rerun)):
        return _fail([problem])
    address = args.address or os.environ.get("RAY_ADDRESS")
    findings = check_inputs(sweep)
    if args.dry_run:
        return _dry_run(*_plan(sweep, args.rerun), findings, address)
    for note in findings.notes:
        print(f"note: {note}")
    if findings.errors:
        return _fail(findings.errors)
    try:
        # planned and run by this driver alone
        with exclusive(sweep.experiment_dir), console.recording(_log(sweep), args.verbose):
            return _execute(sweep, args, address)
    except ConfigError as err:
        return _fail([str(err)])


def _plan(sweep: Sweep, rerun: bool) -> tuple[Plan, SecondStage | None]:
    plan = make_plan(sweep, {} if rerun else _stored(sweep, None))
    return plan, plan_second_stage(plan) if sweep.spec.protocol == "two_stage" else None


def _execute(sweep: Sweep, args: argparse.Namespace, address: str | None) -> int:
    """Plan against storage, run what is missing, write the tables; the exit status."""
    # --rerun: only what completes from now on counts (Tune's timestamps are whole seconds).
    since = int(time.time()) if args.rerun else None
    plan, stage = _plan(sweep, args.rerun)
    say(_headline(plan))
    if stage is not None:
        say(headline(stage))
    ran: set[str] = set()
    if plan.to_run or (stage is not None and stage.ready):
        code, ran = _run(plan, address, _flags(args), since)
        if code:
            return code
    else:
        # Nothing left: no Ray, no Tune; the tables are still rebuilt (and reused trials of
        # other experiments copied in).
        say("nothing to run: every trial exists completed in storage (--rerun runs them again)")
        _start(plan, _flags(args), stage)
    return _report(sweep, ran)


def _run(
    plan: Plan, address: str | None, flags: list[str], since: float | None
) -> tuple[int, set[str]]:
    """Run the missing trials, the dev stage then (two_stage) the test stage; a trial that fits
    on no node of the cluster stops the run before Tune starts (it would stay PENDING forever).
    Returns the exit status and the folders of the trials Tune ran."""
    # Ray is imported only when there is work: bad input and finished sweeps stay fast.
    from orchestrator.tune.tuner import (
        cluster_capacity,
        ray_session,
        run_plan,
        run_second_stage,
        unshared_storage,
    )

    ran: set[str] = set()
    with ray_session(address):
        problems = check_resources(plan.sweep, cluster_capacity(), "the cluster")
        if problems := problems + unshared_storage(plan.sweep):
            return _fail(problems), ran
        _start(plan, flags)
        if plan.to_run:
            ran |= run_plan(plan)
            level(plan.sweep)
        if plan.sweep.spec.protocol == "two_stage":
            # Planned again from storage: the dev pass just decided the epochs.
            stage = plan_second_stage(make_plan(plan.sweep, _stored(plan.sweep, since)))
            say(headline(stage))
            _adopt_stored(stage.plan, stage)
            if stage.ready:
                ran |= run_second_stage(stage)
                level(plan.sweep)
    return 0, ran


def _stored(sweep: Sweep, since: float | None) -> dict[str, StoredTrial]:
    """The completed trials under the storage; with ``since`` (--rerun) only the newer ones."""
    stored = completed_trials(sweep.spec.storage, sweep.experiment_dir)
    if since is None:
        return stored
    return {key: trial for key, trial in stored.items() if trial.timestamp >= since}


def _start(plan: Plan, flags: list[str], stage: SecondStage | None = None) -> None:
    """Save the resolved sweep and bring in the reused trials of other experiments."""
    write_record(plan.sweep, flags)
    _adopt_stored(plan, stage)
    level(plan.sweep)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.run", description=__doc__)
    parser.add_argument("sweep", type=Path, help="a sweep YAML file (see sweeps/)")
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                        help="override a sweep field; VALUE is YAML (repeatable)")  # fmt: skip
    parser.add_argument("--seeds", help="the seeds, comma separated (replaces seeds:)")
    parser.add_argument("--storage", help="the storage folder (replaces storage:)")
    parser.add_argument("--data", metavar="DIR",
                        help="the folder holding the datasets, for ${EMOSWEEP_DATA} in the "
                        "sweep file (default: $EMOSWEEP_DATA)")  # fmt: skip
    parser.add_argument("--dry-run", action="store_true",
                        help="print the plan and the preflight checks; run nothing")  # fmt: skip
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run of this sweep")  # fmt: skip
    parser.add_argument("--rerun", action="store_true",
                        help="run every trial, even one already completed in storage")  # fmt: skip
    parser.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS, else local)")
    parser.add_argument("--smoke", action="store_true",
                        help="every cell, tiny and short, as experiment <name>-smoke")  # fmt: skip
    parser.add_argument("--verbose", action="store_true",
                        help=f"also show Ray's output (always in {console.LOG})")  # fmt: skip
    return parser


def _nothing_to_resume(sweep: Sweep, rerun: bool) -> str | None:
    """Why ``--resume`` cannot apply, if it cannot."""
    if rerun:
        return "--resume: --rerun runs every trial again; it cannot also resume"
    if not (sweep.experiment_dir / RECORD).is_file():
        return f"--resume: {sweep.experiment_dir} holds no earlier run of sweep {sweep.spec.name}"
    return None


def _overrides(args: argparse.Namespace) -> list[Override]:
    overrides = [set_override(text) for text in args.set]
    if args.seeds is not None:
        overrides.append(seeds_override(args.seeds))
    if args.storage is not None:
        overrides.append(storage_override(args.storage))
    if args.smoke:  # last, on a valid sweep: a problem of the file is still blamed on the file
        overrides += smoke_overrides(load_sweep(args.sweep, overrides, args.data).layers.raw)
    return overrides


def _flags(args: argparse.Namespace) -> list[str]:
    flags = [f"--set {text}" for text in args.set]
    flags += [f"--seeds {args.seeds}"] if args.seeds is not None else []
    flags += [f"--storage {args.storage}"] if args.storage is not None else []
    flags += [f"--data {args.data}"] if args.data is not None else []
    flags += ["--smoke"] if args.smoke else []
    return flags + (["--rerun"] if args.rerun else [])


def _dry_run(plan: Plan, stage: SecondStage | None, findings: Findings, address: str | None) -> int:
    """The plan and every preflight problem; Ray is only contacted when a cluster is named."""
    print(describe_plan(plan))
    if stage is not None:
        print(describe_second_stage(stage))
    errors = list(findings.errors)
    if address:
        from orchestrator.tune.tuner import cluster_capacity, ray_session, unshared_storage

        with ray_session(address):
            nodes, where = cluster_capacity(), "the cluster"
            # The probe needs the folder; a dry run creates nothing.
            errors += unshared_storage(plan.sweep) if plan.sweep.spec.storage.is_dir() else []
    else:
        nodes, where = local_capacity(), "this machine"
    errors += check_resources(plan.sweep, nodes, where)
    print(describe_disk(plan.sweep, concurrent_trials(plan.sweep, nodes, max(plan.to_run, 1))))
    for note in findings.notes:
        print(f"note: {note}")
    if errors:
        return _fail(errors)
    print(f"preflight: data files, encoders and resources ({where}) OK; nothing was run")
    return 0


def _headline(plan: Plan) -> str:
    sweep = plan.sweep
    return (
        f"sweep {sweep.spec.name}: {len(sweep.cells)} cells x {sweep.spec.search.budget} "
        f"suggestions x {len(sweep.spec.seeds)} seeds = {sweep.total_trials} trials, "
        f"{plan.existing} already completed"
        f"{f' ({plan.diverged} of them diverged)' if plan.diverged else ''}, "
        f"{f'{plan.skipped} pruned, ' if plan.skipped else ''}"
        f"{plan.to_run} to run -> {sweep.experiment_location}"
    )


def _adopt_stored(plan: Plan, stage: SecondStage | None = None) -> None:
    """Copy the reused trials of other experiments into this one (tables read only its own)."""
    found = [(s, s.stored) for s in plan.suggestions]
    found += [(config.dev, config.stored) for config in stage.configs] if stage else []
    for suggestion, stored in found:
        identity = trial_identity(plan.sweep, suggestion.cell, suggestion.index)
        for trial in stored.values():
            adopt(trial, plan.sweep.experiment_dir, identity)


def _report(sweep: Sweep, ran: set[str]) -> int:
    """Write the tables and print the summary; exit status 1 when the tables could not be
    written, or when a trial of this run (``ran``: its folders) failed other than by diverging
    and no other attempt of it completed: its seeds are missing from the results."""
    try:
        paths = write_tables(sweep.experiment_dir)
    except TablesNotWritten as error:
        say(f"error: {error}", error=True)
        return 1
    level(sweep)
    say(summary_text(paths, sweep.spec.search.metric, sweep.spec.search.mode))
    say(f"\ntables: {', '.join(str(p) for p in paths.values())}")
    say(f"tensorboard --logdir {sweep.experiment_dir}")
    if failed := missing_results(pd.read_parquet(paths["trials"]), ran):
        say(
            f"error: {sweep.experiment_dir}: {failed} trial(s) of this run failed (listed above); "
            "the completed ones are kept, and the same command runs only the others again",
            error=True,
        )
        return 1
    return 0


def level(sweep: Sweep) -> None:
    """Level a cloud storage and its local mirror (store/cloud_storage.py); nothing for a folder.
    ``ConfigError`` naming the storage field when the storage cannot be reached."""
    uri = sweep.spec.storage_uri
    if uri is None:
        return
    try:
        sync(uri, sweep.spec.storage)
    except (OSError, ValueError) as err:  # pyarrow: no bucket, no credentials, no such scheme
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise sweep.layers.problem(("storage",), f"{uri}: {reason}") from None


def _fail(problems: list[str]) -> int:
    for problem in problems:
        say(f"error: {problem}", error=True)
    return 2


def _log(sweep: Sweep) -> Path:
    """The driver's log, in the experiment folder (its cloud storage's local mirror)."""
    return sweep.experiment_dir / console.LOG


if __name__ == "__main__":
    exit_now(main())
