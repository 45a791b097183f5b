"""The desk's periods and days said in words (monitor/periods.py reads what is typed)."""

from __future__ import annotations

from datetime import date, datetime

from monitor.periods import local_day
from monitor.present.parts import when


def day_text(day: date | None) -> str:
    """``Fri 27 Nov`` or ``-``."""
    return "-" if day is None else day.strftime("%a %d %b")


def period_text(since: datetime | None, until: datetime | None) -> str:
    """A period in words: whole local days by their dates, other moments with the time."""
    first = None if since is None else since.astimezone().date()
    last = None if until is None else until.astimezone().date()
    if (
        first is not None
        and last is not None
        and since == local_day(first)[0]
        and until == local_day(last)[1]
    ):
        if first == last:
            return f"{day_text(first)} {first.year}"
        return f"{day_text(first)} to {day_text(last)} {last.year}"
    start = "the start" if since is None else when(since)
    end = "now" if until is None else when(until)
    return f"{start} to {end}"
