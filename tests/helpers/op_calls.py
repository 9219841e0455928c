"""What the code under test asks of one aten operation, seen by torch's dispatcher: a
``TorchDispatchMode`` that notes the calls of one op (for tests that count host reads or
spot a gradient torch builds)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch.utils._python_dispatch import TorchDispatchMode


class OpCalls(TorchDispatchMode):
    """While active, ``noted`` holds ``note(args)`` for every call of ``op`` that ``note`` does
    not answer with None."""

    def __init__(self, op: Any, note: Callable[[tuple], Any] = lambda _: True) -> None:
        super().__init__()
        self.op, self.note = op, note
        self.noted: list[Any] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        if func is self.op and (noted := self.note(args)) is not None:
            self.noted.append(noted)
        return func(*args, **(kwargs or {}))
