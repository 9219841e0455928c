"""MEmo: one sequence from a template with a mask token; the mask's final state is scored either
by a new classifier head or by the pretrained MLM head's logits of each emotion word."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from transformers import BatchEncoding, PreTrainedModel, PreTrainedTokenizerBase

from emotrain.data.batches import EncodedSplit
from emotrain.emotions import Language
from emotrain.models.config import MASK_SLOT, TEXT_SLOT, check_template
from emotrain.speed import padding_free

MemoHead = Literal["classifier", "mlm"]

# The text comes last in every language, Arabic included (logical order, read right to left).
TEMPLATES: dict[str, str] = {
    "english": "emotion {mask} in tweet {text}",
    "spanish": "emoción {mask} en tweet {text}",
    "french": "émotion {mask} dans tweet {text}",
    "arabic": "عاطفة {mask} في تغريدة {text}",
}

# Attributes holding the MLM head of the masked-LM classes the papers use (BERT, RoBERTa,
# XLM-R, BERTweet): applying the head to the mask's state alone avoids [B, T, V] logits.
_MLM_HEAD_NAMES = ("cls", "lm_head")


class MemoOutput(NamedTuple):
    """Shaped like ``DemuxOutput``; MEmo has no per-emotion representation."""

    logits: torch.Tensor  # [B, N]
    emotion_states: torch.Tensor | None = None


@dataclass(frozen=True)
class LabelWords:
    """Each emotion word's vocabulary ids, padded: an emotion's score sums its rows' logits."""

    ids: torch.Tensor  # [N, L] long
    weights: torch.Tensor  # [N, L] float: 1 for a sub-token, 0 for padding

    def to(self, device: torch.device | str) -> LabelWords:
        return LabelWords(self.ids.to(device), self.weights.to(device))


@dataclass(frozen=True)
class MemoInputs:
    """What ``Memo.forward`` needs besides the batch; the counterpart of Demux's pooling matrix.

    ``label_words`` is required by the ``mlm`` head and ignored by the ``classifier`` head.
    """

    mask_position: int
    mask_token_id: int
    label_words: LabelWords | None = None

    def to(self, device: torch.device | str) -> MemoInputs:
        words = None if self.label_words is None else self.label_words.to(device)
        return MemoInputs(self.mask_position, self.mask_token_id, words)


def memo_template(language: Language, override: str | None = None) -> str:
    """The language's template, or ``override`` (``model.template``) when it is set."""
    if override is not None:
        return check_template(override)
    try:
        return TEMPLATES[language]
    except KeyError:
        raise ValueError(f"no MEmo template for {language}; set model.template") from None


def encode_memo(
    tokenizer: PreTrainedTokenizerBase,
    template: str,
    texts: Sequence[str],
    labels: np.ndarray,
    max_length: int,
) -> EncodedSplit:
    """Encode every text into the template; only the text's tokens are truncated.

    The whole sentence is tokenized as one string (exactly what the model reads), then the
    text's last tokens are dropped until it fits, so the template around the text always
    survives. ``positions`` is ``[[mask position]]``: one position shared by every example,
    which ``check_template`` guarantees by putting the mask before the text.
    """
    prefix, suffix = _split_template(template, _mask_token(tokenizer))
    _check_room(tokenizer, prefix + suffix, max_length)
    # Untruncated on purpose (so no length warning): ``_truncate_text`` cuts the text only.
    encoding = tokenizer(
        [prefix + text + suffix for text in texts], return_offsets_mapping=True, verbose=False
    )
    mask_span = _mask_span(template, tokenizer)
    rows: list[dict[str, list[int]]] = []
    positions: set[int] = set()
    for index, text in enumerate(texts):
        positions.add(_mask_position(encoding, index, mask_span, tokenizer.mask_token_id))
        rows.append(
            _truncate_text(encoding, index, (len(prefix), len(prefix) + len(text)), max_length)
        )
    if len(positions) != 1:
        raise ValueError(f"the mask landed at different positions {sorted(positions)}")
    return EncodedSplit(
        input_ids=[torch.tensor(row["input_ids"]) for row in rows],
        token_type_ids=(
            [torch.tensor(row["token_type_ids"]) for row in rows]
            if "token_type_ids" in encoding
            else None
        ),
        labels=torch.as_tensor(labels, dtype=torch.float32),
        positions=[[positions.pop()]],
        pad_id=int(tokenizer.pad_token_id),
    )


