"""The review queue's filters: period, nurse, protocol and the yes/no questions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from monitor.errors import EntryError
from monitor.timeparse import local_to_utc, parse_time

#: The periods a supervisor picks from (on the discharge time), by key.
PERIODS = (
    ("any", "any time"),
    ("today", "today"),
    ("yesterday", "yesterday"),
    ("week", "last 7 days"),
    ("month", "last 30 days"),
    ("dates", "between dates"),
)
PERIOD_LABEL = dict(PERIODS)
#: The yes/no filters: (field, what the filter line and the dialog say).
QUESTIONS = (
    ("unsigned", "not signed off"),
    ("flagged", "had a high flag"),
    ("override", "discharged by override"),
    ("late", "late or missed checks"),
    ("late_entries", "late entries"),
    ("adverse", "adverse event"),
)


def _midnight(day: date) -> datetime:
    """The local midnight starting ``day``, as UTC."""
    return local_to_utc(datetime(day.year, day.month, day.day))  # noqa: DTZ001 (local wall time)


def _date_only(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if len(text.strip()) == 10 else None
    except ValueError:
        return None


@dataclass(frozen=True)
class ReviewFilter:
    """What the queue shows: a period of discharge, a nurse, a protocol, yes/no questions."""

    period: str = "any"
    #: With ``period == "dates"``: the first and last day or moment, as typed.
    since_text: str = ""
    until_text: str = ""
    unsigned: bool = True
    nurse: str | None = None
    protocol: str | None = None
    flagged: bool = False
    override: bool = False
    late: bool = False
    late_entries: bool = False
    adverse: bool = False

    def bounds(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        """The period as aware UTC times (either may be open); EntryError for a bad date."""
        today = now.astimezone().date()
        if self.period == "today":
            return _midnight(today), None
        if self.period == "yesterday":
            return _midnight(today - timedelta(days=1)), _midnight(today) - timedelta(
                microseconds=1
            )
        if self.period == "week":
            return _midnight(today - timedelta(days=6)), None
        if self.period == "month":
            return _midnight(today - timedelta(days=29)), None
        if self.period != "dates":
            return None, None
        since = parse_time(self.since_text, now) if self.since_text.strip() else None
        until = None
        if self.until_text.strip():
            day = _date_only(self.until_text)
            # A date alone in "to" takes in that whole day, as `review list --to` does.
            until = (
                _midnight(day + timedelta(days=1)) - timedelta(microseconds=1)
                if day is not None
                else parse_time(self.until_text, now)
            )
        if since is not None and until is not None and since > until:
            raise EntryError("the period ends before it begins: give the earlier date first")
        return since, until

    def describe(self) -> str:
        """The filters as one line: ``not signed off · yesterday · had a high flag``."""
        parts = ["not signed off" if self.unsigned else "signed or not"]
        if self.period == "dates":
            parts.append(f"{self.since_text or '…'} to {self.until_text or 'now'}")
        else:
            parts.append(f"discharged {PERIOD_LABEL.get(self.period, self.period)}")
        if self.nurse:
            parts.append(f"nurse {self.nurse}")
        if self.protocol:
            parts.append(self.protocol)
        parts += [label for key, label in QUESTIONS[1:] if getattr(self, key)]
        return " · ".join(parts)
