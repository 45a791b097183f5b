"""The clinic's TOML files (docs/configuration.md): a station's ``--config`` (its own settings
only, the font files it names checked), a rules file for ``monitor config load`` and
``monitor db upgrade``, and a version written out as a loadable file (``monitor config
export``)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from monitor.core.config import (
    RULE_KEYS,
    RULES_TEXT_MAX,
    STATION_KEYS,
    ClinicConfig,
    parse_toml,
    rules_from_mapping,
    rules_mapping,
    station_from_mapping,
)
from monitor.errors import ConfigError

CONFIG_ENV = "MONITOR_CONFIG"
#: The longest file read, in bytes (a rules document is at most RULES_TEXT_MAX characters).
FILE_MAX_BYTES = RULES_TEXT_MAX
#: The most fallback font files a station's ``pdf_fonts`` names (docs/exports.md, "Fonts").
PDF_FONTS_MAX = 20
#: The first four bytes of a TrueType or OpenType font file, or of a collection of them.
FONT_SIGNATURES = (b"\x00\x01\x00\x00", b"OTTO", b"true", b"ttcf")


def read_text(path: str | os.PathLike[str], what: str = "config file") -> str:
    """A small UTF-8 text file; a one-line refusal for a missing, unreadable, huge or binary
    one, and for anything but a regular file (nothing larger than :data:`FILE_MAX_BYTES` is
    read).

    The file is opened without blocking and its type checked on the open descriptor before a
    byte is read: a FIFO would otherwise wait for a writer forever, and a device (``/dev/zero``)
    is not a configuration (docs/configuration.md, "Files")."""
    file = Path(path).expanduser()
    data = _read(file, what, FILE_MAX_BYTES + 1, "name a TOML file")
    if len(data) > FILE_MAX_BYTES:
        raise ConfigError(f"{what} {file} is larger than {FILE_MAX_BYTES // 1024} KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {file} is not UTF-8 text") from None


def _read(file: Path, what: str, size: int, hint: str) -> bytes:
    """At most ``size`` bytes of a regular file, opened without blocking (:func:`read_text`);
    a one-line refusal naming ``what`` and, for anything but a file, saying ``hint``."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        descriptor = os.open(file, flags)
    except FileNotFoundError:
        raise ConfigError(f"{what} {file} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} {file} is a folder, not a file") from None
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(f"{what} {file} cannot be read: {reason}") from None
    try:
        kind = _not_a_file(os.fstat(descriptor).st_mode)
        if kind is not None:
            raise ConfigError(f"{what} {file} is {kind}, not a file: {hint}")
        # O_NONBLOCK changes nothing for a regular file: reading it waits only for the disk.
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            return handle.read(size)
    except OSError as error:
        raise ConfigError(f"{what} {file} cannot be read: {error.strerror}") from None
    finally:
        os.close(descriptor)


def _not_a_file(mode: int) -> str | None:
    """What a file of ``mode`` is when it is not a regular file (``None`` when it is)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def load_config(path: str | os.PathLike[str] | None = None) -> ClinicConfig:
    """A station's settings: the defaults, with ``clinic_name``, ``bays``, ``idle_lock_min``
    and ``pdf_fonts`` from ``path`` if given. A clinical rule there is refused, naming
    ``monitor config load`` (the clinic's rules live in the database); so is a missing,
    unreadable or invalid file, and a font file that is missing or not a font, in one line."""
    if path is None or str(path) == "":
        return ClinicConfig()
    file = Path(path).expanduser()
    text = read_text(file, "config file")
    data = parse_toml(text, f"config file {file}")
    config = station_from_mapping(data, str(file))
    if "pdf_fonts" not in data:
        return config
    fonts = pdf_fonts(data["pdf_fonts"], file)
    return replace(config, pdf_fonts=fonts, sources={**config.sources, "pdf_fonts": str(file)})


def pdf_fonts(value: object, config: Path) -> tuple[str, ...]:
    """``pdf_fonts`` of the config file ``config``: a list of font files (TrueType, OpenType
    or a collection of them), a relative path taken from the config file's folder. Each
    must be a regular file that can be read and begins as a font does; whether it holds the
    characters wanted is seen when a PDF needs it (docs/exports.md, "Fonts")."""
    if (
        not isinstance(value, list)
        or len(value) > PDF_FONTS_MAX
        or not all(isinstance(p, str) and p.strip() and p.isprintable() for p in value)
    ):
        raise ConfigError(
            f"config file {config}: pdf_fonts must be a list of at most {PDF_FONTS_MAX} font "
            'files, e.g. pdf_fonts = ["/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"]'
        )
    files = []
    for text in value:
        file = Path(text.strip()).expanduser()
        file = file if file.is_absolute() else config.parent / file
        what = f"config file {config}: pdf_fonts: font file"
        if _read(file, what, 4, "name a .ttf, .otf or .ttc file") not in FONT_SIGNATURES:
            raise ConfigError(
                f"{what} {file} is not a TrueType or OpenType font (.ttf, .otf, .ttc)"
            )
        files.append(str(file))
    return tuple(files)


def read_rules(path: str | os.PathLike[str]) -> tuple[str, str]:
    """A rules file for ``monitor config load``: its text and its name (the version's
    source). The text is checked when it is loaded."""
    file = Path(path).expanduser()
    return read_text(file, "rules file"), file.name


def upgrade_rules(
    path: str | os.PathLike[str], accepted: Callable[[], None] = lambda: None
) -> dict[str, str] | None:
    """The clinical part of a clinic's ``--config`` file given to ``monitor db upgrade``, as
    version 1's body and source (``None`` when it holds no clinical rule), checked as any
    version is: unknown keys, bad values, the safety floors. ``accepted`` is asked first
    whether the database takes a rules file at all (it raises the refusal). A file with
    nothing but rules is kept as written (its comments too); otherwise its rules are written
    out without the station's settings."""
    file = Path(path).expanduser()
    text = read_text(file, "config file")
    data = parse_toml(text, f"config file {file}")
    unknown = sorted(set(data) - RULE_KEYS - STATION_KEYS)
    if unknown:
        known = ", ".join(sorted(RULE_KEYS | STATION_KEYS))
        raise ConfigError(f"config file {file}: unknown key '{unknown[0]}'; known here: {known}")
    station_from_mapping({k: v for k, v in data.items() if k in STATION_KEYS}, str(file))
    rules = {k: v for k, v in data.items() if k in RULE_KEYS}
    if not rules:
        return None
    accepted()
    try:
        rules_from_mapping(rules, file.name)
    except ConfigError as error:
        detail = str(error).removeprefix("config: ")
        raise ConfigError(f"config file {file}: {detail}; nothing was changed") from None
    body = text if set(data) <= RULE_KEYS else write_toml(rules)
    return {"body": body, "source": file.name[:200]}


def write_toml(document: dict[str, Any]) -> str:
    """A mapping as TOML text (tomli-w: a maintained writer, the reverse of ``tomllib``)."""
    import tomli_w

    return tomli_w.dumps(document)


def rules_toml(config: ClinicConfig, heading: str) -> str:
    """Every rule of ``config`` as a loadable TOML file, ``heading`` as its first comment."""
    comment = "".join(f"# {line}\n" for line in heading.splitlines())
    return comment + "\n" + write_toml(rules_mapping(config))
