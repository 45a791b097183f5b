"""The review queue's filters: period, nurse, protocol and the yes/no questions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.periods import local_day, typed_period

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
            return local_day(today)[0], None
        if self.period == "yesterday":
            return local_day(today - timedelta(days=1))
        if self.period == "week":
            return local_day(today - timedelta(days=6))[0], None
        if self.period == "month":
            return local_day(today - timedelta(days=29))[0], None
        if self.period != "dates":
            return None, None
        # Typed as `review list --from/--to` reads them: a date alone as To is that whole day.
        return typed_period(self.since_text, self.until_text, now)

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
