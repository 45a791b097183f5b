"""The arithmetic of the review queue and the quality summary: pure, no database.

- :func:`median` is the usual one (the mean of the two middle values for an even count);
- :func:`percentile` is the **nearest-rank** percentile: the smallest value with at least p %
  of the values at or below it (rank ``ceil(p/100 * n)``), so it is always one of the values
  and can be worked out by hand;
- :func:`share` is a fraction of a whole, ``None`` for an empty whole.

:func:`count_checks` counts a closed record's checks after dosing: done on time, done late,
missed, and not reached (discharged before they were due), of which those an early discharge
by override left behind ("observation ended early") are counted apart, never as missed; a
cancelled recheck (its reading voided) is not counted at all.

Severe BP is a high flag from the any-time bands above the limit (``systolic.high.above``:
SBP >= 180 by default; ``diastolic.high.above``: DBP >= 110), by the rule ids the core emits
(:mod:`monitor.core.rules`); a low SBP (``systolic.high.below``) is high too, but not "severe
BP" in the esketamine sense of a hypertensive reaction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from monitor.core.schedule import CheckKind, CheckState, CheckStatus

#: The rule ids of a severe BP rise (a hypertensive reaction).
SEVERE_BP_RULES = frozenset({"systolic.high.above", "diastolic.high.above"})
#: A REMS Patient Monitoring Form is due within this many calendar days of the treatment.
REMS_DUE_DAYS = 7


def median(values: Sequence[float]) -> float | None:
    """The median, ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank ``p``-th percentile (0 < p <= 100), ``None`` for no values."""
    if not 0 < p <= 100:
        raise ValueError(f"percentile {p} is not within (0, 100]")
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


def share(part: int, whole: int) -> float | None:
    """``part / whole`` rounded to 3 decimals; ``None`` when ``whole`` is 0."""
    return None if whole <= 0 else round(part / whole, 3)


def minutes(start: datetime, end: datetime) -> float:
    """Minutes from ``start`` to ``end``, to one decimal."""
    return round((end - start) / timedelta(minutes=1), 1)


def rems_due(treated_on: date) -> date:
    """The last day a REMS form may be filed: 7 calendar days after the treatment date."""
    return treated_on + timedelta(days=REMS_DUE_DAYS)


def rems_overdue(treated_on: date, today: date) -> bool:
    """True once the form's last day has passed."""
    return today > rems_due(treated_on)


@dataclass(frozen=True)
class CheckCounts:
    """A closed record's checks after dosing (schedule and BP rechecks), by outcome."""

    on_time: int = 0
    late: int = 0
    missed: int = 0
    #: Not yet due at the discharge (status ``not_reached``), early discharges' included.
    not_reached: int = 0
    #: Of those, the ones an early discharge by override left ("observation ended early").
    ended_early: int = 0

    @property
    def total(self) -> int:
        """Every check counted: on time, late, missed and not reached."""
        return self.on_time + self.late + self.missed + self.not_reached


def count_checks(checks: Iterable[CheckState]) -> CheckCounts:
    """The checks after dosing of a session judged at its discharge
    (:func:`monitor.core.schedule.at_discharge`), counted: the baseline (the dosing gate's
    business) and cancelled rechecks are left out; a check neither done nor missed is not
    reached."""
    counted = [c for c in checks if c.kind is not CheckKind.BASELINE and c.cancelled is None]
    done = [c for c in counted if c.status is CheckStatus.DONE]
    missed = sum(1 for c in counted if c.status is CheckStatus.MISSED)
    return CheckCounts(
        on_time=sum(1 for c in done if not c.late),
        late=sum(1 for c in done if c.late),
        missed=missed,
        not_reached=len(counted) - len(done) - missed,
        ended_early=sum(1 for c in counted if c.ended_early),
    )


@dataclass(frozen=True)
class QualityReport:
    """The quality summary of the sessions discharged within ``since``..``until``."""

    since: datetime | None
    #: ``None``: no end (a ``--to`` day whose next day is past the years a date may have).
    until: datetime | None
    sessions: int = 0
    by_protocol: dict[str, int] = field(default_factory=dict)
    checks: int = 0
    checks_on_time: int = 0
    checks_late: int = 0
    checks_missed: int = 0
    #: Checks not reached at the discharge (not yet due), early discharges' included.
    checks_open: int = 0
    #: Of ``checks_open``, those an early discharge by override left: never missed.
    checks_ended_early: int = 0
    high_flags: int = 0
    high_acknowledged: int = 0
    high_unacknowledged: int = 0
    high_ack_median_min: float | None = None
    high_ack_p90_min: float | None = None
    severe_bp_sessions: int = 0
    override_discharges: int = 0
    late_entries: int = 0
    late_entry_sessions: int = 0
    adverse_events: int = 0
    adverse_by_type: dict[str, int] = field(default_factory=dict)
    serious_adverse_events: int = 0
    #: Esketamine sessions whose form's last day has passed (7 calendar days after discharge).
    rems_past_due: int = 0
    #: Of those, the ones not marked submitted; ``None`` when submissions are not recorded.
    rems_overdue: int | None = None
    rems_note: str | None = None
    #: Stored values of the period's sessions that could not be read, each named; the figures
    #: count the rest of those sessions (docs/storage.md, "Unreadable records").
    unreadable: tuple[str, ...] = ()

    @property
    def share_on_time(self) -> float | None:
        """Checks done on time, as a share of all the checks after dosing."""
        return share(self.checks_on_time, self.checks)

    @property
    def share_late(self) -> float | None:
        """Checks done late, as a share of all the checks after dosing."""
        return share(self.checks_late, self.checks)

    @property
    def share_missed(self) -> float | None:
        """Checks missed, as a share of all the checks after dosing."""
        return share(self.checks_missed, self.checks)
