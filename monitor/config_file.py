"""Reading the clinic configuration file (TOML) into a :class:`ClinicConfig`."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from monitor.core.config import ClinicConfig, config_from_mapping
from monitor.errors import ConfigError

CONFIG_ENV = "MONITOR_CONFIG"


def load_config(path: str | os.PathLike[str] | None = None) -> ClinicConfig:
    """The configuration in force: the shipped defaults, overridden by ``path`` if given.

    Raises :class:`ConfigError` with a one-line message for a missing, unreadable or
    invalid file.
    """
    if path is None or str(path) == "":
        return ClinicConfig()
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file {file} not found: check --config or MONITOR_CONFIG"
        ) from None
    except OSError as error:
        raise ConfigError(f"config file {file} cannot be read: {error.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {file} is not valid TOML: {error}") from None
    return config_from_mapping(data, source=str(file))
