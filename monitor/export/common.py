"""Small formatting shared by the export formats: times, yes/no, flags in words."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from monitor.core.rules import Severity
from monitor.unreadable import Unreadable


class FlagLike(Protocol):
    """A flag with its acknowledgement (:class:`monitor.views.FlagView` or the CSV's row)."""

    @property
    def id(self) -> int: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def rule(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def acknowledged_at(self) -> datetime | str | None: ...
    @property
    def acknowledged_by(self) -> str | None: ...
    @property
    def action(self) -> str | None: ...
    @property
    def unreadable(self) -> Unreadable | None: ...


def iso(moment: datetime | None) -> str:
    """ISO 8601 with its offset (times are kept in UTC: ``+00:00``), or empty."""
    return "" if moment is None else moment.isoformat()


def yes_no(value: bool | None) -> str:
    """``yes``, ``no``, or empty when not recorded."""
    return "" if value is None else ("yes" if value else "no")


def minutes_after(start: datetime | None, moment: datetime) -> float | None:
    """Minutes from ``start`` (the dose) to ``moment``, negative before; None without one."""
    if start is None:
        return None
    return (moment - start).total_seconds() / 60


def severity_text(flag: FlagLike) -> str:
    """``high``; a severity that could not be read says so (it counts as high: docs/storage.md,
    "Unreadable records")."""
    if flag.unreadable is not None:
        return f"{flag.severity.value} (severity UNREADABLE: {flag.unreadable.why})"
    return flag.severity.value


def flag_text(flag: FlagLike) -> str:
    """``!!! high: SBP 182 >= 180: severe elevation (flag 12, systolic.high.above)``."""
    return (
        f"{flag.severity.symbol} {severity_text(flag)}: {flag.message} "
        f"(flag {flag.id}, {flag.rule})"
    )


def ack_text(flag: FlagLike) -> str:
    """``flag 12: acknowledged by ana at 2026-11-27T09:42:00+00:00: rechecked`` or
    ``flag 12: not acknowledged``."""
    at = flag.acknowledged_at
    if at is None:
        return f"flag {flag.id}: not acknowledged"
    shown = at if isinstance(at, str) else iso(at)  # the CSV's rows carry it written out
    return f"flag {flag.id}: acknowledged by {flag.acknowledged_by} at {shown}: {flag.action}"


def local(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) time in this machine's local time, or ``-``."""
    return "-" if moment is None else moment.astimezone().strftime(pattern)
