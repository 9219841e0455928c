"""MEmo: the mask lands on the tokenizer's mask token in the real encoded sequence (WordPiece and
byte-level BPE, three languages, truncated or not), the heads give [B, N] scores, and the mlm
head sums the MLM logits of the right vocabulary ids."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError
from transformers import BertConfig, BertForMaskedLM, BertModel, PreTrainedTokenizerFast

from emotrain.data.batches import EncodedSplit, batches
from emotrain.data.semeval import load_semeval
from emotrain.data.types import EmotionData
from emotrain.models.config import EncoderConfig, ModelConfig
from emotrain.models.encoder import build_encoder, build_masked_lm
from emotrain.models.local_tokenizers import byte_bpe_tokenizer, wordpiece_tokenizer
from emotrain.models.memo import (
    Memo,
    MemoInputs,
    encode_memo,
    label_words,
    memo_inputs,
    memo_template,
)

BUILDERS = {"wordpiece": wordpiece_tokenizer, "byte-bpe": byte_bpe_tokenizer}
TINY = {"bert": "wordpiece", "roberta": "byte-bpe"}
SIZES = {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64}
FIRST_WORD = {"english": "emotion", "spanish": "emocion", "arabic": "عاطفة"}


@cache
def _train(root: Path, language: str) -> EmotionData:
    return load_semeval(root, language, "train")


@cache
def _tokenizer(root: Path, language: str, kind: str) -> PreTrainedTokenizerFast:
    return BUILDERS[kind](_train(root, language).texts, 3000)


def _plain(text: str) -> str:
    """Lower case without accents, as the uncased WordPiece normaliser keeps it."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _encode(tokenizer: PreTrainedTokenizerFast, texts: list[str], length: int) -> EncodedSplit:
    return encode_memo(
        tokenizer, memo_template("english"), texts, np.zeros((len(texts), 11)), length
    )


@pytest.mark.parametrize("kind", BUILDERS)
@pytest.mark.parametrize("language", ["english", "spanish", "arabic"])
def test_mask_position_survives_truncation(semeval_root: Path, kind: str, language: str) -> None:
    data = _train(semeval_root, language)
    tokenizer = _tokenizer(semeval_root, language, kind)
    template = memo_template(language)
    texts = sorted(data.texts, key=len)[-3:] + data.texts[:3]  # the longest, then ordinary ones
    split = encode_memo(tokenizer, template, texts, data.labels[:6], max_length=40)

    ((position,),) = split.positions
    before, _ = template.split("{text}")
    full = tokenizer([before.replace("{mask}", tokenizer.mask_token) + t for t in texts])
    lengths = [len(ids) for ids in split.input_ids]
    assert max(lengths) == 40 and min(lengths) < 40, "needs truncated and whole examples"
    for ids, reference in zip(split.input_ids, full["input_ids"], strict=True):
        assert ids[position] == tokenizer.mask_token_id
        head = tokenizer.decode(ids[1:position], skip_special_tokens=True).strip()
        assert _plain(head) == _plain(FIRST_WORD[language])
        # Truncation keeps the text's first tokens and the closing special token.
        expected = reference if len(reference) <= 40 else reference[:39] + reference[-1:]
        assert ids.tolist() == expected
    assert split.token_type_ids is None or all(t.sum() == 0 for t in split.token_type_ids)


@pytest.mark.parametrize("kind", BUILDERS)
def test_template_after_the_text_survives_truncation(semeval_root: Path, kind: str) -> None:
    tokenizer = _tokenizer(semeval_root, "english", kind)
    longest = max(_train(semeval_root, "english").texts, key=len)
    template = "{mask} feeling : {text} end"
    split = encode_memo(tokenizer, template, [longest], np.zeros((1, 11)), max_length=24)
    ids = split.input_ids[0].tolist()
    assert len(ids) == 24 and split.positions == [[1]]
    decoded = tokenizer.decode(ids, skip_special_tokens=True).strip()
    assert decoded.startswith("feeling :") and decoded.endswith(" end")


def test_max_length_too_small_for_the_template(semeval_root: Path) -> None:
    tokenizer = _tokenizer(semeval_root, "english", "wordpiece")
    with pytest.raises(ValueError, match=r"model\.max_length: 5 tokens cannot hold"):
        _encode(tokenizer, ["hello"], 5)


@pytest.mark.parametrize("tiny", TINY)
def test_classifier_head_scores_every_emotion(semeval_root: Path, tiny: str) -> None:
    texts = _train(semeval_root, "english").texts
    encoder, tokenizer = build_encoder(EncoderConfig(tiny=tiny, **SIZES), texts, 64)
    split = _encode(tokenizer, texts[:5], 64)
    model = Memo(encoder, "classifier", dropout=0.1, num_emotions=11)
    batch = next(batches(split, batch_size=5))
    batch.pop("labels")
    output = model(**batch, emotion_inputs=memo_inputs(tokenizer, memo_template("english"), split))
    assert output.logits.shape == (5, 11)
    assert output.emotion_states is None


