"""Reading the times people type, the one parser for every face (docs/interface.md, "Times").

The station's entry line (``142/88 @ 10:28``), the correction dialog, the dialogs' "min ago"
fields and every command-line ``--at``, ``--from`` and ``--to`` read a time here, so each
takes the same forms (:data:`monitor.timeforms.TIME_FORMS`) and refuses with the same words:

- ``now``; ``5 min ago`` or ``-5`` (minutes before now);
- ``HH:MM`` (24 h), a local time of day: the latest one at most 2 min ahead of now (today's,
  or yesterday's when today's has not come yet), and refused when that is more than 12 h ago.
  An observation lasts about two hours: a time of day that lands on a surprising day is a
  typo or a reading of another day, so it is refused, naming the date to type instead.
  The rule is the same everywhere, a correction's ``@ TIME`` too (a reading of an earlier
  day is corrected with its date, in ISO 8601): a correction passes ``example`` (the
  reading's own time) only so that a refusal's example names the reading's day;
- ISO 8601: without an offset it is local time.

A local time the clock change repeats or skips is refused, asking for an offset.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from monitor.core.entry import cut
from monitor.core.vitals import MAX_FUTURE
from monitor.errors import EntryError
from monitor.timeforms import TIME_FORMS

_AGO = re.compile(r"^\s*([0-9]{1,4})\s*(m|min|mins|minute|minutes)?\s*ago\s*$", re.IGNORECASE)
_MINUS = re.compile(r"^\s*-\s*([0-9]{1,4})\s*(m|min|mins|minutes)?\s*$", re.IGNORECASE)
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})")
#: Years outside this range are refused before any conversion (which could overflow).
MIN_YEAR, MAX_YEAR = 2000, 2999
#: How far back a time of day without a date may reach.
CLOCK_BACK = timedelta(hours=12)


def parse_time(text: str, now: datetime, *, example: datetime | None = None) -> datetime:
    """An aware UTC datetime from ``text``, in one of :data:`~monitor.timeforms.TIME_FORMS`.

    ``now``: the clock's time, for ``now``, ``5 min ago`` and a time of day. ``example``:
    for a correction, the time being corrected, whose day a refused time of day's example
    names (it never changes what a time of day means). Raises EntryError, saying what to
    type instead."""
    return _read(text, now, example, TIME_FORMS)


def _read(text: str, now: datetime, example: datetime | None, forms: str) -> datetime:
    """:func:`parse_time`, refusing what it cannot read with ``forms`` (the forms accepted)."""
    value = text.strip()
    if value.lower() == "now":
        return now.astimezone(UTC)
    relative = _AGO.match(value) or _MINUS.match(value)
    if relative:
        return (now - timedelta(minutes=int(relative.group(1)))).astimezone(UTC)
    clock = _CLOCK.fullmatch(value)
    if clock:
        return _time_of_day(value, int(clock[1]), int(clock[2]), now, example)
    try:
        moment = datetime.fromisoformat(
            value.replace("Z", "+00:00") if value.endswith("Z") else value
        )
    except ValueError:
        raise EntryError(f"time '{cut(text)}' is not understood: give {forms}") from None
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise EntryError(
            f"time '{cut(text)}' is out of range: give a year from {MIN_YEAR} to {MAX_YEAR}"
        )
    if moment.tzinfo is None:
        moment = local_to_utc(moment, text)  # local time, as docs/interface.md, "Times", says
    return moment.astimezone(UTC)


def parse_minutes_ago_or_time(text: str, now: datetime, *, high: int = 600) -> datetime | None:
    """A field labelled "min ago": blank is ``None`` (now), a bare whole number is that many
    minutes before ``now`` (0 to ``high``), anything else a time as :func:`parse_time`
    reads it (``10:28``, ``5 min ago``, ISO 8601). Raises EntryError."""
    value = text.strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        if len(value) > 6 or int(value) > high:
            raise EntryError(
                f"minutes ago '{cut(value)}' is more than {high}: give 0 to {high}, "
                "or the time itself (HH:MM or ISO 8601)"
            )
        return (now - timedelta(minutes=int(value))).astimezone(UTC)
    return _read(value, now, None, f"minutes ago (e.g. 5), {TIME_FORMS}")


def _time_of_day(
    text: str, hour: int, minute: int, now: datetime, example: datetime | None
) -> datetime:
    """``HH:MM`` as a local time: the latest one at most 2 min after ``now``, refused when
    that is more than :data:`CLOCK_BACK` before ``now``; the refusal's example is on
    ``example``'s local day if given."""
    if hour > 23 or minute > 59:
        raise EntryError(f"time '{cut(text)}' is not a time of day: HH:MM runs from 00:00 to 23:59")
    wall = time(hour, minute)
    latest = now + MAX_FUTURE
    chosen = datetime.combine(latest.astimezone().date(), wall)
    later_than_now = chosen.astimezone(UTC) > latest
    if later_than_now:
        chosen -= timedelta(days=1)
    moment = local_to_utc(chosen, text)
    if now - moment > CLOCK_BACK:
        instead = chosen
        if example is not None:  # the reading's day, unless that time is yet to come
            on_its_day = datetime.combine(example.astimezone().date(), wall)
            if on_its_day.astimezone(UTC) <= latest:
                instead = on_its_day
        dated = instead.isoformat(timespec="minutes")
        if later_than_now:
            shown = now.astimezone().strftime("%H:%M")
            raise EntryError(
                f"time '{text}' is later than now ({shown}): a time of day means the last 12 h;"
                f" give a time that has passed, or the date and time, e.g. {dated}"
            )
        raise EntryError(
            f"time '{text}' is more than 12 h ago: a time of day means the last 12 h; give the "
            f"date and time, e.g. {dated}"
        )
    return moment


