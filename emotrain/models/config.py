"""Which model a run builds: the encoder and the emotion model on top of it."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from emotrain.section import Section


class EncoderConfig(Section):
    """A hub name or local path (``name``), or a tiny randomly initialised encoder (``tiny``)."""

    name: str | None = Field(
        default=None, min_length=1, description="a Hugging Face hub name or a local folder"
    )
    tiny: Literal["bert", "roberta"] | None = Field(
        default=None,
        description="a tiny randomly initialised encoder of that architecture, its tokenizer "
        "built from the training texts (tests, the demo, --smoke)",
    )
    hidden_size: int = Field(default=64, ge=8, description="tiny only: hidden size")
    num_layers: int = Field(default=2, ge=1, description="tiny only: layers")
    num_heads: int = Field(default=2, ge=1, description="tiny only: attention heads")
    intermediate_size: int = Field(default=256, ge=8, description="tiny only: feed-forward size")
    vocab_size: int = Field(default=4000, ge=300, description="tiny only: tokenizer vocabulary")
    dropout: float | None = Field(
        default=None, ge=0.0, lt=1.0,
        description="the encoder's hidden and attention dropout (None: the encoder's own)",
    )  # fmt: skip

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.name is None) == (self.tiny is None):
            raise ValueError("set exactly one of 'name' (hub name or path) and 'tiny'")
        if self.tiny and self.hidden_size % self.num_heads:
            raise ValueError("hidden_size must be a multiple of num_heads")
        return self


MASK_SLOT = "{mask}"
TEXT_SLOT = "{text}"


def check_template(template: str) -> str:
    """A MEmo template holds ``{mask}`` once, then ``{text}`` once.

    The mask must come before the text so that truncating the text can never move or cut it,
    which keeps one mask position for every example.
    """
    for slot in (MASK_SLOT, TEXT_SLOT):
        if template.count(slot) != 1:
            raise ValueError(f"the template must contain {slot} exactly once")
    if template.index(MASK_SLOT) > template.index(TEXT_SLOT):
        raise ValueError(f"{MASK_SLOT} must come before {TEXT_SLOT} in the template")
    return template


class ModelConfig(Section):
    """The emotion model (Demux or MEmo) and the encoder under it."""

    kind: Literal["demux", "memo"] = Field(
        default="demux",
        description="demux: one output per emotion word of the prompt; memo: one [MASK] state "
        "classified into every emotion",
    )
    encoder: EncoderConfig = Field(
        default=EncoderConfig(tiny="bert"), description="the pretrained (or tiny) encoder"
    )
    dropout: float = Field(
        default=0.1, ge=0.0, lt=1.0, description="dropout of the head on the encoder"
    )
    max_length: int = Field(default=64, ge=16, description="tokens, prompt included")
    memo_head: Literal["classifier", "mlm"] = Field(
        default="classifier", description="memo only: a new classifier or the pretrained MLM head"
    )
    template: str | None = Field(
        default=None,
        description="memo only: overrides the language's template, e.g. "
        "'emotion {mask} in tweet {text}'",
    )
    # Speed options, on by default and part of the config key (KEY_BASELINES): each changes
    # only float rounding or which random numbers are drawn. Where the model or encoder
    # cannot use one, the standard path runs and the log says so.
    top_layer_on_prompt: bool = Field(
        default=True,
        description="Demux: the encoder's last layer computed at the emotion prompt's "
        "positions only, the only states Demux reads (less work; equal in evaluation up to "
        "float rounding, other dropout draws in training); BERT- and RoBERTa-style encoders, "
        "elsewhere (and for MEmo) the full encoder runs",
    )
    padding_free: bool = Field(
        default=True,
        description="in training, every layer's projections, feed-forward passes and layer "
        "norms run on the batch's real tokens only, attention on the padded layout as before "
        "(the same batches, less work; equal up to float rounding, other dropout draws; "
        "evaluation unchanged); BERT- and RoBERTa-style encoders, elsewhere (and with "
        "optim.compile) the padded encoder runs",
    )
    fast_dropout: bool = Field(
        default=True,
        description="every dropout mask drawn from 16 random bits per element instead of "
        "torch's Bernoulli sampler (faster training steps on the CPU; the probability rounded "
        "to 1/65536, other draws; evaluation unchanged); encoders on transformers' attention "
        "interface, elsewhere torch's dropout",
    )

    @field_validator("template")
    @classmethod
    def _template_slots(cls, template: str | None) -> str | None:
        return None if template is None else check_template(template)

    @model_validator(mode="after")
    def _template_needs_memo(self) -> Self:
        if self.template is not None and self.kind != "memo":
            raise ValueError("'template' applies only to kind: memo")
        return self
