"""One-line messages for configuration errors, naming the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


class ConfigError(ValueError):
    """A configuration that cannot be used; ``str()`` is the one-line message for the user."""


def describe(error: ValidationError, source: str | Path, prefix: str = "") -> ConfigError:
    """The first problem of a pydantic error as ``source: field.path: message``."""
    first = error.errors()[0]
    parts = [*(prefix.split(".") if prefix else []), *(str(part) for part in first["loc"])]
    where = ".".join(parts)
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    more = len(error.errors()) - 1
    suffix = f" (and {more} more problem{'s' * (more > 1)})" if more else ""
    return ConfigError(f"{source}: {where or '(top level)'}: {message}{suffix}")


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
