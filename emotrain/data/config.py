"""Which data a run trains and evaluates on."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, model_validator

from emotrain.data.preprocess import PreprocessConfig
from emotrain.data.readers import READERS, Dataset, dataset_reader
from emotrain.data.semeval import SemEvalLanguage
from emotrain.data.types import Split
from emotrain.section import Section


class DataConfig(Section):
    """Which dataset, which files and languages, and how the text is normalised."""

    dataset: Dataset = Field(
        default="semeval",
        description="semeval (root + language), goemotions (root), or table (your own "
        "CSV/TSV files: train_file, dev_file, test_file)",
    )
    root: Path | None = Field(
        default=None,
        description="semeval: the folder holding English/, Spanish/, Arabic/ (None: the demo "
        "data shipped inside emotrain); goemotions: the folder holding train.tsv, dev.tsv, "
        "test.tsv and emotions.txt (required); table: unused",
    )
    language: SemEvalLanguage = Field(
        default="english",
        description="semeval: which language's files; every dataset: the prompt language",
    )
    languages: list[SemEvalLanguage] | None = Field(
        default=None,
        min_length=1,
        description="semeval: train on several languages at once (the prompt is then English); "
        "None: only `language`",
    )
    eval_languages: list[SemEvalLanguage] | None = Field(
        default=None,
        min_length=1,
        description="semeval: the languages test is scored on, and dev too unless dev_languages "
        "says otherwise (None: the training languages); metrics are also reported per language",
    )
    dev_languages: list[SemEvalLanguage] | None = Field(
        default=None,
        min_length=1,
        description="semeval: the languages of the dev split that early stopping reads (None: "
        "eval_languages, else the training languages); zero-shot language transfer develops on "
        "the source languages, so it never reads the target's labels before its test",
    )
    test_splits: list[Split] = Field(
        default=["test"],
        min_length=1,
        description="semeval: the files scored as the test split, of the eval_languages; "
        "[train, dev] scores a zero-shot target language on its train and dev files, as the "
        "transfer paper did (only for languages that are not trained or developed on)",
    )
    language_alpha: float = Field(
        default=1.0,
        ge=0.0,
        description="multilingual sampling: a language is drawn with probability ∝ p_l^alpha "
        "(p_l its share of examples; 1 proportional, 0 uniform), then one of its examples",
    )
    train_file: Path | None = Field(default=None, description="table: the train CSV/TSV")
    dev_file: Path | None = Field(default=None, description="table: the dev CSV/TSV")
    test_file: Path | None = Field(default=None, description="table: the test CSV/TSV")
    text_column: str = Field(default="text", min_length=1, description="table: the text column")
    id_column: str | None = Field(
        default="id", description="table: the id column if the header has it (else line numbers)"
    )
    labels_column: str | None = Field(
        default=None,
        description="table: one column listing the emotions ('joy,anger', 'joy;anger', or empty "
        "for neutral); None: one 0/1 column per emotion",
    )
    emotions: list[str] | None = Field(
        default=None,
        min_length=1,
        description="table: the emotions, in prompt order; None: every 0/1 column in header "
        "order, or with labels_column every emotion found, sorted",
    )
    delimiter: str | None = Field(
        default=None,
        min_length=1,
        max_length=1,
        description="table: the field delimiter; None: from the extension (.csv comma, .tsv tab)",
    )
    train_limit: int | None = Field(default=None, ge=1, description="keep the first N train rows")
    eval_limit: int | None = Field(default=None, ge=1, description="keep the first N dev/test rows")
    preprocess: PreprocessConfig = Field(
        default=PreprocessConfig(),
        description="text normalisation; no dataset switches a step on by itself: for "
        "GoEmotions set preprocess.reddit: true",
    )

    @property
    def train_languages(self) -> list[SemEvalLanguage]:
        return list(self.languages) if self.languages else [self.language]

    @property
    def scored_languages(self) -> list[SemEvalLanguage]:
        return list(self.eval_languages) if self.eval_languages else self.train_languages

    @property
    def development_languages(self) -> list[SemEvalLanguage]:
        return list(self.dev_languages) if self.dev_languages else self.scored_languages

    @property
    def multilingual(self) -> bool:
        languages = {*self.train_languages, *self.development_languages, *self.scored_languages}
        return len(languages) > 1

    @property
    def prompt_language(self) -> SemEvalLanguage:
        """Several languages share the English emotion words, as in the transfer paper."""
        return "english" if self.multilingual else self.language

    @model_validator(mode="after")
    def _fields_fit_the_dataset(self) -> Self:
        """The chosen dataset's own rules, then none of the other datasets' options set."""
        chosen = dataset_reader(self.dataset)
        chosen.check_config(self)
        for reader in READERS.values():
            if reader is not chosen and (problem := reader.misplaced_options(self)):
                raise ValueError(problem)
        return self
