"""``emotrain.train``'s hooks (emotrain/hooks.py): called as documented, and a run with them
trains and scores bit for bit as one without."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from tiny_encoder import TINY_BERT

from emotrain import TrainHooks, train
from emotrain.training import TrainResult

TRAIN_LIMIT, EVAL_LIMIT = 64, 24


def _config(**optim: Any) -> dict[str, Any]:
    return {
        "data": {"root": None, "train_limit": TRAIN_LIMIT, "eval_limit": EVAL_LIMIT},
        "model": {"encoder": TINY_BERT, "max_length": 32},
        "optim": {"lr": 3e-3, "batch_size": 16, "max_epochs": 2, "patience": 2, **optim},
        "seed": 0, "threads": 1, "cache_dir": "off", "device": "cpu",
    }  # fmt: skip


def _same_numbers(a: TrainResult, b: TrainResult) -> None:
    assert a.history == b.history
    assert (a.best_dev, a.test, a.best_epoch) == (b.best_dev, b.test, b.best_epoch)


@pytest.fixture(scope="module")
def plain() -> TrainResult:
    return train(_config())


def test_hooks_are_called_in_order_and_change_no_number(plain: TrainResult) -> None:
    events: list[tuple[Any, ...]] = []

    @contextmanager
    def evaluation(split: str, examples: int) -> Iterator[None]:
        events.append(("enter", split, examples))
        yield
        events.append(("exit", split))

    hooks = TrainHooks(loop_started=lambda: events.append(("loop",)), evaluation=evaluation)
    result = train(_config(), report=lambda m: events.append(("report", m["epoch"])), hooks=hooks)
    _same_numbers(result, plain)
    per_epoch = [("enter", "dev", EVAL_LIMIT), ("exit", "dev"), ("report", 1)]
    per_epoch += [("enter", "dev", EVAL_LIMIT), ("exit", "dev"), ("report", 2)]
    after = [("enter", "best_dev", EVAL_LIMIT), ("exit", "best_dev")]
    after += [("enter", "test", EVAL_LIMIT), ("exit", "test")]
    assert events == [("loop",), *per_epoch, *after]


def test_train_seconds_start_when_the_loop_does() -> None:
    marks: list[float] = []
    result = train(
        _config(max_epochs=1, patience=1),
        report=lambda _: marks.append(time.perf_counter()),
        hooks=TrainHooks(loop_started=lambda: marks.append(time.perf_counter())),
    )
    # The loop's end comes after the last report: train_seconds covers at least the span.
    assert 0 < marks[1] - marks[0] <= result.train_seconds


def test_torchs_embedding_gradient_trains_the_same_numbers(plain: TrainResult) -> None:
    result = train(_config(), hooks=TrainHooks(torch_embedding_grad=True))
    _same_numbers(result, plain)


def test_second_stage_evaluates_test_only() -> None:
    seen: list[str] = []

    @contextmanager
    def evaluation(split: str, examples: int) -> Iterator[None]:
        seen.append(split)
        yield

    config = _config(max_epochs=1, patience=1) | {"stage": "test"}
    train(config, hooks=TrainHooks(evaluation=evaluation))
    assert seen == ["test"]
