"""Training throughput of Demux on one CUDA GPU: fp32 (TF32 matmuls) against bf16 autocast,
eager against ``optim.compile`` (``default``: inductor's kernels; ``reduce-overhead``: replayed
as CUDA graphs, batches padded to 64 tokens).

A bert-base-sized, randomly initialised encoder (12 layers, hidden 768, 12 heads, intermediate
3072, a WordPiece vocabulary of up to 30522 built from the texts) on real SemEval English texts,
batch 32, at most 64 tokens, fused AdamW: the steps ``emotrain.train`` takes, without its
evaluations. Each variant is timed three times over ``--steps`` steps: queued freely; watched,
as ``emotrain.train`` now checks the loss (``DivergenceWatch``: a few tiny kernels a step, the
finiteness read once, at the end, as train reads it at its evaluations); and synced, reading
the loss's finiteness after every step as ``emotrain.train`` did (one host sync a step). Prints
one row per variant (the warm-up's seconds hold the compilation) and writes them as JSON.

Packing (``--share 1,2,4,8``): N such trainings (``--share-variant``, eager bf16 unless named)
at once on the one GPU, each in its own
process, as Ray places N trials of ``resources.gpus: 1/N`` (each sees the same device). Every
process warms up, waits for the others, then counts the examples it trains in the same
``--window`` seconds (synchronising after each step so that only finished steps count).
Prints per-trial and total examples/s for each N and the total's gain over N = 1.

Model FLOPs utilisation = 6 x N x tokens/s / peak, with N the non-embedding parameters (an
embedding lookup is no matmul) and tokens the padded tokens the GPU computed; attention's own
FLOPs are left out, as usual for a 6N estimate (small at 64 tokens). The peak assumed is the
H100 SXM's dense BF16 tensor-core peak, 989.4 TFLOP/s, for both rows (dense TF32 is half that;
an H100 PCIe peaks at 756 BF16): pass --peak-tflops for another card.

    python bench/gpu_throughput.py --data ../shared/data/semeval2018-ec [--steps 300]
    python bench/gpu_throughput.py --variants eager-bf16,reduce-overhead-bf16
    python bench/gpu_throughput.py --data ../shared/data/semeval2018-ec --share 1,2,4,8
    python bench/gpu_throughput.py --share 1,2,4 --share-variant reduce-overhead-bf16
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from data_path import add_data_argument
from encoders import BERT_BASE

from emotrain.config import TrainConfig
from emotrain.data.batches import batch_rows, collate
from emotrain.data.loading import load_splits
from emotrain.device import check_precision, forward_precision, to_device
from emotrain.distributed import Workers
from emotrain.divergence import DivergenceWatch
from emotrain.emotion_sets import scored_split
from emotrain.losses import Objective
from emotrain.models.factory import build_model
from emotrain.speed.compile import CompileMode, begin_step, compiled, padded_length
from emotrain.training import build_optimizer, seed_everything, training_set

H100_BF16_DENSE_TFLOPS = 989.4


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_argument(parser)
    parser.add_argument("--steps", type=int, default=300, help="timed optimiser steps")
    parser.add_argument("--warmup", type=int, default=30, help="untimed steps first")
    parser.add_argument(
        "--variants",
        type=_variants,
        default=_variants(",".join(VARIANTS)),
        help=f"<compile>-<precision>, comma-separated: {', '.join(VARIANTS)}",
    )
    parser.add_argument("--peak-tflops", type=float, default=H100_BF16_DENSE_TFLOPS)
    parser.add_argument("--out", type=Path, default=Path("gpu_throughput.json"))
    parser.add_argument("--share", type=_counts, help="packing: trials per GPU, e.g. 1,2,4,8")
    parser.add_argument("--share-variant", type=_variant_name, default="eager-bf16",
                        help="packing: the variant each packed trial trains")  # fmt: skip
    parser.add_argument("--window", type=float, default=20.0, help="packing: seconds counted")
    # Internal: one packed trial (index, of N), meeting the others in a barrier folder.
    parser.add_argument("--packed", type=int, nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--barrier", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("error: bench/gpu_throughput.py needs a CUDA GPU, and torch sees none",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.packed:
        args.out.write_text(json.dumps(packed_trial(args)))
        return 0
    rows = []
    for run in args.share or args.variants:
        rows.append(share(args, run) if args.share else measure(args, run))
        args.out.write_text(json.dumps(rows, indent=2))  # what is done survives a timeout
    text = packing_table(rows) if args.share else table(rows)
    print(text)
    args.out.write_text(json.dumps(rows, indent=2))
    print(f"written to {args.out}")
    return 0


def _counts(text: str) -> list[int]:
    return [int(n) for n in text.split(",")]


VARIANTS = ("eager-fp32", "eager-bf16", "default-bf16", "reduce-overhead-bf16",
            "reduce-overhead-fp32")  # fmt: skip


@dataclass(frozen=True)
class Variant:
    compile: CompileMode
    precision: str

    @property
    def name(self) -> str:
        return f"{'eager' if self.compile == 'off' else self.compile}-{self.precision}"


def _variants(text: str) -> list[Variant]:
    unknown = sorted(set(text.split(",")) - set(VARIANTS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown variant {', '.join(unknown)}")
    return [_variant(name) for name in text.split(",")]


def _variant_name(name: str) -> str:
    _variants(name)  # one known name
    return name


def _variant(name: str) -> Variant:
    mode, precision = name.rsplit("-", 1)
    return Variant("off" if mode == "eager" else mode, precision)  # type: ignore[arg-type]


@dataclass
class Bench:
    """A model ready to train: one optimiser step per call of ``step`` on the next batch."""

    step: Callable[[dict[str, torch.Tensor]], torch.Tensor]
    feed: Iterator[tuple[dict[str, torch.Tensor], int]]
    non_embedding_params: int
    params: int
    vocab_size: int
    attention: str  # the encoder's attention kernel (transformers' attn_implementation)
    cfg: TrainConfig


def measure(args: argparse.Namespace, variant: Variant) -> dict[str, Any]:
    bench = prepare(args, variant, steps=args.warmup + 2 * args.steps)
    started = time.perf_counter()
    for _ in range(args.warmup):
        bench.step(next(bench.feed)[0])
    torch.cuda.synchronize()
    warmup_seconds = time.perf_counter() - started
    queued = _timed(bench, args.steps, "queued")
    watched = _timed(bench, args.steps, "watched")
    synced = _timed(bench, args.steps, "synced")
    tflops = 6 * bench.non_embedding_params * queued["tokens_per_s"] / 1e12
    return {
        "variant": variant.name, "compile": variant.compile, "precision": variant.precision,
        "gpu": torch.cuda.get_device_name(), "warmup_seconds": warmup_seconds,
        "examples_per_s": queued["examples_per_s"], "tokens_per_s": queued["tokens_per_s"],
        "tokens_per_example": queued["tokens_per_example"],
        "examples_per_s_watched": watched["examples_per_s"],
        "examples_per_s_synced": synced["examples_per_s"], "params": bench.params,
        "non_embedding_params": bench.non_embedding_params, "model_tflops": tflops,
        "mfu": tflops / args.peak_tflops, "peak_tflops_assumed": args.peak_tflops,
        "steps": args.steps, "warmup_steps": args.warmup,
        "batch_size": bench.cfg.optim.batch_size, "max_length": bench.cfg.model.max_length,
        "last_loss": queued["last_loss"], "vocab_size": bench.vocab_size,
        "attention": bench.attention, "max_allocated_bytes": torch.cuda.max_memory_allocated(),
    }  # fmt: skip


def _timed(bench: Bench, steps: int, check: str) -> dict[str, float]:
    """``steps`` steps, the loss's finiteness checked as ``check`` says: not at all (queued),
    by a ``DivergenceWatch`` read at the end (watched), or by the host after each step (synced)."""
    watch = DivergenceWatch(torch.device("cuda"))
    torch.cuda.synchronize()
    started, tokens, examples = time.perf_counter(), 0, 0
    for step in range(steps):
        batch, size = next(bench.feed)
        tokens += batch["input_ids"].numel()
        loss = bench.step(batch)
        if check == "watched":
            watch.watch(loss, 1, step)
        elif check == "synced" and not torch.isfinite(loss):
            raise SystemExit(f"error: the loss is {float(loss)}")
        examples += size
    watch.check()
    torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    return {"examples_per_s": examples / seconds, "tokens_per_s": tokens / seconds,
            "tokens_per_example": tokens / examples, "last_loss": float(loss)}  # fmt: skip


def share(args: argparse.Namespace, n: int) -> dict[str, Any]:
    """N packed trials at once on this GPU, each its own process; their counts side by side."""
    with tempfile.TemporaryDirectory() as barrier:
        outs = [Path(barrier) / f"trial{i}.json" for i in range(n)]
        common = [sys.executable, __file__, "--data", str(args.data), "--warmup",
                  str(args.warmup), "--window", str(args.window), "--barrier", barrier,
                  "--share-variant", args.share_variant]  # fmt: skip
        procs = [
            subprocess.Popen([*common, "--packed", str(i), str(n), "--out", str(out)])
            for i, out in enumerate(outs)
        ]
        if any(proc.wait() for proc in procs):
            raise SystemExit(f"error: a packed trial failed (N = {n})")
        trials = [json.loads(out.read_text()) for out in outs]
    total = sum(t["examples_per_s"] for t in trials)
    return {
        "trials_per_gpu": n, "gpu": trials[0]["gpu"], "variant": args.share_variant,
        "examples_per_s_per_trial": total / n, "examples_per_s_total": total,
        "slowest_trial": min(t["examples_per_s"] for t in trials),
        "max_allocated_bytes_per_trial": max(t["max_allocated_bytes"] for t in trials),
        "window_s": args.window, "trials": trials,
    }  # fmt: skip


def packed_trial(args: argparse.Namespace) -> dict[str, Any]:
    index, n = args.packed
    bench = prepare(args, _variant(args.share_variant), steps=10**6)
    for _ in range(args.warmup):
        bench.step(next(bench.feed)[0])
    torch.cuda.synchronize()
    (args.barrier / f"ready{index}").touch()
    while len(list(args.barrier.glob("ready*"))) < n:
        time.sleep(0.01)
    started = time.perf_counter()
    examples = steps = 0
    while time.perf_counter() - started < args.window:
        batch, size = next(bench.feed)
        bench.step(batch)
        torch.cuda.synchronize()
        examples, steps = examples + size, steps + 1
    seconds = time.perf_counter() - started
    return {
        "examples_per_s": examples / seconds, "steps": steps, "seconds": seconds,
        "gpu": torch.cuda.get_device_name(),
        "max_allocated_bytes": torch.cuda.max_memory_allocated(),
    }  # fmt: skip


def prepare(args: argparse.Namespace, variant: Variant, steps: int) -> Bench:
    cfg = TrainConfig.model_validate({
        "data": {"root": str(args.data), "language": "english"},
        "model": {"encoder": BERT_BASE, "max_length": 64},
        "optim": {"batch_size": 32, "lr": 1e-4, "precision": variant.precision,
                  "compile": variant.compile},
        "device": "cuda", "cache_dir": "off",
    })  # fmt: skip
    device = Workers.current(cfg.device).device
    check_precision(cfg.optim.precision, device)
    torch.cuda.reset_peak_memory_stats()  # each precision's own peak, not the process's
    seed_everything(0)
    loaded = load_splits(cfg.data)["train"]
    emotions = training_set(cfg, loaded.emotions)
    data = loaded.select(emotions.names)
    model, tokenizer = build_model(cfg.model, data.texts, len(emotions.names))
    model.to(device)
    scored = scored_split(cfg, tokenizer, emotions, data)
    inputs = to_device(scored.model_inputs, device)
    objective = Objective.build(cfg.loss, data.labels, emotions.names).to(device)
    optimizer, scheduler = build_optimizer(model, cfg.optim, steps, fused=True)
    model.train()
    net = compiled(model, cfg.optim.compile, variant.name)

    def step(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        begin_step(cfg.optim.compile)
        labels = batch.pop("labels")
        with forward_precision(device, cfg.optim.precision):
            output = net(**batch, **inputs)
        loss = objective(output.logits, labels, output.emotion_states)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        return loss.detach()

    params = sum(p.numel() for p in model.parameters())
    # BERT's embeddings block: word, position and token-type tables and their LayerNorm.
    dense = params - sum(p.numel() for p in model.encoder.embeddings.parameters())
    length = padded_length(cfg.optim.compile, cfg.model.max_length)
    feed = _batches(scored.split, cfg.optim.batch_size, device, length)
    attention = model.encoder.config._attn_implementation
    return Bench(step, feed, dense, params, len(tokenizer), attention, cfg)


def _batches(
    split: Any, batch_size: int, device: torch.device, length: int | None
) -> Iterator[tuple[dict, int]]:
    """Shuffled batches on the device, endlessly; each with its number of examples."""
    shuffle = torch.Generator().manual_seed(0)
    while True:
        order = torch.randperm(len(split), generator=shuffle)
        for rows in batch_rows(len(split), batch_size, order):
            if len(rows) == batch_size:  # a short last batch would skew the per-step numbers
                yield to_device(collate(split, rows, length), device), len(rows)


def table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'variant':<22}{'warm-up s':>10}{'examples/s':>12}{'watched':>9}{'synced':>9}"
             f"{'tokens/s':>10}{'TFLOP/s':>9}{'MFU':>7}{'GiB':>6}"]  # fmt: skip
    for row in rows:
        lines.append(f"{row['variant']:<22}{row['warmup_seconds']:>10.1f}"
                     f"{row['examples_per_s']:>12.1f}{row['examples_per_s_watched']:>9.1f}"
                     f"{row['examples_per_s_synced']:>9.1f}"
                     f"{row['tokens_per_s']:>10.0f}{row['model_tflops']:>9.1f}{row['mfu']:>7.1%}"
                     f"{row['max_allocated_bytes'] / 2**30:>6.1f}")  # fmt: skip
    peak = rows[0]["peak_tflops_assumed"]
    gpu = rows[0]["gpu"]
    lines.append(f"{gpu}; attention {rows[0]['attention']}; watched: emotrain.train's loss "
                 "check now; synced: one host sync a step, as it did; reduce-overhead pads to "
                 "64 tokens")  # fmt: skip
    lines.append(f"MFU = 6 x {rows[0]['non_embedding_params']:,} non-embedding params x "
                 f"tokens/s / {peak} TFLOP/s (dense BF16 peak assumed)")  # fmt: skip
    return "\n".join(lines)


def packing_table(rows: list[dict[str, Any]]) -> str:
    alone = rows[0]["examples_per_s_total"] / rows[0]["trials_per_gpu"]
    lines = [f"{'trials/GPU':<11}{'ex/s/trial':>12}{'slowest':>10}{'ex/s total':>12}"
             f"{'vs 1 alone':>12}{'GiB/trial':>11}"]  # fmt: skip
    for row in rows:
        lines.append(f"{row['trials_per_gpu']:<11}{row['examples_per_s_per_trial']:>12.1f}"
                     f"{row['slowest_trial']:>10.1f}{row['examples_per_s_total']:>12.1f}"
                     f"{row['examples_per_s_total'] / alone:>11.2f}x"
                     f"{row['max_allocated_bytes_per_trial'] / 2**30:>11.1f}")  # fmt: skip
    lines.append(f"{rows[0]['gpu']}; {rows[0]['variant']}, batch 32, 64 tokens, "
                 f"{rows[0]['window_s']:.0f} s "
                 "counted while all trials run")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
