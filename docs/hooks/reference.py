"""MkDocs hook: the configuration and sweep-file reference pages, rendered at build time from
the pydantic models' fields (name, type, default, description), so they cannot drift from the
code. Pages: reference/training.md (emotrain's TrainConfig and its sections) and
reference/sweep.md (orchestrator's SweepSpec)."""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # the checkout being documented, not an installed copy


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (itself, or inside Optional, lists, dicts)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for arg in typing.get_args(annotation):
        found += [model for model in _models(arg) if model not in found]
    return found


def _type(annotation: Any) -> str:
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " | ".join(repr(arg) for arg in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join("None" if arg is type(None) else _type(arg) for arg in args)
    if origin is typing.Annotated:
        return _type(args[0])
    name = getattr(origin, "__name__", str(origin))
    return f"{name}[{', '.join(_type(arg) for arg in args)}]" if args else name


def _default(field: Any) -> str:
    if field.default is PydanticUndefined:
        return "required"
    value = field.default
    if isinstance(value, BaseModel):
        changed = value.model_dump(mode="json", exclude_defaults=True)
        return f"`{changed}`, the rest below" if changed else "see below"
    if isinstance(value, Path):
        value = str(value)
    return f"`{value!r}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render(root: type[BaseModel], title: str, intro: str) -> str:
    """One table per model, depth first from ``root``; a field that is a model links to its
    own table."""
    lines = [f"# {title}", "", intro, ""]
    done: set[type[BaseModel]] = set()
    queue: list[tuple[str, type[BaseModel]]] = [("", root)]
    while queue:
        prefix, model = queue.pop(0)
        if model in done:
            continue
        done.add(model)
        heading = f"`{prefix.rstrip('.')}`" if prefix else "top level"
        lines += [f"## {heading}", ""]
        if model.__doc__ and model is not root:
            lines += [_cell(model.__doc__), ""]
        lines += ["| field | type | default | description |", "|---|---|---|---|"]
        for name, field in model.model_fields.items():
            nested = _models(field.annotation)
            described = field.description or (nested[0].__doc__ if nested else "") or ""
            lines.append(
                f"| `{prefix}{name}` | {_cell(_type(field.annotation))} | {_default(field)} "
                f"| {_cell(described)} |"
            )
            queue += [(f"{prefix}{name}.", sub) for sub in nested if sub not in done]
        lines.append("")
    return "\n".join(lines)


def pages() -> dict[str, str]:
    from emotrain.config import TrainConfig
    from orchestrator.spec.sweep import SweepSpec

    return {
        "reference/training.md": render(
            TrainConfig,
            "Training configuration reference",
            "Every option of `emotrain.config.TrainConfig`, as `python -m emotrain "
            "--config run.yaml` and a sweep file's `base` take it, generated from the code's "
            "field descriptions. Nested options are written with dots (`loss.alpha`). "
            "See [Training](../training.md).",
        ),
        "reference/sweep.md": render(
            SweepSpec,
            "Sweep-file reference",
            "Every field of a sweep file (`orchestrator.spec.sweep.SweepSpec`), generated from the "
            "code's field descriptions. `base` is a training configuration "
            "([reference](training.md)); `grid` and `search.space` name training options with "
            "dots. See [Sweeps](../sweeps.md).",
        ),
    }


def on_files(files: Files, config: Any) -> Files:
    for uri, content in pages().items():
        files.append(File.generated(config, uri, content=content))
    return files
