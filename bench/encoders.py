"""The encoders the benchmarks train, as ``model.encoder`` values (no imports: the sweep
benchmarks' drivers and children stay free of torch)."""

from __future__ import annotations

MINILM = "sentence-transformers/all-MiniLM-L6-v2"  # a name: the offline copy, '.[minilm]'
BERT_BASE = {"tiny": "bert", "hidden_size": 768, "num_layers": 12, "num_heads": 12,
             "intermediate_size": 3072, "vocab_size": 30522}  # fmt: skip
# tests/helpers/tiny_encoder.py's TINY_BERT: one layer of width 32, the soak's and the smoke runs'.
TINY_BERT = {"tiny": "bert", "hidden_size": 32, "num_layers": 1, "num_heads": 2,
             "intermediate_size": 64}  # fmt: skip
# The smoke sweep's: two layers of width 64 (the orchestration and packing benchmarks).
SMALL_BERT = {"tiny": "bert", "hidden_size": 64, "num_layers": 2, "num_heads": 2,
              "intermediate_size": 256}  # fmt: skip
