from __future__ import annotations

import numpy as np
import pytest

from emotrain.metrics import metric_names, multilabel_metrics

GOLD = np.array([[1, 0, 1], [0, 0, 0], [0, 1, 0]])
PRED = np.array([[1, 1, 1], [0, 0, 0], [0, 0, 0]])


def test_values_by_hand_with_zero_division_0() -> None:
    scores = multilabel_metrics(GOLD, PRED, ["a", "b", "c"], zero_division=0)
    # Jaccard per example: 2/3, 0 (empty vs empty, zero_division), 0.
    assert scores["jaccard"] == pytest.approx((2 / 3) / 3)
    # micro: tp=2, fp=1, fn=1 -> 2/3.
    assert scores["micro_f1"] == pytest.approx(2 / 3)
    assert [scores["a_f1"], scores["b_f1"], scores["c_f1"]] == pytest.approx([1.0, 0.0, 1.0])
    assert scores["macro_f1"] == pytest.approx(2 / 3)


def test_zero_division_1_scores_an_empty_row_as_a_match() -> None:
    scores = multilabel_metrics(GOLD, PRED, ["a", "b", "c"], zero_division=1)
    assert scores["jaccard"] == pytest.approx((2 / 3 + 1) / 3)


def test_metric_names() -> None:
    assert metric_names(["joy"]) == ["jaccard", "micro_f1", "macro_f1", "joy_f1"]
