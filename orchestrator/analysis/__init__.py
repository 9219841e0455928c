"""Statistics over the tables: each configuration against the baseline (significance.py), the
papers' numbers beside the measured ones (reference.py), and the training-option selectors both
use (matching.py). No Ray, no torch."""
