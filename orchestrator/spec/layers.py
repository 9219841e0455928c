"""The raw mapping of a sweep: its ``extends:`` chain deep-merged, then command-line overrides,
then ``${EMOSWEEP_DATA}`` in its values replaced by the data folder (``--data``, else the
environment variable), so that a sweep file names its data the way users keep it.

Every value remembers the file or flag that set it, so that a validation error names the place
the user has to edit (``base.yaml``, ``--set base.optim.lr``) rather than the last file read.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emotrain.config_errors import ConfigError, read_yaml_mapping

FieldPath = tuple[str, ...]
_PARAM_FIELDS = {"type", "low", "high", "log", "choices"}  # the fields of a search.space entry
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
DATA_VARIABLE = "EMOSWEEP_DATA"
_DATA = "${" + DATA_VARIABLE + "}"


@dataclass(frozen=True)
class Override:
    """A command-line change: ``flag`` is how the user wrote it, for messages."""

    flag: str
    path: FieldPath
    value: Any


@dataclass
class Layered:
    """The merged mapping and, for every path set by a layer, the file or flag that set it."""

    top: str
    raw: dict[str, Any] = field(default_factory=dict)
    origins: dict[FieldPath, str] = field(default_factory=dict)

    def blame(self, where: FieldPath) -> str:
        """The latest layer that set ``where``, a section holding it, or a value inside it."""
        related = [
            origin
            for path, origin in self.origins.items()  # in the order the layers set them
            if path[: len(where)] == where or where[: len(path)] == path
        ]
        return related[-1] if related and where else self.top

    def problem(self, where: FieldPath, message: str) -> ConfigError:
        """A one-line error naming the origin and the field (the flag alone when they agree)."""
        origin = self.blame(where)
        dotted = ".".join(part or "''" for part in where) or "(top level)"
        if origin.startswith("--") and origin.removeprefix("--set ").lstrip("-") == dotted:
            return ConfigError(f"{origin}: {message}")
        return ConfigError(f"{origin}: {dotted}: {message}")


def read_layers(path: Path, overrides: Sequence[Override] = (), data: str | None = None) -> Layered:
    """Read ``path`` and the files it extends (parents first), then apply ``overrides``, then
    put the data folder (``data``, else $EMOSWEEP_DATA) for ``${EMOSWEEP_DATA}``."""
    layered = Layered(top=str(path))
    for source, raw in _chain(path, ()):
        _merge(layered, layered.raw, raw, str(source), ())
    for override in overrides:
        _apply(layered, override)
    _expand_data(layered, layered.raw, (), data or os.environ.get(DATA_VARIABLE) or None)
    return layered


def _expand_data(layered: Layered, node: Any, at: FieldPath, folder: str | None) -> None:
    """Replace ``${EMOSWEEP_DATA}`` in every string below ``node``; ``ConfigError`` naming the
    field when it is used and no data folder is known."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in list(items):
        where = (*at, str(key))
        if isinstance(value, dict | list):
            _expand_data(layered, value, where, folder)
        elif isinstance(value, str) and _DATA in value:
            if folder is None:
                raise layered.problem(
                    where,
                    f"${DATA_VARIABLE} is not set; set it to the folder holding semeval2018-ec/ "
                    "and goemotions/, or pass --data DIR",
                )
            node[key] = value.replace(_DATA, folder.rstrip("/") or "/")


def set_override(text: str) -> Override:
    """``--set PATH=VALUE``; the value is YAML, and the path follows the sweep file's layout."""
    dotted, equals, value = text.partition("=")
    dotted = dotted.strip()
    if not equals or not dotted:
        raise ConfigError(f"--set {text}: expected PATH=VALUE, like base.optim.lr=3e-5")
    flag = f"--set {dotted}"
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as err:
        raise ConfigError(f"{flag}: not valid YAML ({' '.join(str(err).split())})") from None
    plain = isinstance(parsed, str) and parsed == value.strip()
    return Override(flag, sweep_path(dotted), _number(parsed) if plain else parsed)


def seeds_override(text: str) -> Override:
    """``--seeds 0,1,2``."""
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"--seeds: {text!r} is not integers separated by commas") from None
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds: {text!r} repeats a seed")
    return Override("--seeds", ("seeds",), seeds)


def sweep_path(dotted: str) -> FieldPath:
    """Split a dotted path where the sweep file nests: grid axes and searched options are
    themselves dotted training paths (``grid.loss.weights`` is ``grid`` > ``loss.weights``)."""
    parts = dotted.split(".")
    if parts[0] == "grid" and len(parts) > 1:
        return ("grid", ".".join(parts[1:]))
    if parts[:2] == ["search", "space"] and len(parts) > 2:
        rest = parts[2:]
        if len(rest) > 1 and rest[-1] in _PARAM_FIELDS:
            return ("search", "space", ".".join(rest[:-1]), rest[-1])
        return ("search", "space", ".".join(rest))
    return tuple(parts)


def _chain(path: Path, seen: tuple[Path, ...]) -> list[tuple[Path, dict[str, Any]]]:
    """``path`` after the files it extends; a cycle is an error naming every file in it."""
    resolved = path.resolve()
    if resolved in seen:
        cycle = " -> ".join(str(p) for p in (*seen[seen.index(resolved) :], resolved))
        raise ConfigError(f"{path}: extends: cycle {cycle}")
    raw = read_yaml_mapping(path)
    parent = raw.pop("extends", None)
    if parent is None:
        return [(path, raw)]
    if not isinstance(parent, str) or not parent.strip():
        raise ConfigError(f"{path}: extends: expected the path of another sweep file")
    parent_path = path.parent / parent
    if not parent_path.is_file():
        raise ConfigError(f"{path}: extends: {parent_path}: file not found")
    return [*_chain(parent_path, (*seen, resolved)), (path, raw)]


def _merge(
    layered: Layered, target: dict[str, Any], layer: dict[str, Any], origin: str, at: FieldPath
) -> None:
    """Deep merge: mappings merge key by key; lists and scalars replace what was there."""
    for key, value in layer.items():
        path = (*at, str(key))
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            layered.origins.setdefault(path, origin)
            _merge(layered, target[key], value, origin, path)
        else:
            target[key] = copy.deepcopy(value)
            _record(layered, path, value, origin)


def _apply(layered: Layered, override: Override) -> None:
    node = layered.raw
    *parents, leaf = override.path
    for depth, part in enumerate(parents):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            where = ".".join(override.path[: depth + 1])
            raise ConfigError(f"{override.flag}: {where} is not a section")
        node = child
    node[leaf] = copy.deepcopy(override.value)
    _record(layered, override.path, override.value, override.flag)


def _record(layered: Layered, path: FieldPath, value: Any, origin: str) -> None:
    for stale in [p for p in layered.origins if p[: len(path)] == path]:
        del layered.origins[stale]  # the whole subtree was replaced
    layered.origins[path] = origin
    if isinstance(value, dict):
        for key, item in value.items():
            _record(layered, (*path, str(key)), item, origin)


def _number(value: str) -> str | float:
    """PyYAML reads an unquoted ``3e-5`` (no dot) as a string; on the command line it is a
    number."""
    return float(value) if _NUMBER.fullmatch(value) else value


def storage_override(text: str) -> Override:
    """``--storage PATH``."""
    return Override("--storage", ("storage",), text)
