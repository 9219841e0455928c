"""The closed sets of values some options take, apart from the code that acts on them, so that
the configuration (and whatever reads only configurations and tables) loads without torch."""

from typing import Literal

CompileMode = Literal["off", "default", "reduce-overhead"]
DeviceChoice = Literal["auto", "cpu", "cuda"]
Precision = Literal["fp32", "bf16"]
