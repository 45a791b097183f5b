"""Small builders shared by the core tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.core.entry import parse_entry
from monitor.core.observations import Observation, RecordedFlag
from monitor.core.rules import Thresholds, evaluate
from monitor.core.vitals import Vitals

DOSED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """A moment ``minutes`` after the test dose (negative: before)."""
    return DOSED + timedelta(minutes=minutes)


class Floor:
    """Builds a session's readings in force, flagging each as the services would."""

    def __init__(self, age: int | None = 50, dosed: bool = True) -> None:
        self.age = age
        self.dosed = dosed
        self.readings: list[Observation] = []

    def add(self, minutes: float, entry: str, acked_at: float | None = None) -> Observation:
        vitals = parse_entry(entry)
        before = not self.dosed or at(minutes) <= DOSED
        baseline = Vitals(
            **{
                m: v
                for r in self.readings
                if r.measured_at <= DOSED
                for m, v in r.vitals.as_dict().items()
                if v is not None
            }
        )
        flags = evaluate(
            vitals, before_dosing=before, age=self.age, baseline=baseline, thresholds=Thresholds()
        )
        ack = None if acked_at is None else at(acked_at)
        reading = Observation(
            id=len(self.readings) + 1,
            measured_at=at(minutes),
            vitals=vitals,
            flags=tuple(RecordedFlag(f, ack) for f in flags),
        )
        self.readings.append(reading)
        return reading