def local_to_utc(naive: datetime, text: str | None = None) -> datetime:
    """A local wall-clock time as UTC; refused when the clock change makes it ambiguous (the
    repeated hour) or skipped (the hour that does not exist)."""
    shown = cut(text) if text is not None else naive.isoformat(timespec="minutes")
    first = naive.replace(fold=0).astimezone(UTC)
    second = naive.replace(fold=1).astimezone(UTC)
    if first != second:
        wall = naive.replace(fold=0)
        offsets = " or ".join(sorted({_with_offset(naive, moment) for moment in (first, second)}))
        if first.astimezone().replace(tzinfo=None) != wall:
            raise EntryError(
                f"local time '{shown}' does not exist (the clocks went forward): give an offset,"
                f" e.g. {offsets}"
            )
        raise EntryError(
            f"local time '{shown}' happens twice when the clocks go back: give an offset, "
            f"e.g. {offsets}"
        )
    return first


def _with_offset(naive: datetime, moment: datetime) -> str:
    """``naive`` written with the UTC offset the local zone had at ``moment``."""
    offset = moment.astimezone().utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{naive.isoformat(timespec='minutes')}{sign}{hours:02d}:{rest:02d}"


def shown_time(moment: datetime, now: datetime) -> str:
    """A time read from what was typed, as a preview shows it: local ``HH:MM`` when it is
    today, ``2026-11-26 23:55`` (the full local date) on any other day."""
    local = moment.astimezone()
    if local.date() == now.astimezone().date():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def split_entry_time(line: str) -> tuple[str, str | None]:
    """``"142/88 hr 76 @ 5 min ago"`` -> (``"142/88 hr 76"``, ``"5 min ago"``): the quick
    entry and the time typed after ``@``, as the entry line, the correction dialog and every
    command that takes an entry read them. A ``@`` with no time after it is refused (a time
    left out by mistake, or a script's empty variable, must not save the reading at now)."""
    entry, marker, when = line.partition("@")
    if marker and not when.strip():
        raise EntryError(
            "'@' needs a time after it (@ 10:28, @ 5 min ago), or leave it out for now"
        )
    return entry.strip(), when.strip() if marker else None
