"""What the clinical core reads about a session: the readings in force with their flags.

Plain data handed in by the caller (the store, a test); the core never loads it itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.core.rules import Flag
from monitor.core.vitals import Measure, Vitals


@dataclass(frozen=True)
class RecordedFlag:
    """A flag as kept with its reading, and when (if ever) it was acknowledged."""

    flag: Flag
    acknowledged_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        """True when the flag needs action and nobody has acknowledged it."""
        return self.flag.severity.needs_action and self.acknowledged_at is None

    def open_at(self, when: datetime) -> bool:
        """True when the flag needs action and was not acknowledged by ``when``."""
        return self.flag.severity.needs_action and (
            self.acknowledged_at is None or self.acknowledged_at > when
        )


@dataclass(frozen=True)
class Observation:
    """One saved reading with the flags kept with it.

    ``in_force`` is False once a correction supersedes it or it is voided: it then serves no
    check and no latest value, but its flags stay (a correction never clears an alarm), and so
    does the BP recheck a flag asked for, unless the reading was voided (``voided``).
    ``corrects`` is the reading this one corrects, if it is a correction.
    """

    id: int
    measured_at: datetime
    vitals: Vitals
    flags: tuple[RecordedFlag, ...] = ()
    in_force: bool = True
    voided: bool = False
    corrects: int | None = None

    def has_bp(self) -> bool:
        """True when the reading holds a blood pressure."""
        return self.vitals.systolic is not None and self.vitals.diastolic is not None

    def bp_flagged(self) -> bool:
        """True when a medium or high flag is on systolic or diastolic."""
        bp = {Measure.SYSTOLIC.value, Measure.DIASTOLIC.value}
        return any(f.flag.measure in bp and f.flag.severity.needs_action for f in self.flags)


#: A reading's status, as the CSV's ``status`` column names it (docs/exports.md).
IN_FORCE, SUPERSEDED, VOIDED = "in force", "superseded", "voided"


def reading_status(superseded_by: int | None, voided: bool) -> str:
    """``voided`` (entered in error), ``superseded`` (by a correction) or ``in force``."""
    if voided:
        return VOIDED
    return SUPERSEDED if superseded_by is not None else IN_FORCE


def in_force(readings: Iterable[Observation]) -> list[Observation]:
    """The readings that count for values and checks."""
    return [r for r in readings if r.in_force]


def chronological(readings: list[Observation] | tuple[Observation, ...]) -> list[Observation]:
    """Readings ordered by measurement time, ties by id (the later saved last)."""
    return sorted(readings, key=lambda r: (r.measured_at, r.id))


def latest_with(
    readings: list[Observation], measure: Measure, until: datetime | None = None
) -> Observation | None:
    """The latest reading that holds ``measure`` (measured at or before ``until``)."""
    found = None
    for reading in chronological(readings):
        if until is not None and reading.measured_at > until:
            break
        if reading.vitals.get(measure) is not None:
            found = reading
    return found


def corrections_of(readings: Sequence[Observation]) -> dict[int, tuple[int, ...]]:
    """For each reading, the corrections that followed it, in order: the one that superseded
    it, the one that superseded that, and so on (empty for a reading never corrected)."""
    newer = {r.corrects: r.id for r in readings if r.corrects is not None}
    chains: dict[int, tuple[int, ...]] = {}
    for reading_id in (r.id for r in readings):
        chain: list[int] = []
        current = reading_id
        while current in newer and newer[current] not in chain:
            current = newer[current]
            chain.append(current)
        chains[reading_id] = tuple(chain)
    return chains
