"""Scoring an encoded split with a trained model: probabilities per emotion, no gradients."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from emotrain.data.batches import EncodedSplit, batches
from emotrain.device import Precision, forward_precision, model_device, to_device


def probabilities(
    model: torch.nn.Module,
    split: EncodedSplit,
    model_inputs: dict[str, Any],
    batch_size: int,
    precision: Precision = "fp32",
) -> np.ndarray:
    """sigmoid(logits) for every example, [n, N], in the split's order, computed on the
    model's device (``precision`` as in training); the result is a NumPy array.

    Batches are cut from the examples sorted by length, so each pads to little more than its
    own examples (fewer padded token positions than unsorted batches); the scores go
    back to the split's order, equal up to float rounding to those of unsorted batches."""
    model.eval()
    device = model_device(model)
    inputs = to_device(model_inputs, device)
    order = torch.argsort(split.lengths, stable=True)
    scores = []
    with torch.inference_mode(), forward_precision(device, precision):
        for batch in batches(split, batch_size, order):
            batch.pop("labels")
            logits = model(**to_device(batch, device), **inputs).logits
            scores.append(torch.sigmoid(logits.float()))
    back = torch.argsort(order).to(device)  # to the split's order
    return torch.cat(scores)[back].cpu().numpy()
