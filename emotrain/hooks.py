"""``TrainHooks``: what a caller may attach to ``emotrain.train`` to watch a run from outside
(time it, profile it) without changing its numbers."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass


def _nothing() -> None:
    return None


def _no_context(split: str, examples: int) -> AbstractContextManager[object]:
    return nullcontext()


@dataclass(frozen=True)
class TrainHooks:
    """Every field is optional; a run with hooks trains and scores exactly as one without.

    - ``loop_started()``: called once, just before the first epoch's first batch order is drawn
      (after the data, model and optimizer are ready; after a resumed state is loaded).
      ``TrainResult.train_seconds`` is measured from the same moment.
    - ``evaluation(split, examples)``: a context manager entered around each evaluation pass,
      with the split's name and its number of examples: ``"dev"`` for the evaluations inside
      the training loop (each one before its ``report``), then ``"best_dev"`` (dev again, with
      the best weights restored; not in the protocol's second stage) and ``"test"`` after it.
    - ``torch_embedding_grad``: train with torch's own gradient for the word embeddings rather
      than the one kept in a buffer on the CPU (emotrain/speed/embedding_grad.py). The two are
      the same bit for bit; only their speed differs, which is what a benchmark compares.
    """

    loop_started: Callable[[], None] = _nothing
    evaluation: Callable[[str, int], AbstractContextManager[object]] = _no_context
    torch_embedding_grad: bool = False
