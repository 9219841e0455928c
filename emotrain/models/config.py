"""Which model a run builds: the encoder and the emotion model on top of it."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from emotrain.section import Section


class EncoderConfig(Section):
    """A hub name or local path (``name``), or a tiny randomly initialised encoder (``tiny``)."""

    name: str | None = None
    tiny: Literal["bert", "roberta"] | None = None
    hidden_size: int = Field(default=64, ge=8)
    num_layers: int = Field(default=2, ge=1)
    num_heads: int = Field(default=2, ge=1)
    intermediate_size: int = Field(default=256, ge=8)
    vocab_size: int = Field(default=4000, ge=300, description="tiny only: tokenizer vocabulary")

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.name is None) == (self.tiny is None):
            raise ValueError("set exactly one of 'name' (hub name or path) and 'tiny'")
        if self.tiny and self.hidden_size % self.num_heads:
            raise ValueError("hidden_size must be a multiple of num_heads")
        return self


class ModelConfig(Section):
    kind: Literal["demux"] = "demux"
    encoder: EncoderConfig = EncoderConfig(tiny="bert")
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)
    max_length: int = Field(default=64, ge=16, description="tokens, prompt included")
