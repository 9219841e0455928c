"""One-line messages for configuration errors, naming the file and the field."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

# Whatever str.splitlines() splits on, and the other control characters a terminal acts on.
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class ConfigError(ValueError):
    """A configuration that cannot be used; ``str()`` is the one-line message for the user."""

    def __init__(self, message: str) -> None:
        # Field names and values come from the user's file: a key holding a newline must not
        # split the message, so control characters are shown escaped, as Python writes them.
        super().__init__(_LINE_BREAKING.sub(lambda m: repr(m.group())[1:-1], message))


# The members pydantic names in the location of a union's errors ("bool", "list[str]").
_PRIMITIVES = {"bool", "int", "float", "str", "none"}
# What a value of the wrong type should have been, for a value that no union member takes.
_KINDS = {"bool_type": "a boolean", "bool_parsing": "a boolean", "int_type": "an integer",
          "int_parsing": "an integer", "int_from_float": "an integer", "float_type": "a number",
          "float_parsing": "a number", "string_type": "a string", "list_type": "a list",
          "dict_type": "a mapping", "model_type": "a mapping", "path_type": "a path",
          "literal_error": "", "none_required": "null"}  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """The first problem of a pydantic error, located as the user wrote the fields."""

    loc: tuple[str, ...]
    message: str
    more: int  # further problems elsewhere

    def text(self) -> str:
        suffix = f" (and {self.more} more problem{'s' * (self.more > 1)})" if self.more else ""
        return self.message + suffix


def first_problem(error: ValidationError, model: type[BaseModel] | None = None) -> Problem:
    """The first problem of ``error``. A value that no member of a union takes makes one error
    per member, each located under the member's name: those are one problem, told by its most
    telling error (a NaN: "a finite number", not "a valid boolean"). With ``model``, the one
    validated, an unknown field is told the nearest field of its section."""
    errors = error.errors()
    first = errors[0]
    own = first["loc"][:-1] if first["type"] == "extra_forbidden" else first["loc"]
    split = next((i for i, part in enumerate(own) if _is_member(part)), None)
    if split is None:
        problem = Problem(_plain(first), _message(first), len(errors) - 1)
    else:
        siblings = [e for e in errors if e["loc"][:split] == first["loc"][:split]]
        problem = _union_problem(siblings, len(errors) - len(siblings))
    if model is None or problem.message != UNKNOWN or not problem.loc:
        return problem
    *section, name = problem.loc
    hint = did_you_mean(name, field_names(model, section))
    return Problem(problem.loc, problem.message + hint, problem.more)


UNKNOWN = "unknown field"


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``; did you mean local?`` for the known name nearest to ``name``, else nothing."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]}?" if close else ""


def field_names(model: type[BaseModel], section: Sequence[str]) -> list[str]:
    """The fields of the section at ``section`` below ``model``: a field that holds models
    leads to theirs; a mapping's key or a list's index stays at the models it holds."""
    models = [model]
    for part in section:
        owners = [m for m in models if part in m.model_fields]
        if owners:
            models = [inner for m in owners for inner in _models(m.model_fields[part].annotation)]
    return sorted({name for m in models for name in m.model_fields})


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation holds (``DataConfig | None``, ``dict[str, SearchParam]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models(arg)]


def _union_problem(siblings: list[ErrorDetails], more: int) -> Problem:
    """The deepest of the members' errors (the member that took the value furthest)."""
    deepest = max(len(_plain(e)) for e in siblings)
    candidates = [e for e in siblings if len(_plain(e)) == deepest]
    telling = [e for e in candidates if e["type"] not in _KINDS]
    if telling or len(candidates) == 1:
        chosen = (telling or candidates)[0]
        return Problem(_plain(chosen), _message(chosen), more)
    kinds = [_KINDS[e["type"]] or e["msg"].removeprefix("Input should be ") for e in candidates]
    unique = list(dict.fromkeys(kinds))
    listed = ", ".join(unique[:-1]) + f" or {unique[-1]}" if len(unique) > 1 else unique[0]
    return Problem(_plain(candidates[0]), f"Input should be {listed}", more)


def describe_validation_error(
    error: ValidationError,
    source: str | Path,
    prefix: str = "",
    model: type[BaseModel] | None = None,
) -> ConfigError:
    """The first problem of a pydantic error as ``source: field.path: message`` (``model``:
    the one validated, to suggest a field for an unknown one)."""
    problem = first_problem(error, model)
    where = ".".join([*(prefix.split(".") if prefix else []), *problem.loc])
    return ConfigError(f"{source}: {where or '(top level)'}: {problem.text()}")


def _is_member(part: str | int) -> bool:
    return isinstance(part, str) and ("[" in part or part in _PRIMITIVES)


def _plain(error: ErrorDetails) -> tuple[str, ...]:
    if not error["loc"]:
        return ()
    *path, last = error["loc"]
    kept = [part for part in path if not _is_member(part)]
    # An unknown field is the user's own name, whatever it looks like.
    if error["type"] == "extra_forbidden" or not _is_member(last):
        kept.append(last)
    return tuple(str(part) for part in kept)


def _message(error: ErrorDetails) -> str:
    if error["type"] == "extra_forbidden":
        return UNKNOWN
    if error["type"] == "model_type":  # pydantic names the class ("instance of EncoderConfig")
        return "Input should be a mapping of fields"
    return error["msg"]


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """A YAML file whose top level is a mapping, or a ``ConfigError`` naming the file."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"{path}: cannot read ({err.strerror})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not valid YAML ({_one_line(err)})") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of fields")
    return loaded


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