def label_words(
    tokenizer: PreTrainedTokenizerBase, template: str, words: Sequence[str]
) -> LabelWords:
    """The vocabulary ids of each emotion word as it reads in place of the mask.

    The word is tokenized inside the template sentence and found by its character offsets, so
    a byte-level BPE gets the after-a-space form (``Ġjoy``), not the sentence-initial one.
    """
    if not words:
        raise ValueError("the mlm head needs at least one emotion word")
    groups = [torch.tensor(_word_ids(tokenizer, template, word)) for word in words]
    ids = pad_sequence(groups, batch_first=True, padding_value=0)
    lengths = torch.tensor([len(group) for group in groups])
    weights = (torch.arange(ids.shape[1]) < lengths[:, None]).float()
    return LabelWords(ids, weights)


def memo_inputs(
    tokenizer: PreTrainedTokenizerBase,
    template: str,
    split: EncodedSplit,
    words: Sequence[str] | None = None,
) -> MemoInputs:
    """The forward inputs for a split from ``encode_memo``; pass ``words`` for the mlm head."""
    ((position,),) = split.positions
    scored = None if words is None else label_words(tokenizer, template, words)
    return MemoInputs(position, int(tokenizer.mask_token_id), scored)


class Memo(nn.Module):
    """``classifier``: ``encoder`` is a plain encoder and ``num_emotions`` fixes the head's
    outputs. ``mlm``: ``encoder`` is a masked LM (``build_masked_lm``), the emotion set is
    ``MemoInputs.label_words`` and may change at evaluation; ``head`` then has no parameters
    because the pretrained MLM head (tied to the input embeddings) trains with the encoder."""

    def __init__(
        self, encoder: PreTrainedModel, head: MemoHead, dropout: float, num_emotions: int
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.head_kind = head
        self._mlm_head_name: str | None = None
        self.padding_free = False  # model.padding_free, set by the factory; training only
        width = encoder.config.hidden_size
        if head == "classifier":
            self.head: nn.Module = nn.Sequential(
                nn.Linear(width, width), nn.Tanh(), nn.Dropout(dropout),
                nn.Linear(width, num_emotions),
            )  # fmt: skip
        else:
            if encoder.get_output_embeddings() is None:
                raise ValueError("the mlm head needs a masked LM (see build_masked_lm)")
            self.head = nn.Identity()
            # A name, not the module: registering it twice would duplicate the state dict.
            self._mlm_head_name = next(
                (name for name in _MLM_HEAD_NAMES if hasattr(encoder, name)), None
            )

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        emotion_inputs: MemoInputs,
        token_type_ids: torch.Tensor | None = None,
    ) -> MemoOutput:
        position = emotion_inputs.mask_position
        if not bool((input_ids[:, position] == emotion_inputs.mask_token_id).all()):
            raise ValueError(f"the batch has no mask token at position {position}")
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        if self.head_kind == "classifier":
            hidden = self._hidden(self.encoder, input_ids, attention_mask, extra)
            return MemoOutput(self.head(hidden[:, position]))
        if emotion_inputs.label_words is None:
            raise ValueError("the mlm head needs MemoInputs.label_words")
        vocab = self._vocab_logits(input_ids, attention_mask, position, extra)
        words = emotion_inputs.label_words
        return MemoOutput((vocab[:, words.ids] * words.weights.to(vocab.dtype)).sum(-1))

    def _vocab_logits(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        position: int,
        extra: dict[str, torch.Tensor],
    ) -> torch.Tensor:
        """[B, V] MLM logits at the mask."""
        if self._mlm_head_name is None:  # an architecture whose head we do not know: slower
            logits = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra)
            return logits.logits[:, position]
        hidden = self._hidden(self.encoder.base_model, input_ids, attention_mask, extra)
        return getattr(self.encoder, self._mlm_head_name)(hidden[:, position])

    def _hidden(
        self,
        encoder: PreTrainedModel,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        extra: dict[str, torch.Tensor],
    ) -> torch.Tensor:
        """The encoder's last hidden states, [B, T, D]: on the real tokens alone in training
        with ``padding_free``."""
        if self.padding_free and self.training:
            types = extra.get("token_type_ids")
            return padding_free.encode(encoder, input_ids, attention_mask, types)
        output = encoder(input_ids=input_ids, attention_mask=attention_mask, **extra)
        return output.last_hidden_state

    def padding_free_unsupported(self) -> str | None:
        """Why ``padding_free`` cannot apply to this model (None: it can)."""
        if self.head_kind == "mlm" and self._mlm_head_name is None:
            return f"the MLM head of {type(self.encoder).__name__} is not one MEmo knows"
        encoder = self.encoder if self.head_kind == "classifier" else self.encoder.base_model
        return padding_free.unsupported(encoder)


