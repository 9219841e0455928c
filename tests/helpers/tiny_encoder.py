"""The smallest randomly initialised BERT the tests train: one layer of width 32."""

TINY_BERT = {"tiny": "bert", "hidden_size": 32, "num_layers": 1, "num_heads": 2,
             "intermediate_size": 64}  # fmt: skip
