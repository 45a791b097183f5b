"""The values the command line's options and arguments take (docs/interface.md): ids, numbers
typed by people, page sizes and yes/no.

Only click and the standard library: every command module imports this before parsing.
"""

from __future__ import annotations

import re
from typing import Any

import click

#: ASCII digits of any length (a number too long for its pattern is out of range, not "not a
#: number").
_DIGITS = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _plain(number: float) -> str:
    """2147483647, 0.5: a bound as people write it."""
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


class AsciiNumber(click.ParamType):
    """A number in ASCII digits only (``int()`` and ``float()`` also take other scripts'
    digits, such as ``١٢٠``), within a range: an id never overflows a database integer."""

    def __init__(self, name: str, pattern: str, convert: Any, low: float, high: float) -> None:
        self.name = name
        self._pattern = re.compile(pattern)
        self._convert = convert
        self._low, self._high = low, high
        self._range = f"{_plain(low)} to {_plain(high)}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and self._pattern.fullmatch(value.strip()):
            number = self._convert(value.strip())
        elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
            shown = value.strip() if len(value.strip()) <= 20 else value.strip()[:20] + "…"
            self.fail(f"{shown} is out of range ({self._range})", param, ctx)
        else:
            self.fail(f"{value!r} is not a {self.name}", param, ctx)
        if not self._low <= number <= self._high:
            self.fail(f"{value} is out of range ({self._range})", param, ctx)
        return number


#: Ids of sessions, readings and flags: positive, within a 32-bit database integer.
ID = AsciiNumber("whole number", r"[0-9]{1,10}", int, 1, 2**31 - 1)
#: Whole numbers typed by people (age, dose number, minutes).
WHOLE = AsciiNumber("whole number", r"-?[0-9]{1,6}", int, -(10**6), 10**6)
#: Decimal numbers typed by people (mg, kg).
DECIMAL = AsciiNumber("number", r"[0-9]{1,6}(\.[0-9]{1,3})?", float, 0, 10**6)


class PageSize(click.ParamType):
    """A number of rows, in ASCII digits: at least one, at most a database integer."""

    name = "whole number"
    most = 2**31 - 1

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and re.fullmatch(r"[0-9]{1,40}", value.strip()):
            number = int(value.strip())
        else:
            shown = repr(value) if len(str(value)) <= 40 else repr(str(value)[:40]) + "..."
            self.fail(f"{shown} is not a whole number of rows (digits 0-9)", param, ctx)
        if not 1 <= number <= self.most:
            self.fail(f"{number} rows is out of range: 1 to {self.most}", param, ctx)
        return number


#: ``--limit``: how many rows a page holds.
LIMIT = PageSize()


def newest_sessions(default: int) -> Any:
    """The ``--limit`` option of a list of sessions shown a page at a time, newest first."""
    return click.option(
        "--limit",
        type=LIMIT,
        default=default,
        show_default=True,
        help="Show the newest N sessions (a page); stderr says when there are more.",
    )


YES_NO = click.Choice(["yes", "no"])


def yes_no(value: str | None) -> bool | None:
    """A :data:`YES_NO` option's value as a boolean (None when not given)."""
    return None if value is None else value == "yes"
