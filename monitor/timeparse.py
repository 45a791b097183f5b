"""Reading the times people type: ISO 8601 (local time without an offset), or "5 min ago"."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from monitor.errors import EntryError

_AGO = re.compile(r"^\s*(\d{1,4})\s*(m|min|mins|minute|minutes)?\s*ago\s*$", re.IGNORECASE)
_MINUS = re.compile(r"^\s*-\s*(\d{1,4})\s*(m|min|mins|minutes)?\s*$", re.IGNORECASE)


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
            f"time '{text}' is not understood: use ISO 8601 (2026-11-27T09:00 or "
            "2026-11-27T09:00+00:00), 'now' or '5 min ago'"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # local time, as interface.md says
    return moment.astimezone(UTC)


def split_entry_time(line: str) -> tuple[str, str | None]:
    """``"142/88 hr 76 @ 5 min ago"`` -> (``"142/88 hr 76"``, ``"5 min ago"``)."""
    entry, marker, when = line.partition("@")
    return entry.strip(), (when.strip() or None) if marker else None