@pytest.mark.parametrize(
    ("tiny", "words", "sizes"),
    [("bert", ("joy", "angers"), [1, 2]), ("roberta", ("joy", "pessimism"), [1, 2])],
)
def test_mlm_head_sums_the_words_vocabulary_logits(
    semeval_root: Path, tiny: str, words: tuple[str, str], sizes: list[int]
) -> None:
    texts = _train(semeval_root, "english").texts
    model_lm, tokenizer = build_masked_lm(EncoderConfig(tiny=tiny, **SIZES), texts, 64)
    template = memo_template("english")
    # By hand: a byte-level BPE word after a space is its "Ġword" form, not the bare one.
    space = " " if tiny == "roberta" else ""
    by_hand = [tokenizer(space + w, add_special_tokens=False)["input_ids"] for w in words]
    assert [len(ids) for ids in by_hand] == sizes
    if tiny == "roberta":
        assert tokenizer("joy", add_special_tokens=False)["input_ids"] != by_hand[0]

    split = _encode(tokenizer, texts[:4], 64)
    inputs = memo_inputs(tokenizer, template, split, words)
    model = Memo(model_lm, "mlm", dropout=0.1, num_emotions=len(words)).eval()
    batch = next(batches(split, batch_size=4))
    batch.pop("labels")
    with torch.inference_mode():
        scores = model(**batch, emotion_inputs=inputs).logits
        vocab = model_lm(**batch).logits[:, split.positions[0][0]]
    expected = torch.stack([vocab[:, ids].sum(-1) for ids in by_hand], dim=1)
    assert scores.shape == (4, 2)
    torch.testing.assert_close(scores, expected)
    model._mlm_head_name = None  # the generic path, for masked LMs with an unknown head name
    with torch.inference_mode():
        torch.testing.assert_close(model(**batch, emotion_inputs=inputs).logits, expected)
    assert list(model.head.parameters()) == []


def test_mlm_head_needs_the_label_words(semeval_root: Path) -> None:
    texts = _train(semeval_root, "english").texts
    model_lm, tokenizer = build_masked_lm(EncoderConfig(tiny="bert", **SIZES), texts, 64)
    split = _encode(tokenizer, texts[:2], 64)
    batch = next(batches(split, batch_size=2))
    batch.pop("labels")
    model = Memo(model_lm, "mlm", dropout=0.1, num_emotions=11)
    with pytest.raises(ValueError, match="label_words"):
        model(**batch, emotion_inputs=memo_inputs(tokenizer, memo_template("english"), split))
    wrong = MemoInputs(mask_position=1, mask_token_id=tokenizer.mask_token_id)
    with pytest.raises(ValueError, match="no mask token at position 1"):
        model(**batch, emotion_inputs=wrong)


def test_emotion_word_outside_the_vocabulary(semeval_root: Path) -> None:
    tokenizer = _tokenizer(semeval_root, "english", "wordpiece")
    with pytest.raises(ValueError, match="'غضب' maps to the unknown token"):
        label_words(tokenizer, memo_template("english"), ["anger", "غضب"])


def test_checkpoint_without_mlm_head_is_refused(semeval_root: Path, tmp_path: Path) -> None:
    tokenizer = _tokenizer(semeval_root, "english", "wordpiece")
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64,
    )  # fmt: skip
    for folder, model in (("encoder", BertModel(config)), ("mlm", BertForMaskedLM(config))):
        model.save_pretrained(tmp_path / folder)
        tokenizer.save_pretrained(tmp_path / folder)
    name = str(tmp_path / "encoder")
    with pytest.raises(
        ValueError, match=re.escape(f"model.encoder.name: {name} has no trained masked-LM")
    ):
        build_masked_lm(EncoderConfig(name=name), [], 64)
    loaded, _ = build_masked_lm(EncoderConfig(name=str(tmp_path / "mlm")), [], 64)
    assert loaded.get_output_embeddings() is not None


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("emotion in tweet {text}", "{mask} exactly once"),
        ("emotion {mask} {mask} in tweet {text}", "{mask} exactly once"),
        ("emotion {mask} in tweet", "{text} exactly once"),
        ("{text} has emotion {mask}", "{mask} must come before {text}"),
    ],
)
def test_template_validation(template: str, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        ModelConfig(kind="memo", template=template)


def test_template_only_for_memo_and_defaults() -> None:
    with pytest.raises(ValidationError, match="only to kind: memo"):
        ModelConfig(template="emotion {mask} in tweet {text}")
    config = ModelConfig(kind="memo", memo_head="mlm", template="feeling {mask} : {text}")
    assert memo_template("english", config.template) == "feeling {mask} : {text}"
    assert ModelConfig(kind="memo").memo_head == "classifier"
    arabic = memo_template("arabic")
    assert arabic.endswith("{text}") and arabic.index("{mask}") < arabic.index("{text}")
