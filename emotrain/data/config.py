"""Which data a run trains and evaluates on."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator

from emotrain.data.preprocess import PreprocessConfig
from emotrain.data.semeval import SemEvalLanguage, Split
from emotrain.emotions import name_list_problem
from emotrain.section import Section

Dataset = Literal["semeval", "goemotions", "table"]

TABLE_FILES = ("train_file", "dev_file", "test_file")
TABLE_ONLY = (*TABLE_FILES, "text_column", "id_column", "labels_column", "emotions", "delimiter")


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

    def semeval_files(self, split: Split) -> list[tuple[SemEvalLanguage, Split]]:
        """The (language, file) pairs whose SemEval files make up ``split``."""
        if not self.multilingual:
            return [(self.language, split)]
        languages = {"train": self.train_languages, "dev": self.development_languages}
        chosen = languages.get(split, self.scored_languages)
        files = self.test_splits if split == "test" else [split]
        return [(language, file) for language in chosen for file in files]

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
        if self.dataset == "goemotions" and self.root is None:
            raise ValueError(
                "root is required for dataset goemotions (the folder holding train.tsv, dev.tsv, "
                "test.tsv and emotions.txt)"
            )
        demo = self.dataset == "semeval" and self.root is None
        if demo and (self.multilingual or self.language != "english"):
            raise ValueError("root: the demo data (root null) is English only; give a SemEval root")
        if self.dataset != "semeval" and (
            self.languages or self.eval_languages or self.dev_languages
        ):
            raise ValueError(
                "languages, eval_languages and dev_languages apply to dataset semeval only"
            )
        self._check_test_splits()
        for field in ("languages", "eval_languages", "dev_languages", "test_splits"):
            chosen = getattr(self, field) or []
            if len(set(chosen)) != len(chosen):
                raise ValueError(f"{field}: a language is listed twice")
        if self.dataset == "table":
            self._check_table()
        else:
            self._check_no_table_fields()
        return self

    def _check_test_splits(self) -> None:
        if self.test_splits == ["test"]:
            return
        if self.dataset != "semeval":
            raise ValueError("test_splits applies to dataset semeval only")
        seen = {*self.train_languages, *self.development_languages}
        if self.eval_languages is None or seen & set(self.eval_languages):
            raise ValueError(
                "test_splits: scoring train or dev files is only for zero-shot target languages: "
                "set eval_languages to languages that are neither in languages nor in "
                "dev_languages"
            )

    def _check_table(self) -> None:
        missing = [name for name in TABLE_FILES if getattr(self, name) is None]
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            raise ValueError(f"{', '.join(missing)} {verb} required for dataset table")
        if self.root is not None:
            raise ValueError(
                "root is not used by dataset table; give train_file, dev_file, test_file"
            )
        if self.emotions is not None and (problem := name_list_problem(self.emotions)):
            raise ValueError(f"emotions: {problem}")
        if self.labels_column is not None and self.labels_column == self.text_column:
            raise ValueError("labels_column and text_column name the same column")

    def _check_no_table_fields(self) -> None:
        # Compared with the defaults (not fields_set) so a dumped config validates again.
        defaults = DataConfig.model_fields
        for name in TABLE_ONLY:
            if getattr(self, name) != defaults[name].default:
                raise ValueError(f"{name} only applies to dataset table, not {self.dataset}")
