"""The losses against values computed by hand from DESIGN.md §3."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from emotrain.losses import Objective, intra_loss, label_correlation, pull_weights
from emotrain.losses_config import LossConfig

LOGITS = torch.tensor([[1.0, -1.0, 0.5], [0.2, 0.3, -0.4]])
GOLD = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])


def _bce_by_hand() -> float:
    total = 0.0
    for z_row, y_row in zip(LOGITS.tolist(), GOLD.tolist(), strict=True):
        for z, y in zip(z_row, y_row, strict=True):
            s = 1 / (1 + math.exp(-z))
            total -= y * math.log(s) + (1 - y) * math.log(1 - s)
    return total / 6


def test_intra_with_unit_weights_on_a_2x3_example() -> None:
    # Example 1: present {0, 2} -> one pair, exp(-(1 + 0.5)); absent {1} has no pair.
    # Example 2: absent {0, 1} -> one pair, exp(0.2 + 0.3); present {2} has no pair.
    expected = (math.exp(-1.5) + math.exp(0.5)) / 2
    assert intra_loss(LOGITS, GOLD, torch.ones(3, 3)).item() == pytest.approx(expected, rel=1e-6)


def test_intra_with_rho_weights_on_a_2x3_example() -> None:
    pull = torch.tensor([[1.0, 0.9, 0.25], [0.9, 1.0, 0.6], [0.25, 0.6, 1.0]])
    expected = (0.25 * math.exp(-1.5) + 0.9 * math.exp(0.5)) / 2
    assert intra_loss(LOGITS, GOLD, pull).item() == pytest.approx(expected, rel=1e-6)


def test_intra_averages_both_groups_when_both_have_pairs() -> None:
    logits = torch.tensor([[0.1, 0.2, -0.3, 0.4]])
    gold = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    present = math.exp(-(0.1 + 0.2))
    absent = math.exp(-0.3 + 0.4)
    got = intra_loss(logits, gold, torch.ones(4, 4)).item()
    assert got == pytest.approx((present + absent) / 2, rel=1e-6)


def test_total_loss_mixes_bce_and_intra_with_alpha() -> None:
    objective = Objective.build(LossConfig(local="intra", alpha=0.2), GOLD.numpy())
    intra = (math.exp(-1.5) + math.exp(0.5)) / 2
    expected = 0.8 * _bce_by_hand() + 0.2 * intra
    assert objective(LOGITS, GOLD).item() == pytest.approx(expected, rel=1e-6)


def test_bce_alone_has_weight_one() -> None:
    objective = Objective.build(LossConfig(), GOLD.numpy())
    assert objective(LOGITS, GOLD).item() == pytest.approx(_bce_by_hand(), rel=1e-6)


def test_alpha_without_a_local_loss_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="alpha > 0 needs a local loss"):
        LossConfig(local="none", alpha=0.2)


def test_label_correlation_guards_constant_columns() -> None:
    labels = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 0]], dtype=np.float32)
    rho = label_correlation(labels)
    assert rho[0, 1] == pytest.approx(np.corrcoef(labels[:, 0], labels[:, 1])[0, 1])
    assert rho[2].tolist() == [0.0, 0.0, 0.0]  # never positive: no NaN leaks into the loss
    weights = pull_weights(rho)
    assert weights.min() >= 0 and weights.max() <= 1
    assert weights[0, 2].item() == pytest.approx(0.5)
