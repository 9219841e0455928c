"""Which loss a run optimises (docs/design.md#losses):
``L = (1 - alpha) * BCE + alpha * L_local + beta * L_global``."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from emotrain.section import Section

LocalKind = Literal["none", "inter", "intra", "complete"]
LocalOn = Literal["predictions", "representations"]
PairWeights = Literal["one", "rho"]
RhoSource = Literal["data", "plutchik"]
GlobalKind = Literal["none", "cossim", "sq_diff"]
Reduction = Literal["paper", "pair_mean"]


class LossConfig(Section):
    """``L = (1 - alpha) * BCE + alpha * L_local + beta * L_global``; alpha = 0 keeps BCE at 1."""

    local: LocalKind = Field(default="none", description="the local label-correlation loss")
    local_on: LocalOn = Field(
        default="predictions", description="local loss on the logits, or on Demux's h_e"
    )
    weights: PairWeights = Field(
        default="one", description="pair weights of the local loss: all ones, or from rho"
    )
    rho: RhoSource = Field(
        default="data",
        description="emotion correlation: Pearson of the train labels, or Plutchik's wheel",
    )
    alpha: float = Field(default=0.0, ge=0.0, le=1.0, description="local loss coefficient")
    global_loss: GlobalKind = Field(
        default="none", description="label-independent loss on Demux's h_e"
    )
    beta: float = Field(default=0.0, ge=0.0, description="global loss coefficient")
    reduction: Reduction = Field(
        default="paper",
        description="how the pair terms are averaged: paper, the original implementation's "
        "arithmetic (so alpha and beta mean what the papers' tables mean), or pair_mean, the "
        "mean over the pairs each loss is defined on (a stronger term at the same coefficient); "
        "see docs/design.md#losses",
    )

    @model_validator(mode="after")
    def _coefficients_need_losses(self) -> Self:
        # A coefficient without its loss would silently train plain BCE under another name.
        if self.local == "none" and self.alpha > 0:
            raise ValueError(
                "alpha > 0 needs a local loss (local: inter, intra or complete); "
                "with none it only scales BCE"
            )
        if self.global_loss == "none" and self.beta > 0:
            raise ValueError(
                "beta > 0 needs a global loss (global_loss: cossim or sq_diff); with none it does "
                "nothing"
            )
        return self

    @property
    def has_correlation_loss(self) -> bool:
        """Whether a local or global term is trained (otherwise the loss is BCE alone)."""
        return (self.local != "none" and self.alpha > 0) or (
            self.global_loss != "none" and self.beta > 0
        )

    @property
    def uses_representations(self) -> bool:
        """Whether the loss needs per-emotion representations (Demux's h_e; MEmo has none)."""
        local_on_states = self.local != "none" and self.local_on == "representations"
        return local_on_states or self.global_loss != "none"

    @property
    def uses_rho(self) -> bool:
        """Whether the loss reads a correlation rho (pair weights from rho, or any global loss)."""
        local_weighted = self.local != "none" and self.weights == "rho"
        return local_weighted or self.global_loss != "none"
