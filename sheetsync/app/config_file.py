"""Reading the YAML config file; the schema and its validation are in sheetsync.core.config."""

from __future__ import annotations

from pathlib import Path

import yaml

from sheetsync.core.config import Config, parse
from sheetsync.core.errors import ConfigError


def load(path: Path) -> Config:
    """Read and validate a config file; raise ConfigError listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([f"cannot read the config file: {error.strerror}"], str(path)) from error
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise ConfigError(
            [f"not valid YAML{line}: {getattr(error, 'problem', error)}"], str(path)
        ) from error
    return parse(data, str(path), base_dir=path.parent)
