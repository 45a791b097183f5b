"""Which check a reading served, and which checks before it remain not done (docs/clinical.md,
"Check windows and statuses"): what the nurse is told when a reading is saved, and each
reading's ``served_check`` being :func:`monitor.core.schedule.served_checks`, both read off
the check states (each check names the readings that served it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.core.schedule import CheckKind, CheckState, CheckStatus


@dataclass(frozen=True)
class Served:
    """What one reading did to the schedule, as the nurse is told when it is saved: the checks
    it served (its scheduled check or the baseline first, then BP rechecks) and the checks due
    before it that remain not done."""

    checks: tuple[CheckState, ...]
    not_done: tuple[CheckState, ...]


def served_by_reading(
    states: Sequence[CheckState], reading_id: int, measured_at: datetime
) -> Served:
    """What the reading ``reading_id`` (measured at ``measured_at``) served, and the checks due
    at or before it that remain not done, unexplained and not cancelled (the baseline aside:
    the dosing gate's business)."""
    ordered = sorted(states, key=lambda c: c.kind is CheckKind.RECHECK)
    served = tuple(c for c in ordered if reading_id in c.served_by)
    not_done = tuple(
        c
        for c in states
        if c.kind is not CheckKind.BASELINE
        and c.due_at is not None
        and c.due_at <= measured_at
        and c.status is not CheckStatus.DONE
        and c.skip is None
        and c.cancelled is None
        and c not in served
    )
    return Served(served, not_done)
