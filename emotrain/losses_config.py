"""Which loss a run optimises (DESIGN.md §3)."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from emotrain.section import Section


class LossConfig(Section):
    """``L = (1 - alpha) * BCE + alpha * local``."""

    local: Literal["none", "intra"] = "none"
    weights: Literal["one", "rho"] = Field(
        default="one", description="pair weights: all ones, or from the train labels' correlation"
    )
    alpha: float = Field(default=0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _alpha_needs_local(self) -> Self:
        if self.local == "none" and self.alpha > 0:
            raise ValueError(
                "alpha > 0 needs a local loss (local: intra); with none it only scales BCE"
            )
        return self
