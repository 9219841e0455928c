"""The losses against values computed by hand from docs/design.md#losses, their gradients, the
direction one SGD step moves the outputs, and the loss configuration."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from emotrain.losses import (
    LossConfig,
    Objective,
    cossim_global,
    inter_on_predictions,
    inter_on_representations,
    intra_on_predictions,
    intra_on_representations,
    label_correlation,
    plutchik_correlation,
    pull_weights,
    sq_diff_global,
)

LOGITS = torch.tensor([[1.0, -1.0, 0.5], [0.2, 0.3, -0.4]])
GOLD = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
EMOTIONS = ("joy", "sadness", "love")
ONES = torch.ones(3, 3)
# A symmetric pull matrix rho~ (the diagonal is never read: pairs are i < j or p != a).
PULL = torch.tensor([[1.0, 0.9, 0.25], [0.9, 1.0, 0.6], [0.25, 0.6, 1.0]])
PUSH = 1.0 - PULL
# One example, D = 2: cos(h0, h1) = 0, cos(h0, h2) = cos(h1, h2) = 1/sqrt(2).
STATES = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
STATES_GOLD = torch.tensor([[1.0, 0.0, 1.0]])  # P = {0, 2}, A = {1}
R2 = 1 / math.sqrt(2)


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def _bce_by_hand() -> float:
    total = 0.0
    for z_row, y_row in zip(LOGITS.tolist(), GOLD.tolist(), strict=True):
        for z, y in zip(z_row, y_row, strict=True):
            total -= y * math.log(sigmoid(z)) + (1 - y) * math.log(1 - sigmoid(z))
    return total / 6


def _intra_by_hand() -> float:
    # Example 1: present {0, 2} -> one pair, exp(-(1 + 0.5)); absent {1} has no pair.
    # Example 2: absent {0, 1} -> one pair, exp(0.2 + 0.3); present {2} has no pair.
    return (math.exp(-1.5) + math.exp(0.5)) / 2


def _inter_by_hand(push: Callable[[int, int], float]) -> float:
    s = [[sigmoid(z) for z in row] for row in LOGITS.tolist()]
    # Example 1: pairs (p, a) = (0, 1), (2, 1); example 2: (2, 0), (2, 1).
    first = push(0, 1) * math.exp(s[0][1] - s[0][0]) + push(2, 1) * math.exp(s[0][1] - s[0][2])
    second = push(2, 0) * math.exp(s[1][0] - s[1][2]) + push(2, 1) * math.exp(s[1][1] - s[1][2])
    return (first / 2 + second / 2) / 2


def _close(value: torch.Tensor, expected: float) -> None:
    assert value.item() == pytest.approx(expected, rel=1e-5, abs=1e-7)


# --- local on predictions ---------------------------------------------------------------------


def test_intra_with_unit_weights_on_a_2x3_example() -> None:
    _close(intra_on_predictions(LOGITS, GOLD, ONES, reduction="pair_mean"), _intra_by_hand())


def test_intra_with_rho_weights_on_a_2x3_example() -> None:
    _close(
        intra_on_predictions(LOGITS, GOLD, PULL, reduction="pair_mean"),
        (0.25 * math.exp(-1.5) + 0.9 * math.exp(0.5)) / 2,
    )


def test_intra_averages_both_groups_when_both_have_pairs() -> None:
    logits = torch.tensor([[0.1, 0.2, -0.3, 0.4]])
    gold = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    present = math.exp(-(0.1 + 0.2))
    absent = math.exp(-0.3 + 0.4)
    _close(
        intra_on_predictions(logits, gold, torch.ones(4, 4), reduction="pair_mean"),
        (present + absent) / 2,
    )


def test_intra_means_over_the_pairs_of_a_group() -> None:
    # 1x4, all absent: pairs (0,1) (0,2) (0,3) (1,2) (1,3) (2,3), sums 0.3 -0.2 0.5 -0.1 0.6 0.1.
    logits = torch.tensor([[0.1, 0.2, -0.3, 0.4]])
    sums = [0.3, -0.2, 0.5, -0.1, 0.6, 0.1]
    expected = sum(math.exp(v) for v in sums) / 6
    _close(
        intra_on_predictions(logits, torch.zeros(1, 4), torch.ones(4, 4), reduction="pair_mean"),
        expected,
    )


def test_inter_with_unit_weights_on_a_2x3_example() -> None:
    _close(
        inter_on_predictions(LOGITS, GOLD, ONES, reduction="pair_mean"),
        _inter_by_hand(lambda p, a: 1.0),
    )


def test_inter_with_rho_weights_on_a_2x3_example() -> None:
    # push(0, 1) = 1 - 0.9, push(2, 1) = 1 - 0.6, push(2, 0) = 1 - 0.25
    expected = _inter_by_hand(lambda p, a: 1.0 - PULL[p, a].item())
    _close(inter_on_predictions(LOGITS, GOLD, PUSH, reduction="pair_mean"), expected)


def test_inter_is_zero_when_a_group_is_empty() -> None:
    logits = torch.tensor([[0.3, -0.2, 0.1], [0.3, -0.2, 0.1]])
    gold = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    _close(inter_on_predictions(logits, gold, ONES, reduction="pair_mean"), 0.0)


def test_objective_complete_on_predictions_is_the_mean_of_inter_and_intra() -> None:
    objective = Objective.build(
        LossConfig(local="complete", alpha=0.2, reduction="pair_mean"), GOLD.numpy(), EMOTIONS
    )
    local = (_inter_by_hand(lambda p, a: 1.0) + _intra_by_hand()) / 2
    _close(objective(LOGITS, GOLD), 0.8 * _bce_by_hand() + 0.2 * local)


def test_objective_inter_with_rho_from_data() -> None:
    # Train labels: column 0 = [1, 1, 0, 0], column 1 = [1, 0, 0, 0], column 2 never positive.
    # Pearson(0, 1): cov sum = .5*.75 + .5*-.25 + -.5*-.25 + -.5*-.25 = .5, var sums 1 and .75,
    # so rho = .5 / sqrt(.75) = 1/sqrt(3); the constant column correlates 0 -> push 1 - 1/2.
    train = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]], dtype=np.float32)
    config = LossConfig(local="inter", weights="rho", alpha=0.5, reduction="pair_mean")
    objective = Objective.build(config, train, ("anger", "fear", "joy"))
    rho01 = 1 / math.sqrt(3)
    push = {(0, 1): 1 - (rho01 + 1) / 2, (2, 1): 0.5, (2, 0): 0.5}
    expected = 0.5 * _bce_by_hand() + 0.5 * _inter_by_hand(lambda p, a: push[p, a])
    _close(objective(LOGITS, GOLD), expected)


def test_total_loss_mixes_bce_and_intra_with_alpha() -> None:
    objective = Objective.build(
        LossConfig(local="intra", alpha=0.2, reduction="pair_mean"), GOLD.numpy(), EMOTIONS
    )
    _close(objective(LOGITS, GOLD), 0.8 * _bce_by_hand() + 0.2 * _intra_by_hand())


def test_bce_alone_has_weight_one() -> None:
    objective = Objective.build(LossConfig(), GOLD.numpy(), EMOTIONS)
    _close(objective(LOGITS, GOLD), _bce_by_hand())


# --- local on representations -----------------------------------------------------------------


def test_inter_on_representations_by_hand() -> None:
    # (p, a) pairs (0, 1) and (2, 1): cos 0 and 1/sqrt(2).
    _close(inter_on_representations(STATES, STATES_GOLD, ONES, reduction="pair_mean"), (0 + R2) / 2)
    # rho weights: push(0, 1) = 0.1, push(2, 1) = 0.4.
    _close(
        inter_on_representations(STATES, STATES_GOLD, PUSH, reduction="pair_mean"),
        (0.1 * 0 + 0.4 * R2) / 2,
    )


def test_intra_on_representations_by_hand() -> None:
    # Present pair (0, 2): -cos = -1/sqrt(2); the absent group {1} has no pair.
    _close(intra_on_representations(STATES, STATES_GOLD, ONES, reduction="pair_mean"), -R2)
    _close(intra_on_representations(STATES, STATES_GOLD, PULL, reduction="pair_mean"), -0.25 * R2)


def test_intra_on_representations_averages_the_groups() -> None:
    # 1x4, P = {0, 1}, A = {2, 3}: cos(h0, h1) = 1/sqrt(2), cos(h2, h3) = -1.
    states = torch.tensor([[[1.0, 0.0], [1.0, 1.0], [0.0, 2.0], [0.0, -1.0]]])
    gold = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    _close(
        intra_on_representations(states, gold, torch.ones(4, 4), reduction="pair_mean"),
        -(R2 + -1.0) / 2,
    )


def test_objective_complete_on_representations_does_not_squash_h() -> None:
    config = LossConfig(
        local="complete", local_on="representations", alpha=1.0, reduction="pair_mean"
    )
    objective = Objective.build(config, STATES_GOLD.numpy(), EMOTIONS)
    logits = torch.zeros(1, 3)
    # alpha = 1: BCE drops out; complete = (inter + intra) / 2 on the raw h (no sigmoid).
    _close(objective(logits, STATES_GOLD, STATES), ((0 + R2) / 2 + -R2) / 2)


def test_representation_losses_are_batch_means() -> None:
    states = torch.cat([STATES, STATES.flip(1)])
    gold = torch.cat([STATES_GOLD, STATES_GOLD])
    # Flipped: h = [(1,1), (0,1), (1,0)], P = {0, 2}: present pair cos = 1/sqrt(2) again,
    # cross pairs (0, 1) and (2, 1): cos 1/sqrt(2) and 0.
    _close(inter_on_representations(states, gold, ONES, reduction="pair_mean"), (0 + R2) / 2)
    _close(intra_on_representations(states, gold, ONES, reduction="pair_mean"), -R2)


# --- Plutchik and global losses ---------------------------------------------------------------


def test_plutchik_values() -> None:
    rho = plutchik_correlation(["joy", "sadness", "love", "optimism", "pessimism", "fear"])
    assert rho[0, 1] == pytest.approx(-1.0)  # joy slot 4, sadness slot 12: cos(8 pi / 8)
    assert rho[3, 4] == pytest.approx(-1.0)  # pessimism = optimism + pi
    assert rho[0, 2] == pytest.approx(math.cos(math.pi / 8))  # love is the next slot
    assert rho[5, 0] == pytest.approx(math.cos(4 * math.pi / 8))  # fear slot 0: orthogonal
    assert np.allclose(np.diag(rho), 1.0) and np.allclose(rho, rho.T)


def test_plutchik_rejects_an_emotion_not_on_the_wheel() -> None:
    with pytest.raises(ValueError, match=r"'admiration' is not on Plutchik's wheel.*awe"):
        plutchik_correlation(["joy", "admiration"])


def _plutchik_rho() -> torch.Tensor:
    # joy, sadness, love: angles 4pi/8, 12pi/8, 3pi/8.
    c = math.cos(math.pi / 8)
    return torch.tensor([[1.0, -1.0, c], [-1.0, 1.0, -c], [c, -c, 1.0]])


def test_plutchik_matrix_for_joy_sadness_love() -> None:
    rho = torch.as_tensor(plutchik_correlation(EMOTIONS), dtype=torch.float32)
    assert torch.allclose(rho, _plutchik_rho(), atol=1e-6)


def test_global_cossim_by_hand() -> None:
    c = math.cos(math.pi / 8)
    # Pairs (0,1), (0,2), (1,2): cos 0, 1/sqrt(2), 1/sqrt(2) against rho -1, c, -c.
    expected = ((0 + 1) ** 2 + (R2 - c) ** 2 + (R2 + c) ** 2) / 3
    _close(cossim_global(STATES, _plutchik_rho(), reduction="pair_mean"), expected)


def test_global_sq_diff_by_hand() -> None:
    c = math.cos(math.pi / 8)
    # Distances sqrt(2), 1, 1; weights (rho + 1) / 2 = 0, (1 + c) / 2, (1 - c) / 2.
    expected = (0 * math.sqrt(2) + (1 + c) / 2 * 1 + (1 - c) / 2 * 1) / 3
    pull = pull_weights(_plutchik_rho())
    _close(sq_diff_global(STATES, pull, reduction="pair_mean"), expected)


def test_objective_global_cossim_with_plutchik_rho() -> None:
    config = LossConfig(global_loss="cossim", rho="plutchik", beta=10.0, reduction="pair_mean")
    objective = Objective.build(config, STATES_GOLD.numpy(), EMOTIONS)
    logits = torch.tensor([[0.5, -0.5, 1.0]])
    bce = -(math.log(sigmoid(0.5)) + math.log(1 - sigmoid(-0.5)) + math.log(sigmoid(1.0))) / 3
    c = math.cos(math.pi / 8)
    cossim = (1 + (R2 - c) ** 2 + (R2 + c) ** 2) / 3
    _close(objective(logits, STATES_GOLD, STATES), bce + 10.0 * cossim)


def test_objective_global_sq_diff_with_rho_from_data() -> None:
    # Train columns 0 and 1 identical (rho 1), column 2 their complement (rho -1).
    train = np.array([[1, 1, 0], [0, 0, 1]], dtype=np.float32)
    config = LossConfig(global_loss="sq_diff", beta=2.0, reduction="pair_mean")
    objective = Objective.build(config, train, ("anger", "fear", "joy"))
    logits = torch.zeros(1, 3)
    # BCE of zero logits = log 2; weights 1, 0, 0 -> only the (0, 1) distance sqrt(2) counts.
    _close(objective(logits, STATES_GOLD, STATES), math.log(2) + 2.0 * math.sqrt(2) / 3)


# --- correlation from data --------------------------------------------------------------------


def test_label_correlation_guards_constant_columns() -> None:
    labels = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 0]], dtype=np.float32)
    rho = label_correlation(labels)
    assert rho[0, 1] == pytest.approx(np.corrcoef(labels[:, 0], labels[:, 1])[0, 1])
    assert rho[2].tolist() == [0.0, 0.0, 0.0]  # never positive: no NaN leaks into the loss
    weights = pull_weights(rho)
    assert weights.min() >= 0 and weights.max() <= 1
    assert weights[0, 2].item() == pytest.approx(0.5)


def test_label_correlation_by_hand() -> None:
    labels = np.array([[1, 1], [1, 0], [0, 0], [0, 0]], dtype=np.float32)
    assert label_correlation(labels)[0, 1] == pytest.approx(1 / math.sqrt(3))  # see above


# --- gradients --------------------------------------------------------------------------------

VARIANTS = [
    LossConfig(local=local, local_on=on, weights=weights, alpha=0.5)
    for local in ("inter", "intra", "complete")
    for on in ("predictions", "representations")
    for weights in ("one", "rho")
] + [
    LossConfig(global_loss=kind, rho=rho, beta=1.0)
    for kind in ("cossim", "sq_diff")
    for rho in ("data", "plutchik")
]


@pytest.mark.parametrize(
    "config", VARIANTS, ids=lambda c: f"{c.local}-{c.local_on}-{c.weights}-{c.global_loss}-{c.rho}"
)
def test_gradients_are_finite(config: LossConfig) -> None:
    train = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]], dtype=np.float32)
    objective = Objective.build(config, train, EMOTIONS)
    gold = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]])
    logits = torch.tensor([[3.0, -2.0, 0.0]] * 4, requires_grad=True)
    states = torch.randn(4, 3, 5, generator=torch.Generator().manual_seed(0))
    states[1] = 0.0  # zero vectors: the cosine's eps guard
    states[2] = states[2, :1]  # identical vectors: the norm at h_i == h_j
    states.requires_grad_(True)
    loss = objective(logits, gold, states)
    loss.backward()
    assert torch.isfinite(loss)
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    if config.uses_representations:
        assert states.grad is not None and torch.isfinite(states.grad).all()


def test_overflowing_unused_pairs_do_not_poison_the_gradient() -> None:
    # exp(60 + 60) overflows float32, but both are present: that absent-group pair is masked.
    logits = torch.tensor([[60.0, 60.0, -1.0]], requires_grad=True)
    loss = intra_on_predictions(
        logits, torch.tensor([[1.0, 1.0, 0.0]]), ONES, reduction="pair_mean"
    )
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


# --- direction of one SGD step ----------------------------------------------------------------

DIRECTION_GOLD = torch.tensor([[1.0, 1.0, 0.0, 0.0]])


def _sgd_step(
    loss_of: Callable[[torch.Tensor], torch.Tensor], start: torch.Tensor, lr: float = 0.1
) -> torch.Tensor:
    value = start.clone().requires_grad_(True)
    loss_of(value).backward()
    assert value.grad is not None
    return (value - lr * value.grad).detach()


def test_intra_on_predictions_raises_present_and_lowers_absent_logits() -> None:
    start = torch.tensor([[0.1, -0.2, 0.3, -0.4]])
    after = _sgd_step(
        lambda z: intra_on_predictions(z, DIRECTION_GOLD, torch.ones(4, 4), reduction="pair_mean"),
        start,
    )
    assert (after[0, :2] > start[0, :2]).all()
    assert (after[0, 2:] < start[0, 2:]).all()


def test_inter_on_predictions_widens_the_present_absent_gap() -> None:
    start = torch.tensor([[0.1, -0.2, 0.3, -0.4]])

    def gaps(z: torch.Tensor) -> torch.Tensor:
        s = torch.sigmoid(z[0])
        return s[:2, None] - s[None, 2:]

    after = _sgd_step(
        lambda z: inter_on_predictions(z, DIRECTION_GOLD, torch.ones(4, 4), reduction="pair_mean"),
        start,
    )
    assert (gaps(after) > gaps(start)).all()


def _states() -> torch.Tensor:
    return torch.randn(1, 4, 3, generator=torch.Generator().manual_seed(1))


def _cos(states: torch.Tensor, i: int, j: int) -> float:
    return torch.cosine_similarity(states[0, i], states[0, j], dim=0).item()


def test_intra_on_representations_pulls_each_group_together() -> None:
    start = _states()
    step = _sgd_step(
        lambda h: intra_on_representations(
            h, DIRECTION_GOLD, torch.ones(4, 4), reduction="pair_mean"
        ),
        start,
    )
    assert _cos(step, 0, 1) > _cos(start, 0, 1)  # present
    assert _cos(step, 2, 3) > _cos(start, 2, 3)  # absent


def test_inter_on_representations_pushes_the_groups_apart() -> None:
    start = _states()
    step = _sgd_step(
        lambda h: inter_on_representations(
            h, DIRECTION_GOLD, torch.ones(4, 4), reduction="pair_mean"
        ),
        start,
    )
    assert sum(_cos(step, p, a) for p in (0, 1) for a in (2, 3)) < sum(
        _cos(start, p, a) for p in (0, 1) for a in (2, 3)
    )


@pytest.mark.parametrize("pair", [("joy", "sadness"), ("joy", "love"), ("joy", "fear")])
def test_global_cossim_moves_the_cosine_towards_rho(pair: tuple[str, str]) -> None:
    # Two emotions, so the one pair's cosine is the whole loss: rho = -1, cos(pi/8) and 0.
    rho = torch.as_tensor(plutchik_correlation(pair), dtype=torch.float32)
    target = rho[0, 1].item()
    start = torch.tensor([[[1.0, 0.2, 0.0], [0.3, 1.0, 0.5]]])
    step = _sgd_step(lambda h: cossim_global(h, rho, reduction="pair_mean"), start)
    assert abs(_cos(step, 0, 1) - target) < abs(_cos(start, 0, 1) - target)


def test_global_sq_diff_pulls_correlated_emotions_together() -> None:
    rho = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    start = torch.tensor([[[0.0, 0.0], [3.0, 4.0]]])
    step = _sgd_step(lambda h: sq_diff_global(h, rho, reduction="pair_mean"), start)
    assert torch.dist(step[0, 0], step[0, 1]) < torch.dist(start[0, 0], start[0, 1])


# --- configuration and interface --------------------------------------------------------------


def test_alpha_without_a_local_loss_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="alpha > 0 needs a local loss"):
        LossConfig(local="none", alpha=0.2)


def test_beta_without_a_global_loss_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="beta > 0 needs a global loss"):
        LossConfig(beta=1.0)


def test_unknown_field_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="gamma"):
        LossConfig.model_validate({"gamma": 1.0})


def test_out_of_range_coefficients_are_config_errors() -> None:
    with pytest.raises(ValidationError):
        LossConfig(local="intra", alpha=1.5)
    with pytest.raises(ValidationError):
        LossConfig(global_loss="cossim", beta=-1.0)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, False),
        ({"local": "intra"}, False),
        ({"local": "intra", "local_on": "representations"}, True),
        ({"local_on": "representations"}, False),  # no local loss reads it
        ({"global_loss": "sq_diff"}, True),
    ],
)
def test_uses_representations(fields: dict[str, str], expected: bool) -> None:
    assert LossConfig(**fields).uses_representations is expected


def test_a_representation_loss_without_states_is_an_error() -> None:
    config = LossConfig(local="intra", local_on="representations", alpha=0.2)
    objective = Objective.build(config, GOLD.numpy(), EMOTIONS)
    with pytest.raises(ValueError, match="needs the per-emotion representations"):
        objective(LOGITS, GOLD)


def test_plutchik_is_only_read_when_needed() -> None:
    emotions = ("admiration", "amusement", "anger")
    Objective.build(LossConfig(rho="plutchik"), GOLD.numpy(), emotions)  # never reads rho
    with pytest.raises(ValueError, match="admiration"):
        Objective.build(LossConfig(global_loss="cossim", rho="plutchik"), GOLD.numpy(), emotions)


def test_labels_must_match_the_emotions() -> None:
    with pytest.raises(ValueError, match="do not match"):
        Objective.build(LossConfig(), GOLD.numpy(), ("joy", "sadness"))
