"""The desk's periods and dates: parsed as typed, said in one line."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from monitor.errors import EntryError
from monitor.timeparse import MAX_YEAR, parse_time

_DATE_ONLY = re.compile(r"\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*")


def local_day(day: date) -> tuple[datetime, datetime]:
    """A local calendar day as its first and last moment in UTC (a midnight the clock change
    skips or repeats is taken as the zone gives it)."""
    start = datetime.combine(day, time.min).astimezone(UTC)
    following = datetime.combine(day + timedelta(days=1), time.min).astimezone(UTC)
    return start, following - timedelta(microseconds=1)


def parse_period(
    since_text: str, until_text: str, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """A typed period as the command line reads ``--from``/``--to``: ISO 8601 (local time
    without an offset), ``now`` or ``N min ago``; a date alone is its midnight, and as the end
    the whole of that day. Blank: open on that side. EntryError says what to fix."""
    since = parse_time(since_text, now) if since_text.strip() else None
    until = None
    if until_text.strip():
        until = parse_time(until_text, now)
        if _DATE_ONLY.fullmatch(until_text):
            day = date.fromisoformat(until_text.strip())
            if day.year < MAX_YEAR:
                until = local_day(day)[1]
    if since is not None and until is not None and since > until:
        raise EntryError("the period ends before it begins: give the earlier time first")
    return since, until


def when(moment: datetime, *, seconds: bool = False) -> str:
    """A moment as local time with its day: ``Fri 27 Nov 2026 16:28``."""
    return moment.astimezone().strftime(f"%a %d %b %Y %H:%M{':%S' if seconds else ''}")


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


def plural(count: int, word: str) -> str:
    """``1 session``, ``2 sessions``."""
    return f"{count} {word}{'' if count == 1 else 's'}"
