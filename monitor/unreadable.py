"""Stored values that cannot be read: a marker instead of a traceback (docs/storage.md,
"Unreadable records").

The record keeps some values as text that the code parses when it reads them: the gate stored
at discharge and the REMS proposals at discharge (JSON), the rules versions (TOML), and names
the code turns into its own types (a session's protocol and medication, a flag's severity).
The database checks none of their content, so a row written around the services (raw SQL, a
foreign program, a forged discharge) can hold a value the code cannot read. Such a value must
never take down a list, a report, an export or a supervisor's queue of many sessions: where it
is read, :func:`read` turns the failure into an :class:`Unreadable` marker for that one item,
every face shows it (``session 5: stored gate unreadable (no 'protocol')``), and the rest of
the record is read as usual. One helper, used by every read, rather than a ``try`` at each.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from monitor.errors import Refused

T = TypeVar("T")

#: What parsing a malformed stored value raises: a document that does not parse or a name the
#: code does not know (``ValueError``: JSON, TOML, an enum, a time), a key or an item missing
#: (``KeyError``, ``IndexError``), a value of another type than the one kept there
#: (``TypeError``, ``AttributeError``), a rule lookup that refuses it (``Refused``: an unknown
#: protocol, a rules version that does not exist, medication not understood).
PARSE_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    Refused,
)

#: The parts of a session that are read from stored text (the ``part`` of a marker).
STORED_GATE = "stored gate"
SCHEDULE = "schedule"
RULES = "rules in force"
MEDICATION = "medication"
REMS_AT_DISCHARGE = "REMS answers at discharge"
SEVERITY = "severity"
VALUES = "values"
NUMBERS = "numbers"
#: The whole session, when even its readable parts could not be put together, and its
#: readings then.
RECORD = "record"
READINGS = "readings"

#: The longest reason a marker carries (the stored value may be long, or anything at all).
WHY_MAX = 80


@dataclass(frozen=True)
class Unreadable:
    """One stored value that could not be read: which record (``session 5``, ``flag 12``),
    which part of it, and why, in words a supervisor can pass on."""

    record: str
    part: str
    why: str

    def __str__(self) -> str:
        return f"{self.record}: {self.part} unreadable ({self.why})"


def _clip(text: str) -> str:
    """One printable line of at most :data:`WHY_MAX` characters (the stored value is
    anyone's text: no control characters reach a terminal)."""
    line = "".join(c if c.isprintable() else "?" for c in " ".join(text.split()))
    return line if len(line) <= WHY_MAX else line[: WHY_MAX - 1] + "…"


def reason(error: BaseException) -> str:
    """Why a stored value could not be read, on one short line."""
    if isinstance(error, json.JSONDecodeError):
        return "not JSON"
    if isinstance(error, KeyError):
        return _clip(f"no {error.args[0]!r}" if error.args else "a key is missing")
    said = str(error).strip()
    return _clip(said) if said else type(error).__name__


def read(parse: Callable[[], T], record: str, part: str) -> T | Unreadable:
    """``parse()``, or the marker of ``record``'s ``part`` when the stored value it reads
    cannot be read (:data:`PARSE_ERRORS`)."""
    try:
        return parse()
    except PARSE_ERRORS as error:
        return Unreadable(record, part, reason(error))
