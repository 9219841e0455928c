"""Training throughput of Demux on one CUDA GPU, fp32 (TF32 matmuls) against bf16 autocast.

A bert-base-sized, randomly initialised encoder (12 layers, hidden 768, 12 heads, intermediate
3072, a WordPiece vocabulary of up to 30522 built from the texts) on real SemEval English texts,
batch 32, at most 64 tokens, fused AdamW: the steps ``emotrain.train`` takes, without its
evaluations. Prints one row per precision and writes them as JSON.

Model FLOPs utilisation = 6 x N x tokens/s / peak, with N the non-embedding parameters (an
embedding lookup is no matmul) and tokens the padded tokens the GPU computed; attention's own
FLOPs are left out, as usual for a 6N estimate (small at 64 tokens). The peak assumed is the
H100 SXM's dense BF16 tensor-core peak, 989.4 TFLOP/s, for both rows (dense TF32 is half that;
an H100 PCIe peaks at 756 BF16): pass --peak-tflops for another card.

    python bench/gpu_throughput.py --data ../shared/data/semeval2018-ec [--steps 50]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from data_path import add_data_argument

from emotrain.config import TrainConfig
from emotrain.data.batches import batch_rows, collate
from emotrain.data.loading import load_splits
from emotrain.device import check_precision, forward_precision, to_device
from emotrain.distributed import Workers
from emotrain.emotion_sets import scored_split
from emotrain.losses import Objective
from emotrain.models.factory import build_model
from emotrain.training import build_optimizer, seed_everything, training_set

H100_BF16_DENSE_TFLOPS = 989.4
BERT_BASE = {"tiny": "bert", "hidden_size": 768, "num_layers": 12, "num_heads": 12,
             "intermediate_size": 3072, "vocab_size": 30522}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_argument(parser)
    parser.add_argument("--steps", type=int, default=50, help="timed optimiser steps")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    parser.add_argument("--peak-tflops", type=float, default=H100_BF16_DENSE_TFLOPS)
    parser.add_argument("--out", type=Path, default=Path("gpu_throughput.json"))
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("error: bench/gpu_throughput.py needs a CUDA GPU, and torch sees none",
              file=sys.stderr)  # fmt: skip
        return 2
    rows = [measure(args, precision) for precision in ("fp32", "bf16")]
    print(table(rows))
    args.out.write_text(json.dumps(rows, indent=2))
    print(f"written to {args.out}")
    return 0


def measure(args: argparse.Namespace, precision: str) -> dict[str, Any]:
    cfg = TrainConfig.model_validate({
        "data": {"root": str(args.data), "language": "english"},
        "model": {"encoder": BERT_BASE, "max_length": 64},
        "optim": {"batch_size": 32, "lr": 1e-4, "precision": precision},
        "device": "cuda", "cache_dir": "off",
    })  # fmt: skip
    device = Workers.current(cfg.device).device
    check_precision(cfg.optim.precision, device)
    seed_everything(0)
    loaded = load_splits(cfg.data)["train"]
    emotions = training_set(cfg, loaded.emotions)
    data = loaded.select(emotions.names)
    model, tokenizer = build_model(cfg.model, data.texts, len(emotions.names))
    model.to(device)
    scored = scored_split(cfg, tokenizer, emotions, data)
    inputs = to_device(scored.model_inputs, device)
    objective = Objective.build(cfg.loss, data.labels, emotions.names).to(device)
    steps = args.warmup + args.steps
    optimizer, scheduler = build_optimizer(model, cfg.optim, steps, fused=True)
    model.train()

    def step(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        labels = batch.pop("labels")
        with forward_precision(device, cfg.optim.precision):
            output = model(**batch, **inputs)
        loss = objective(output.logits, labels, output.emotion_states)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        return loss.detach()

    feed = _batches(scored.split, cfg.optim.batch_size, device)
    for _ in range(args.warmup):
        step(next(feed)[0])
    torch.cuda.synchronize()
    started, tokens, examples = time.perf_counter(), 0, 0
    for _ in range(args.steps):
        batch, size = next(feed)
        tokens += batch["input_ids"].numel()
        loss = step(batch)
        examples += size
    torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    params = sum(p.numel() for p in model.parameters())
    # BERT's embeddings block: word, position and token-type tables and their LayerNorm.
    dense = params - sum(p.numel() for p in model.encoder.embeddings.parameters())
    tflops = 6 * dense * tokens / seconds / 1e12
    return {
        "precision": precision, "gpu": torch.cuda.get_device_name(device),
        "examples_per_s": examples / seconds, "tokens_per_s": tokens / seconds,
        "tokens_per_example": tokens / examples, "params": params,
        "non_embedding_params": dense, "model_tflops": tflops,
        "mfu": tflops / args.peak_tflops, "peak_tflops_assumed": args.peak_tflops,
        "steps": args.steps, "batch_size": cfg.optim.batch_size,
        "max_length": cfg.model.max_length, "last_loss": float(loss),
        "vocab_size": len(tokenizer),
    }  # fmt: skip


def _batches(split: Any, batch_size: int, device: torch.device) -> Iterator[tuple[dict, int]]:
    """Shuffled batches on the device, endlessly; each with its number of examples."""
    shuffle = torch.Generator().manual_seed(0)
    while True:
        order = torch.randperm(len(split), generator=shuffle)
        for rows in batch_rows(len(split), batch_size, order):
            if len(rows) == batch_size:  # a short last batch would skew the per-step numbers
                yield to_device(collate(split, rows), device), len(rows)


def table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'precision':<10}{'examples/s':>12}{'tokens/s':>12}{'TFLOP/s':>10}{'MFU':>8}"]
    for row in rows:
        lines.append(f"{row['precision']:<10}{row['examples_per_s']:>12.1f}"
                     f"{row['tokens_per_s']:>12.0f}{row['model_tflops']:>10.1f}"
                     f"{row['mfu']:>8.1%}")  # fmt: skip
    peak = rows[0]["peak_tflops_assumed"]
    gpu = rows[0]["gpu"]
    lines.append(f"{gpu}; MFU = 6 x {rows[0]['non_embedding_params']:,} non-embedding params x "
                 f"tokens/s / {peak} TFLOP/s (dense BF16 peak assumed)")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
