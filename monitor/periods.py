"""Periods people type: a ``--from``/``--to`` pair, or a local calendar day (docs/interface.md).

One reading for every face: the command line's ``--from``/``--to`` and the station's From and
To fields (:func:`typed_period`). A time is what :func:`monitor.timeparse.parse_time` accepts
(:data:`monitor.timeforms.TIME_FORMS`: ``HH:MM`` in the last 12 h, ``now``, ``90 min ago``,
``-90``, ISO 8601 with local time without an offset); a date alone is its local midnight, and
as the end of a period it takes in that whole day, so that ``--from D --to D`` is the day D.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from monitor.errors import EntryError
from monitor.timeparse import MAX_YEAR, parse_time

_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def date_only(text: str) -> date | None:
    """The day ``text`` names when it is a date alone (``2026-11-27``), else None."""
    value = text.strip()
    if not _DATE_ONLY.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:  # 2026-13-45: not a day (parse_time says why)
        return None


def parse_period(
    since: str | None, until: str | None, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """``since`` and ``until`` as aware UTC times; None leaves that side open.

    A date alone as ``until`` ends with the last microsecond of that local day (open when the
    next day is past :data:`~monitor.timeparse.MAX_YEAR`). Raises EntryError for a time that
    cannot be read, including a local midnight that the clock change skips or repeats. Whether
    the period ends before it begins is for the caller (the services refuse it)."""
    start = None if since is None else parse_time(since, now)
    end = None if until is None else parse_time(until, now)
    day = None if until is None else date_only(until)
    if day is not None:
        following = day + timedelta(days=1)
        # The next midnight, read as a typed time would be (refused if it is ambiguous).
        end = (
            parse_time(following.isoformat(), now) - timedelta(microseconds=1)
            if following.year <= MAX_YEAR
            else None
        )
    return start, end


def typed_period(since: str, until: str, now: datetime) -> tuple[datetime | None, datetime | None]:
    """A period typed in two fields, as :func:`parse_period` reads it; a blank field leaves
    that side open. Raises EntryError for a time that cannot be read and for a period that
    ends before it begins (said before anything is read with it)."""
    start, end = parse_period(
        since if since.strip() else None, until if until.strip() else None, now
    )
    if start is not None and end is not None and start > end:
        raise EntryError("the period ends before it begins: give the earlier time first")
    return start, end


def local_day(day: date) -> tuple[datetime, datetime]:
    """A local calendar day as its first and last moment in UTC (a midnight the clock change
    skips or repeats is taken as the zone gives it)."""
    start = datetime.combine(day, time.min).astimezone(UTC)
    following = datetime.combine(day + timedelta(days=1), time.min).astimezone(UTC)
    return start, following - timedelta(microseconds=1)
