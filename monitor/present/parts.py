"""The pieces every story is made of: text with a role, so each face styles it its own way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from monitor.core.rules import Severity


class Role(StrEnum):
    """How a piece of a line is meant to be read (each face picks its own style)."""

    PLAIN = "plain"
    #: A heading of a part of the story.
    HEADING = "heading"
    #: The main fact of the line (values, what was done).
    STRONG = "strong"
    #: No longer in force: a corrected reading's original values, a voided reading.
    STRUCK = "struck"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    #: Done, acknowledged, gate met, reviewed.
    OK = "ok"
    #: Late, a late entry, an override, a reopening.
    WARN = "warn"
    #: Missed, not acknowledged, voided, a serious adverse event, gate not met.
    ALERT = "alert"
    #: Who, when and why.
    NOTE = "note"


#: The role of each flag severity.
SEVERITY_ROLE = {Severity.HIGH: Role.HIGH, Severity.MEDIUM: Role.MEDIUM, Severity.LOW: Role.LOW}


@dataclass(frozen=True)
class Part:
    """A piece of text and how it is meant to be read."""

    text: str
    role: Role = Role.PLAIN


#: One line of a story: its pieces in order.
Line = tuple[Part, ...]


def plain(line: Line) -> str:
    """A line as plain text."""
    return "".join(part.text for part in line)


@dataclass(frozen=True)
class Row:
    """A labelled fact of a story: the label, the value, and lines under it (evidence, the
    items of a list)."""

    label: str
    value: Line
    notes: tuple[Line, ...] = ()


def plural(count: int, word: str) -> str:
    """``1 session``, ``2 sessions``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def local_minute(moment: datetime | None) -> str:
    """A moment as local ``2026-11-27 16:28`` (``-`` for none), as the command line gives
    times."""
    return "-" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M")


def when(moment: datetime, *, seconds: bool = False) -> str:
    """A moment as local time with its day, as the station gives times:
    ``Fri 27 Nov 2026 16:28``."""
    return moment.astimezone().strftime(f"%a %d %b %Y %H:%M{':%S' if seconds else ''}")


def clock(moment: datetime | None, day_of: datetime | None = None) -> str:
    """A stored (UTC) time as local ``HH:MM``, or ``-``; ``27 Nov 12:40`` when it falls on
    another local day than ``day_of``."""
    if moment is None:
        return "-"
    local = moment.astimezone()
    if day_of is not None and local.date() != day_of.astimezone().date():
        return local.strftime("%d %b %H:%M")
    return local.strftime("%H:%M")
