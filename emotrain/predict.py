"""Score new texts with a saved model, for any emotion list (zero-shot emotions for Demux).

From Python: ``predict(load_model(DIR), ["text", ...], emotions=["joy", "awe"])``.
From the shell: ``python -m emotrain.predict --model DIR --emotions "joy,anger,awe" "text" ...``
(one JSON object per line; texts from standard input, one per line, when none are given).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emotrain.checkpoint import TrainedModel, load_model
from emotrain.config import TrainConfig
from emotrain.data.preprocess import preprocess_many
from emotrain.data.types import EmotionData
from emotrain.emotion_sets import EmotionSet, scored_split
from emotrain.emotions import name_list_problem
from emotrain.inference import probabilities
from emotrain.process_exit import exit_now
from emotrain.training import prompt_words


def predict(
    trained: TrainedModel, texts: Sequence[str], emotions: Sequence[str] | None = None
) -> list[dict[str, float]]:
    """Probability of each emotion for each text; ``emotions`` are prompt words (default: the
    emotions the model was trained on, in its language)."""
    config = trained.config
    words = list(emotions) if emotions is not None else prompt_words(config, trained.emotions)
    check_emotions(words)
    if _fixed_outputs(config) and words != prompt_words(config, trained.emotions):
        raise ValueError("--emotions: the MEmo classifier scores only the emotions it learned")
    if not texts:
        return []  # nothing to encode (an empty batch has no prompt to locate the emotions in)
    cleaned = preprocess_many(texts, config.data.preprocess, config.data.language)
    labels = np.zeros((len(cleaned), len(words)), dtype=np.float32)
    data = EmotionData([str(i) for i in range(len(cleaned))], cleaned, labels, tuple(words))
    scored = scored_split(config, trained.tokenizer, EmotionSet.of_emotions(words, words), data)
    scores = probabilities(trained.model, scored.split, scored.model_inputs, config.eval.batch_size)
    return [dict(zip(words, map(float, row), strict=True)) for row in scores]


def check_emotions(words: Sequence[str]) -> None:
    if problem := name_list_problem(list(words)):
        raise ValueError(f"--emotions: {problem}")


def _fixed_outputs(config: TrainConfig) -> bool:
    return config.model.kind == "memo" and config.model.memo_head == "classifier"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emotrain.predict", description=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="a saved model directory")
    parser.add_argument("--emotions", help="comma-separated emotion words (default: trained ones)")
    parser.add_argument("texts", nargs="*", help="texts to score (default: stdin lines)")
    args = parser.parse_args(argv)
    texts = args.texts or [line.rstrip("\n") for line in sys.stdin]
    # --emotions "" is a mistake, not a request for the trained emotions.
    emotions = None if args.emotions is None else [e.strip() for e in args.emotions.split(",")]
    try:
        if emotions is not None:
            check_emotions(emotions)  # before the model loads: a typo fails at once, alone
        trained = load_model(args.model)
        scores = predict(trained, texts, emotions)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    threshold = trained.config.eval.threshold
    for text, row in zip(texts, scores, strict=True):
        predicted = [emotion for emotion, p in row.items() if p >= threshold]
        print(json.dumps({"text": text, "scores": row, "predicted": predicted}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    exit_now(main())
