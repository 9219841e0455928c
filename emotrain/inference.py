"""Scoring an encoded split with a trained model: probabilities per emotion, no gradients."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from emotrain.data.batches import EncodedSplit, batches


def probabilities(
    model: torch.nn.Module, split: EncodedSplit, model_inputs: dict[str, Any], batch_size: int
) -> np.ndarray:
    """sigmoid(logits) for every example, [n, N], in the split's order."""
    model.eval()
    scores = []
    with torch.inference_mode():
        for batch in batches(split, batch_size):
            batch.pop("labels")
            scores.append(torch.sigmoid(model(**batch, **model_inputs).logits.float()))
    return torch.cat(scores).numpy()
