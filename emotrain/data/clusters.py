"""Emotion clusters (an annotation format, e.g. GoEmotions' 27 emotions grouped into Ekman's six).

A cluster file is a JSON object ``{cluster: [member emotion, ...]}``. By default a member may
belong to one cluster only, since an overlap is more often a typo than a choice; pass
``allow_overlap=True`` for groupings that really share members. Emotions that are in no cluster
simply do not count towards any (GoEmotions' neutral, for instance).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from emotrain.data.types import DataFileError, EmotionData, read_text
from emotrain.emotions import name_list_problem

Clusters = dict[str, list[str]]


def read_clusters(path: Path, allow_overlap: bool = False) -> Clusters:
    """The validated clusters of a JSON file, in file order."""
    path = Path(path)
    text = read_text(path)
    try:
        loaded = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as err:
        raise DataFileError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    except RecursionError:
        raise DataFileError(f"{path}: not valid clusters (nested too deeply)") from None
    except ValueError as err:
        raise DataFileError(f"{path}: {err}") from None
    try:
        return validate_clusters(loaded, allow_overlap)
    except ValueError as err:
        raise DataFileError(f"{path}: {err}") from None


def validate_clusters(clusters: Any, allow_overlap: bool = False) -> Clusters:
    """``clusters`` as a plain dict of lists, or a ``ValueError`` naming the first problem."""
    if not isinstance(clusters, Mapping) or not clusters:
        raise ValueError("expected a non-empty object {cluster: [member emotions]}")
    owner: dict[str, str] = {}
    result: Clusters = {}
    for name, members in clusters.items():
        _check_cluster(name, members)
        if problem := name_list_problem(members):  # the rule of every emotion-name list
            raise ValueError(f"cluster {name!r}: {problem}")
        for member in members:
            if member in owner and not allow_overlap:
                raise ValueError(
                    f"emotion {member!r} is in clusters {owner[member]!r} and {name!r}"
                )
            owner[member] = name
        result[name] = list(members)
    return result


def cluster_labels(data: EmotionData, clusters: Mapping[str, Sequence[str]]) -> EmotionData:
    """``data`` relabelled over the clusters: a cluster is present when any member is."""
    checked = validate_clusters(clusters, allow_overlap=True)
    unknown = sorted({m for members in checked.values() for m in members} - set(data.emotions))
    if unknown:
        raise ValueError(
            f"cluster members not among the data's emotions: {', '.join(unknown)} "
            f"(emotions: {', '.join(data.emotions)})"
        )
    column = {name: i for i, name in enumerate(data.emotions)}
    labels = np.zeros((len(data), len(checked)), dtype=np.float32)
    for i, members in enumerate(checked.values()):
        labels[:, i] = data.labels[:, [column[m] for m in members]].max(axis=1)
    return replace(data, labels=labels, emotions=tuple(checked))


def _check_cluster(name: object, members: object) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"cluster name {name!r} is not a non-empty string")
    if not isinstance(members, list | tuple) or not members:
        raise ValueError(f"cluster {name!r}: expected a non-empty list of emotions")
    for member in members:
        if not isinstance(member, str) or not member.strip():
            raise ValueError(f"cluster {name!r}: member {member!r} is not a non-empty string")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json keeps the last of two equal keys silently, which would drop a whole cluster.
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ValueError(f"cluster {repeated[0]!r} appears twice")
    return dict(pairs)
