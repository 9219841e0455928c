"""Tokenizers built from a corpus on this machine, for the tiny randomly initialised encoders.

The ``tokenizers`` WordPiece trainer is not deterministic (tie-breaking follows hash order), so
the WordPiece vocabulary is built here from word frequencies: every character of the corpus as a
word-initial and a ``##`` piece, then whole words by descending count. Rare words therefore split
into several sub-words, which is exactly what the emotion-position code must handle. The byte-level
BPE trainer is deterministic and is used as is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import PreTrainedTokenizerFast

BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
ROBERTA_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")


def wordpiece_tokenizer(corpus: Sequence[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """An uncased BERT-style WordPiece tokenizer: ``[CLS] a [SEP] b [SEP]``."""
    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words: Counter[str] = Counter()
    for text in corpus:
        pieces = pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text))
        words.update(word for word, _ in pieces)
    chars = sorted({char for word in words for char in word})
    vocab: dict[str, int] = {}
    for token in (*BERT_SPECIALS, *chars, *(f"##{char}" for char in chars)):
        vocab.setdefault(token, len(vocab))
    for word, _ in sorted(words.items(), key=lambda item: (-item[1], item[0])):
        if len(vocab) >= vocab_size:
            break
        vocab.setdefault(word, len(vocab))
    tokenizer = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.WordPiece()
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=512,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )  # fmt: skip


def byte_bpe_tokenizer(corpus: Sequence[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A RoBERTa-style byte-level BPE tokenizer: ``<s> a </s></s> b </s>``."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        show_progress=False,
        special_tokens=list(ROBERTA_SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(corpus, trainer)
    tokenizer.post_processor = processors.RobertaProcessing(
        ("</s>", tokenizer.token_to_id("</s>")),
        ("<s>", tokenizer.token_to_id("<s>")),
        trim_offsets=True,
        add_prefix_space=False,
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=512,
        model_input_names=["input_ids", "attention_mask"],
    )  # fmt: skip
