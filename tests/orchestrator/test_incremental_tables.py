"""Rebuilding the tables reads only the trial folders that are new or changed since the last
rebuild (the row cache, orchestrator/results/trial_rows.py), and gives exactly the tables a cold
rebuild gives: after trials are added, after a trial's files change, after a trial folder is
deleted. A corrupt, foreign or poisoned cache file is ignored and rebuilt, and nothing in it is
run.

The trial folders are those of a real sweep (the session's smoke sweep), copied."""

from __future__ import annotations

import errno
import json
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestrator.results import tables
from orchestrator.results.tables import TABLES, TablesNotWritten, build_tables, write_tables
from orchestrator.results.trial_rows import CACHE, TrialRows

pytestmark = pytest.mark.slow  # reads the smoke sweep, run once per worker (conftest.py)


class Payload:
    """Unpickling this creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[[Path], None], tuple[Path]]:
        return Path.touch, (self.marker,)


@pytest.fixture
def experiment(smoke_experiment: Path, tmp_path: Path) -> Path:
    """A copy of the smoke sweep whose tables (and row cache) were just written."""
    copy = tmp_path / "smoke"
    shutil.copytree(smoke_experiment, copy)
    (copy / CACHE).unlink(missing_ok=True)
    write_tables(copy)
    assert (copy / CACHE).is_file()
    return copy


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The trial folders read from their files (not from the cache), in order."""
    seen: list[str] = []
    real = tables.read_trial

    def counted(trial_dir: Path, resources: dict[str, object] | None = None) -> object:
        seen.append(trial_dir.name)
        return real(trial_dir, resources)

    monkeypatch.setattr(tables, "read_trial", counted)
    return seen


def assert_same_as_cold(experiment: Path) -> dict[str, pd.DataFrame]:
    """The cached build equals a cold one, table by table, value by value and dtype by dtype;
    the cached build's tables are returned."""
    warm = build_tables(experiment)
    cold = build_tables(experiment, cached=False)
    assert set(warm) == set(cold) == set(TABLES)
    for name in TABLES:
        pd.testing.assert_frame_equal(warm[name], cold[name], check_exact=True, obj=name)
    return warm


def trial_dirs(experiment: Path) -> list[Path]:
    return sorted(p.parent for p in experiment.glob("*/params.json"))


def add_seed(source: Path, seed: int, trial_id: str) -> Path:
    """A new trial folder: ``source``'s configuration on another seed."""
    target = source.parent / f"{source.name.rsplit('_seed', 1)[0]}_seed{seed}_{trial_id}"
    shutil.copytree(source, target)
    params = json.loads((target / "params.json").read_text(encoding="utf-8"))
    params |= {"seed": seed, "trial_key": f"{params['trial_key'][:8]}{trial_id}"}
    (target / "params.json").write_text(json.dumps(params, indent=2), encoding="utf-8")
    return target


def rewrite_final(trial_dir: Path, **changes: float) -> None:
    path = trial_dir / "result.json"
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    lines[-1] |= changes
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def test_an_unchanged_experiment_is_rebuilt_from_the_cache_alone(
    experiment: Path, reads: list[str]
) -> None:
    warm = build_tables(experiment)
    assert reads == []
    cold = build_tables(experiment, cached=False)
    assert len(reads) == len(trial_dirs(experiment)) == 8
    for name in TABLES:
        pd.testing.assert_frame_equal(warm[name], cold[name], check_exact=True, obj=name)


def test_new_trials_are_the_only_folders_read(experiment: Path, reads: list[str]) -> None:
    first, other = trial_dirs(experiment)[0], trial_dirs(experiment)[2]  # two configurations
    added = [add_seed(first, 7, "aaaa0001").name, add_seed(other, 8, "aaaa0002").name]
    write_tables(experiment)
    assert sorted(reads) == sorted(added)
    reads.clear()
    warm = assert_same_as_cold(experiment)
    assert len(reads) == len(trial_dirs(experiment))  # the cold build's: the warm one read none
    assert len(warm["trials"]) == 10
    seeds = warm["configs"].set_index("config_key")["seeds"]
    for trial, expected in ((first, "0,1,7"), (other, "0,1,8")):
        assert seeds[json.loads((trial / "params.json").read_text())["config_key"]] == expected


def test_a_changed_result_is_read_again(experiment: Path, reads: list[str]) -> None:
    trial = trial_dirs(experiment)[3]
    rewrite_final(trial, test_jaccard=0.123456789)  # longer than before: the size changes
    write_tables(experiment)
    assert reads == [trial.name]
    warm = assert_same_as_cold(experiment)
    row = warm["trials"].set_index("trial_dir").loc[trial.name]
    assert row["test_jaccard"] == 0.123456789


def test_a_same_size_rewrite_is_seen_by_its_mtime(experiment: Path, reads: list[str]) -> None:
    trial = trial_dirs(experiment)[2]
    path = trial / "result.json"
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    final = json.loads(text.splitlines()[-1])
    old = json.dumps(final["best_epoch"])
    new = "1" if old != "1" else "2"
    path.write_text(text.replace(f'"best_epoch": {old}', f'"best_epoch": {new}'), "utf-8")
    assert path.stat().st_size == before.st_size
    # Within one tick of the file system's clock, the rewrite could keep the old mtime.
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    write_tables(experiment)
    assert reads == [trial.name]
    warm = assert_same_as_cold(experiment)
    assert warm["trials"].set_index("trial_dir").loc[trial.name, "best_epoch"] == int(new)


