"""Reading the times people type: ISO 8601 (local time without an offset), or "5 min ago"."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from monitor.core.entry import cut
from monitor.errors import EntryError

_AGO = re.compile(r"^\s*([0-9]{1,4})\s*(m|min|mins|minute|minutes)?\s*ago\s*$", re.IGNORECASE)
#: Years outside this range are refused before any conversion (which could overflow).
MIN_YEAR, MAX_YEAR = 2000, 2999
_MINUS = re.compile(r"^\s*-\s*([0-9]{1,4})\s*(m|min|mins|minutes)?\s*$", re.IGNORECASE)


def parse_time(text: str, now: datetime) -> datetime:
    """An aware UTC datetime from ``text``.

    Accepts ISO 8601 (without an offset it is local time), ``now``, ``5 min ago`` and ``-5``.
    """
    value = text.strip()
    if value.lower() == "now":
        return now.astimezone(UTC)
    relative = _AGO.match(value) or _MINUS.match(value)
    if relative:
        return (now - timedelta(minutes=int(relative.group(1)))).astimezone(UTC)
    try:
        moment = datetime.fromisoformat(
            value.replace("Z", "+00:00") if value.endswith("Z") else value
        )
    except ValueError:
        raise EntryError(
            f"time '{cut(text)}' is not understood: use ISO 8601 (2026-11-27T09:00 or "
            "2026-11-27T09:00+00:00), 'now' or '5 min ago'"
        ) from None
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise EntryError(
            f"time '{cut(text)}' is out of range: give a year from {MIN_YEAR} to {MAX_YEAR}"
        )
    if moment.tzinfo is None:
        moment = local_to_utc(moment, text)  # local time, as docs/interface.md, "Times", says
    return moment.astimezone(UTC)


def local_to_utc(naive: datetime, text: str | None = None) -> datetime:
    """A local wall-clock time as UTC; refused when the clock change makes it ambiguous (the
    repeated hour) or skipped (the hour that does not exist)."""
    shown = text if text is not None else naive.isoformat(timespec="minutes")
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


def split_entry_time(line: str) -> tuple[str, str | None]:
    """``"142/88 hr 76 @ 5 min ago"`` -> (``"142/88 hr 76"``, ``"5 min ago"``)."""
    entry, marker, when = line.partition("@")
    return entry.strip(), (when.strip() or None) if marker else None
