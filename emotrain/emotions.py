"""The emotion vocabularies of the datasets and their words in each prompt language."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

Language = Literal["english", "spanish", "arabic", "french"]

SEMEVAL_EMOTIONS: tuple[str, ...] = (
    "anger", "anticipation", "disgust", "fear", "joy", "love",
    "optimism", "pessimism", "sadness", "surprise", "trust",
)  # fmt: skip

# Full words for Arabic: the original used truncated word pieces for three of them.
EMOTION_WORDS: dict[str, dict[str, str]] = {
    "spanish": {
        "anger": "ira", "anticipation": "anticipación", "disgust": "asco", "fear": "miedo",
        "joy": "alegría", "love": "amor", "optimism": "optimismo", "pessimism": "pesimismo",
        "sadness": "tristeza", "surprise": "sorpresa", "trust": "confianza",
    },
    "arabic": {
        "anger": "غضب", "anticipation": "توقع", "disgust": "قرف", "fear": "خوف",
        "joy": "سعادة", "love": "حب", "optimism": "تفاؤل", "pessimism": "يأس",
        "sadness": "حزن", "surprise": "اندهاش", "trust": "ثقة",
    },
    "french": {
        "anger": "colère", "anticipation": "anticipation", "disgust": "dégoût", "fear": "peur",
        "joy": "joie", "love": "amour", "optimism": "optimisme", "pessimism": "pessimisme",
        "sadness": "tristesse", "surprise": "surprise", "trust": "confiance",
    },
}  # fmt: skip

OR_WORD: dict[str, str] = {"english": "or", "spanish": "o", "arabic": "أو", "french": "ou"}


def emotion_word(emotion: str, language: Language) -> str:
    """The prompt word for an (English-named) emotion; English names are their own words."""
    if language == "english":
        return emotion
    try:
        return EMOTION_WORDS[language][emotion]
    except KeyError:
        raise KeyError(f"no {language} word for emotion {emotion!r}") from None


def name_list_problem(names: Sequence[str]) -> str | None:
    """What is wrong with a list of emotion names (None: nothing): every list of emotions a
    user gives (the table's emotions, the held-out ones, the words to predict) is checked by
    this one rule, so each says the same thing."""
    if not names:
        return "the list is empty"
    if any(not name.strip() for name in names):
        return f"an empty name in {list(names)}"
    if repeated := sorted({name for name in names if names.count(name) > 1}):
        return f"repeated name {', '.join(repeated)} in {list(names)}"
    return None
