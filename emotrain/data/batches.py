"""Tokenized (prompt, text) pairs and dynamically padded batches of them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence
from transformers import PreTrainedTokenizerBase

from emotrain.models.prompt import EmotionPrompt, emotion_positions


@dataclass(frozen=True)
class EncodedSplit:
    """One split, tokenized once; every example shares the prompt and so the positions."""

    input_ids: list[torch.Tensor]
    token_type_ids: list[torch.Tensor] | None
    labels: torch.Tensor  # [n, N] float
    positions: list[list[int]]  # per emotion, token positions inside the prompt
    pad_id: int

    def __len__(self) -> int:
        return len(self.input_ids)

    @cached_property
    def lengths(self) -> torch.Tensor:
        """Each example's token count (what batches are grouped and sorted by)."""
        return torch.tensor([len(ids) for ids in self.input_ids])

    def subset(self, rows: list[int]) -> EncodedSplit:
        types = None if self.token_type_ids is None else [self.token_type_ids[i] for i in rows]
        return EncodedSplit(
            [self.input_ids[i] for i in rows], types, self.labels[rows], self.positions, self.pad_id
        )


def encode_pairs(
    tokenizer: PreTrainedTokenizerBase,
    prompt: EmotionPrompt,
    texts: Sequence[str],
    labels: np.ndarray,
    max_length: int,
) -> EncodedSplit:
    """Encode (prompt, text) pairs; only the text is truncated."""
    prompt_only = tokenizer(prompt.text, "")
    if len(prompt_only["input_ids"]) >= max_length:
        raise ValueError(
            f"model.max_length: {max_length} tokens cannot hold the emotion prompt "
            f"({len(prompt_only['input_ids'])} tokens) plus any text"
        )
    encoding = tokenizer(
        [prompt.text] * len(texts), list(texts), truncation="only_second",
        max_length=max_length, return_offsets_mapping=True,
    )  # fmt: skip
    positions = emotion_positions(encoding, prompt.spans)
    prefix = max(max(group) for group in positions) + 1
    reference = encoding["input_ids"][0][:prefix]
    if any(ids[:prefix] != reference for ids in encoding["input_ids"]):
        raise ValueError("the prompt did not tokenize identically in every example")
    types = encoding.get("token_type_ids")
    return EncodedSplit(
        input_ids=[torch.tensor(ids) for ids in encoding["input_ids"]],
        token_type_ids=[torch.tensor(t) for t in types] if types is not None else None,
        labels=torch.as_tensor(labels, dtype=torch.float32),
        positions=positions,
        pad_id=int(tokenizer.pad_token_id),
    )


def batches(
    split: EncodedSplit, batch_size: int, order: torch.Tensor | None = None
) -> Iterator[dict[str, torch.Tensor]]:
    """Batches padded to their own longest example, in ``order`` (default: the split's)."""
    for rows in batch_rows(len(split), batch_size, order):
        yield collate(split, rows)


def batch_rows(
    size: int, batch_size: int, order: torch.Tensor | None = None
) -> Iterator[list[int]]:
    """The example indices of each batch."""
    if order is None:
        order = torch.arange(size)
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size].tolist()


def collate(
    split: EncodedSplit, rows: list[int], length: int | None = None
) -> dict[str, torch.Tensor]:
    """The examples ``rows`` padded to the longest of them, or to ``length`` tokens."""
    input_ids = _padded([split.input_ids[i] for i in rows], split.pad_id, length)
    lengths = split.lengths[rows]
    batch = {
        "input_ids": input_ids,
        "attention_mask": (torch.arange(input_ids.shape[1]) < lengths[:, None]).long(),
        "labels": split.labels[rows],
    }
    if split.token_type_ids is not None:
        batch["token_type_ids"] = _padded([split.token_type_ids[i] for i in rows], 0, length)
    return batch


def _padded(rows: list[torch.Tensor], value: int, length: int | None) -> torch.Tensor:
    batch = pad_sequence(rows, batch_first=True, padding_value=value)
    if length is None:
        return batch
    return torch.nn.functional.pad(batch, (0, length - batch.shape[1]), value=value)