def _mask_token(tokenizer: PreTrainedTokenizerBase) -> str:
    if tokenizer.mask_token is None:
        raise ValueError("MEmo needs a tokenizer with a mask token")
    return str(tokenizer.mask_token)


def _split_template(template: str, mask: str) -> tuple[str, str]:
    """The template's text before and after ``{text}``, with the mask token filled in.

    Plain replacement rather than ``str.format``: templates and words may hold braces.
    """
    before, after = check_template(template).split(TEXT_SLOT)
    return before.replace(MASK_SLOT, mask), after


def _mask_span(template: str, tokenizer: PreTrainedTokenizerBase) -> tuple[int, int]:
    start = template.index(MASK_SLOT)
    return start, start + len(_mask_token(tokenizer))


def _check_room(tokenizer: PreTrainedTokenizerBase, bare: str, max_length: int) -> None:
    size = len(tokenizer(bare)["input_ids"])
    if size >= max_length:
        raise ValueError(
            f"model.max_length: {max_length} tokens cannot hold the MEmo template "
            f"({size} tokens) plus any text"
        )


def _mask_position(encoding: BatchEncoding, index: int, span: tuple[int, int], mask_id: int) -> int:
    """The one token over the template's mask characters; it must be the mask token itself."""
    ids = encoding["input_ids"][index]
    hits = [
        position
        for position, (start, end) in enumerate(encoding["offset_mapping"][index])
        if start < span[1] and end > span[0]
    ]
    if len(hits) != 1 or ids[hits[0]] != mask_id:
        raise ValueError("the template's mask did not encode as the tokenizer's mask token")
    return hits[0]


def _truncate_text(
    encoding: BatchEncoding, index: int, text_span: tuple[int, int], max_length: int
) -> dict[str, list[int]]:
    """Example ``index`` with the text's last tokens dropped until it fits ``max_length``."""
    fields = {
        name: list(encoding[name][index])
        for name in ("input_ids", "token_type_ids")
        if name in encoding
    }
    excess = len(fields["input_ids"]) - max_length
    if excess <= 0:
        return fields
    text_tokens = [
        position
        for position, (start, end) in enumerate(encoding["offset_mapping"][index])
        if start >= text_span[0] and end <= text_span[1]
    ]
    if len(text_tokens) < excess:
        raise ValueError(f"model.max_length: {max_length} tokens cannot hold the MEmo template")
    dropped = set(text_tokens[-excess:])
    return {
        name: [value for position, value in enumerate(values) if position not in dropped]
        for name, values in fields.items()
    }


def _word_ids(tokenizer: PreTrainedTokenizerBase, template: str, word: str) -> list[int]:
    before, after = check_template(template).split(TEXT_SLOT)
    start = template.index(MASK_SLOT)
    encoding = tokenizer(before.replace(MASK_SLOT, word) + after, return_offsets_mapping=True)
    ids = [
        token
        for token, (token_start, token_end) in zip(
            encoding["input_ids"], encoding["offset_mapping"], strict=True
        )
        if token_start < start + len(word) and token_end > start
    ]
    if not ids:
        raise ValueError(f"emotion word {word!r} encodes to no token")
    if tokenizer.unk_token_id is not None and tokenizer.unk_token_id in ids:
        raise ValueError(
            f"emotion word {word!r} maps to the unknown token {tokenizer.unk_token!r}; "
            "use another word or an encoder whose vocabulary covers it"
        )
    return ids
