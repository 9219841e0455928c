"""Which data a run trains and evaluates on."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from emotrain.data.preprocess import PreprocessConfig
from emotrain.data.semeval import SemEvalLanguage
from emotrain.section import Section


class DataConfig(Section):
    dataset: Literal["semeval"] = "semeval"
    root: Path | None = Field(
        default=None,
        description="SemEval data root; None uses the demo data shipped inside emotrain",
    )
    language: SemEvalLanguage = "english"
    train_limit: int | None = Field(default=None, ge=1, description="keep the first N train rows")
    eval_limit: int | None = Field(default=None, ge=1, description="keep the first N dev/test rows")
    preprocess: PreprocessConfig = PreprocessConfig()
