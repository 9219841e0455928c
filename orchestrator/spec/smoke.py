"""``--smoke``: any sweep shrunk to a CI-sized run that still exercises the whole file.

Every grid cell, the protocol, the search space, the data paths and the transfer settings stay;
what shrinks is the cost of a trial: a tiny random encoder of the sweep's tokenizer family, the
first rows of every split, one epoch, one seed, one Optuna suggestion per cell, one CPU, no GPU,
and worker processes reused from trial to trial. ``model.max_length`` stays: a prompt may need
all of it (GoEmotions' 27 words, which a tiny tokenizer splits further). The experiment is
renamed ``<name>-smoke`` so that smoke trials never mix with real ones in the tables and
reports (their config keys differ as well: another encoder).

The changes are ordinary overrides (layers.py) applied after the file and the other flags, so a
problem is still reported against a named field: ``--smoke: base.data.train_limit: ...``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from emotrain.config_errors import ConfigError
from orchestrator.spec.layers import FieldPath, Override

FLAG = "--smoke"
TRAIN_ROWS = 200  # per language: a few batches, every emotion present
EVAL_ROWS = 100
# Hub names of byte-level BPE encoders: their tiny stand-in must tokenize the same way.
ROBERTA_STYLE = ("roberta", "xlm", "bertweet", "robertuito")


def smoke_overrides(raw: Mapping[str, Any]) -> list[Override]:
    """The overrides that shrink the merged sweep mapping ``raw`` (after --set, --seeds)."""
    _refuse_varied_encoder(raw)
    base = _section(raw, "base")
    data, model = _section(base, "data"), _section(base, "model")
    changes: dict[FieldPath, Any] = {
        ("base", "model", "encoder"): {"tiny": encoder_family(model.get("encoder"))},
        ("base", "data", "train_limit"): _at_most(data.get("train_limit"), TRAIN_ROWS),
        ("base", "data", "eval_limit"): _at_most(data.get("eval_limit"), EVAL_ROWS),
        ("base", "optim", "max_epochs"): 1,
        ("search", "budget"): 1,
        ("resources", "cpus"): 1,
        ("resources", "gpus"): 0,
        ("reuse_workers",): True,  # a fresh process per trial would cost more than its training
    }
    if isinstance(name := raw.get("name"), str):
        changes[("name",)] = f"{name}-smoke"
    if isinstance(seeds := raw.get("seeds"), list) and seeds:
        changes[("seeds",)] = seeds[:1]
    if _section(raw, "resources").get("workers") is not None:
        changes[("resources", "workers")] = None  # one training process per trial
    if _section(base, "eval").get("every_steps") is not None:
        changes[("base", "eval", "every_steps")] = None  # one short epoch: evaluate at its end
    target = _section(_section(base, "transfer"), "eval_data")
    if target:
        limit = _at_most(target.get("eval_limit"), EVAL_ROWS)
        changes[("base", "transfer", "eval_data", "eval_limit")] = limit
    return [Override(FLAG, path, value) for path, value in changes.items()]


def encoder_family(encoder: Any) -> Literal["bert", "roberta"]:
    """The tiny encoder standing in for ``encoder`` (a sweep's ``model.encoder`` mapping)."""
    if not isinstance(encoder, Mapping):
        return "bert"
    if encoder.get("tiny") in ("bert", "roberta"):
        return encoder["tiny"]
    name = str(encoder.get("name", "")).lower()
    return "roberta" if any(marker in name for marker in ROBERTA_STYLE) else "bert"


def _refuse_varied_encoder(raw: Mapping[str, Any]) -> None:
    """One tiny encoder replaces the sweep's: cells that differ by encoder would collapse."""
    grid = raw.get("grid")
    groups = grid if isinstance(grid, list) else [grid]
    keys = [("grid", key) for group in groups if isinstance(group, Mapping) for key in group]
    keys += [("search.space", key) for key in _section(_section(raw, "search"), "space")]
    for where, key in keys:
        if str(key).startswith("model.encoder"):
            raise ConfigError(
                f"{FLAG}: {where}.{key}: the smoke run replaces every encoder with one tiny "
                "encoder, so the encoder cannot vary across cells (smoke-test a copy without it)"
            )


def _section(node: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = node.get(key)
    return value if isinstance(value, Mapping) else {}


def _at_most(value: Any, limit: int) -> int:
    """The file's own limit when it is already smaller."""
    return value if isinstance(value, int) and 0 < value < limit else limit
