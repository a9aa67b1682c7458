"""Validation of the study's configuration against its JSON schema, with readable errors."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import jsonschema
import yaml

from .search import grid_values


class ConfigError(ValueError):
    """The configuration breaks the schema; the message lists every problem."""


def _where(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _describe(error: jsonschema.ValidationError) -> str:
    where = _where(error.absolute_path)
    schema = error.schema
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {}))) or "none"
        return f"{where}: {error.message}; the allowed keys here are: {allowed}"
    if error.validator == "enum":
        return f"{where} = {error.instance!r}: must be one of {', '.join(map(repr, schema['enum']))}"
    if error.validator == "oneOf":
        return f"{where} = {error.instance!r}: must be {error.schema.get('description', 'one of the allowed forms')}"
    hint = f" ({schema['description']})" if isinstance(schema, Mapping) and "description" in schema else ""
    return f"{where} = {error.instance!r}: {error.message}{hint}"


def validate_config(config: Mapping, schema_path: str | Path) -> None:
    """Raise ConfigError listing every way ``config`` breaks the schema, and grids that cannot be built."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    problems = [_describe(e) for e in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))]
    if not problems:
        for grid in ("coarse", "fine"):
            for axis in ("learning_rates", "regularizations"):
                try:
                    values = grid_values(config[grid][axis])
                except ValueError as error:
                    problems.append(f"{grid}.{axis}: {error}")
                    continue
                if axis == "learning_rates" and min(values) <= 0:
                    problems.append(f"{grid}.{axis}: every learning rate must be > 0, got {values}")
                if axis == "regularizations" and min(values) < 0:
                    problems.append(f"{grid}.{axis}: every regularization must be >= 0, got {values}")
        for name, spec in config["gradcheck"]["networks"].items():
            if len(spec["regularization"]) not in (1, len(spec["hidden_sizes"]) + 1):
                problems.append(
                    f"gradcheck.networks.{name}.regularization: give 1 value or one per linear layer "
                    f"({len(spec['hidden_sizes']) + 1}), got {len(spec['regularization'])}"
                )
    if problems:
        raise ConfigError(
            "The configuration is invalid, so no job was started. Fix these keys in config.yaml "
            "(or in the file given with --configfile / the values given with --config):\n  - "
            + "\n  - ".join(problems)
        )
