"""The base of every configuration section: unknown fields are errors, values are frozen, and
numbers are finite (an infinite learning rate or a NaN weight can only train garbage)."""

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