def test_a_marker_written_later_changes_the_status(experiment: Path, reads: list[str]) -> None:
    trial = trial_dirs(experiment)[1]
    results = trial / "result.json"
    lines = results.read_text(encoding="utf-8").splitlines()
    results.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")  # no final line
    write_tables(experiment)
    status = build_tables(experiment)["trials"].set_index("trial_dir")["status"]
    assert status[trial.name] == "incomplete"
    reads.clear()
    (trial / tables.FAILURE).write_text(json.dumps({"error": "loss is nan at epoch 1"}))
    write_tables(experiment)
    assert reads == [trial.name]
    warm = assert_same_as_cold(experiment)
    row = warm["trials"].set_index("trial_dir").loc[trial.name]
    assert (row["status"], row["error"]) == ("failed", "loss is nan at epoch 1")
    assert row["failure"] == "diverged"  # a record from before failures had kinds


def test_a_deleted_trial_leaves_the_tables_and_the_cache(
    experiment: Path, reads: list[str]
) -> None:
    gone = trial_dirs(experiment)[0]
    shutil.rmtree(gone)
    write_tables(experiment)
    assert reads == []
    warm = assert_same_as_cold(experiment)
    assert gone.name not in set(warm["trials"]["trial_dir"])
    assert gone.name not in set(warm["epochs"]["trial_dir"])
    cached = pq.read_table(experiment / CACHE).column("trial_dir").to_pylist()
    assert cached == [p.name for p in trial_dirs(experiment)]


def test_other_resources_in_sweep_json_invalidate_every_row(
    experiment: Path, reads: list[str]
) -> None:
    """A trial's cost columns come from the sweep's resources when params.json has none."""
    record = json.loads((experiment / "sweep.json").read_text(encoding="utf-8"))
    record["spec"]["resources"]["cpus"] = 2
    (experiment / "sweep.json").write_text(json.dumps(record), encoding="utf-8")
    warm = build_tables(experiment)
    assert len(reads) == 8
    assert set(warm["trials"]["cpus"]) == {2.0}


def garbage(path: Path, marker: Path) -> None:
    path.write_bytes(b"not parquet at all")


def a_pickle(path: Path, marker: Path) -> None:
    path.write_bytes(pickle.dumps(Payload(marker)))


def foreign_parquet(path: Path, marker: Path) -> None:
    pq.write_table(pa.table({"trial_dir": ["x"], "something": [1]}), path)


def pickled_rows(path: Path, marker: Path) -> None:
    """Our layout and version, but binary columns of pickles instead of JSON text."""
    cache = pq.read_table(path)
    columns = {
        name: pa.array([pickle.dumps(Payload(marker))] * len(cache), pa.binary())
        for name in cache.schema.names
    }
    pq.write_table(pa.table(columns).replace_schema_metadata(cache.schema.metadata), path)


def poisoned_type(path: Path, marker: Path) -> None:
    """Our cache, its first column marked with the pickled extension type older pyarrow
    versions unpickled on read (CVE-2023-47248)."""
    cache = pq.read_table(path)
    metadata = {b"ARROW:extension:name": b"arrow.py_extension_type",
                b"ARROW:extension:metadata": pickle.dumps(Payload(marker))}  # fmt: skip
    fields = [cache.schema.field(0).with_metadata(metadata), *list(cache.schema)[1:]]
    schema = pa.schema(fields, metadata=cache.schema.metadata)
    pq.write_table(pa.Table.from_arrays(cache.columns, schema=schema), path)


def truncated(path: Path, marker: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    "spoil", [garbage, a_pickle, foreign_parquet, pickled_rows, poisoned_type, truncated]
)
def test_a_bad_cache_is_ignored_and_rebuilt(
    experiment: Path, reads: list[str], tmp_path: Path, spoil: Callable[[Path, Path], None]
) -> None:
    marker = tmp_path / "PWNED"
    spoil(experiment / CACHE, marker)
    write_tables(experiment)
    assert len(reads) == 8  # nothing was taken from it
    assert not marker.exists()
    reads.clear()
    assert_same_as_cold(experiment)
    assert reads == [p.name for p in trial_dirs(experiment)]  # the cold build alone read them


def test_an_entry_that_is_not_json_is_read_again(experiment: Path, reads: list[str]) -> None:
    cache = pq.read_table(experiment / CACHE)
    for column, spoil in (("row_values", 4), ("epoch_values", 5), ("row_keys", 6)):
        texts = cache.column(column).to_pylist()
        texts[spoil] = texts[spoil][:-10]
        index = cache.schema.get_field_index(column)
        cache = cache.set_column(index, cache.schema.field(column), pa.array(texts, pa.string()))
    pq.write_table(cache, experiment / CACHE)
    build_tables(experiment)
    assert reads == [p.name for p in trial_dirs(experiment)[4:7]]


def test_a_cache_that_cannot_be_written_leaves_the_previous_tables(
    experiment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {p.name: p.read_bytes() for p in experiment.glob("*.parquet")}
    before[CACHE] = (experiment / CACHE).read_bytes()
    add_seed(trial_dirs(experiment)[0], 9, "bbbb0001")

    def full(self: TrialRows, path: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(TrialRows, "write_cache", full)
    with pytest.raises(TablesNotWritten, match="No space left on device"):
        write_tables(experiment)
    after = {p.name: p.read_bytes() for p in experiment.glob("*.parquet")}
    after[CACHE] = (experiment / CACHE).read_bytes()
    assert after == before
    assert not list(experiment.glob(".*.tmp"))
