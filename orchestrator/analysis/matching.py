"""Which configurations a description names: a grid cell by its name, or training options
(``{dotted option: value}``) compared with the tables' ``cfg.<option>`` columns.

Sweep files name a baseline this way and reference files name the configurations their
numbers correspond to (see significance.py and reference.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

Selector = str | Mapping[str, Any]


def matching(configs: pd.DataFrame, selector: Selector) -> pd.Series:
    """A boolean mask of the rows of ``configs`` that ``selector`` names. An option the table
    has no column for matches nothing: a misspelt option must not select every row."""
    if isinstance(selector, str):
        return configs["cell"].astype(str) == selector
    mask = pd.Series(True, index=configs.index)
    for option, wanted in selector.items():
        column = f"cfg.{option}"
        if column not in configs:
            return pd.Series(False, index=configs.index)
        mask &= configs[column].map(lambda value, w=wanted: same_value(value, w)).astype(bool)
    return mask


def same_value(stored: Any, wanted: Any) -> bool:
    """A table value against one written in YAML: numbers within rounding, lists item by item
    (Parquet returns them as arrays), None and NaN as missing."""
    if _missing(stored) or _missing(wanted):
        return _missing(stored) and _missing(wanted)
    if isinstance(stored, list | tuple | np.ndarray) or isinstance(wanted, list | tuple):
        if not isinstance(wanted, list | tuple) or isinstance(stored, str):
            return False
        items = list(stored)
        return len(items) == len(wanted) and all(map(same_value, items, wanted))
    if _boolean(stored) or _boolean(wanted):  # `true` must not equal `1` in a sweep file
        return _boolean(stored) and _boolean(wanted) and bool(stored) == bool(wanted)
    if _number(stored) and _number(wanted):
        return math.isclose(float(stored), float(wanted), rel_tol=1e-9, abs_tol=1e-12)
    return str(stored) == str(wanted)


def describe_selector(selector: Selector) -> str:
    """A selector as the report prints it."""
    if isinstance(selector, str):
        return f"cell {selector}"
    return ", ".join(f"{option}={value}" for option, value in selector.items())


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _boolean(value: Any) -> bool:
    return isinstance(value, bool | np.bool_)


def _number(value: Any) -> bool:
    return isinstance(value, int | float | np.number)
