"""Encoders and the emotion models built on them."""
