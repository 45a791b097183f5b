"""What the services hand back: plain frozen dataclasses, never ORM objects.

The TUI, the command line and the exports all read these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.core.gate import GateResult
from monitor.core.rules import Severity
from monitor.core.schedule import CheckState
from monitor.core.vitals import Vitals


@dataclass(frozen=True)
class UserView:
    """A user as others see it (never the PIN hash)."""

    id: int
    name: str
    role: str


@dataclass(frozen=True)
class FlagView:
    """A flag kept with a reading, and its acknowledgement if any."""

    id: int
    reading_id: int
    measure: str
    severity: Severity
    rule: str
    message: str
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    action: str | None = None

    @property
    def acknowledged(self) -> bool:
        """True once someone said what they did about it."""
        return self.acknowledged_at is not None


@dataclass(frozen=True)
class ReadingView:
    """A reading as recorded; ``superseded_by`` names its correction, if any."""

    id: int
    session_id: int
    measured_at: datetime
    recorded_at: datetime
    recorded_by: str
    vitals: Vitals
    before_dosing: bool
    flags: tuple[FlagView, ...] = ()
    superseded_by: int | None = None
    corrects: int | None = None
    reason: str | None = None

    @property
    def in_force(self) -> bool:
        """False once a correction supersedes it."""
        return self.superseded_by is None


@dataclass(frozen=True)
class SessionView:
    """One session with everything a nurse or supervisor reads about it, as of ``as_of``."""

    id: int
    patient: str
    protocol: str
    treatment: str
    dose_mg: float | None
    age: int | None
    bay: str | None
    lot: str | None
    started_at: datetime
    started_by: str
    dosed_at: datetime | None
    discharged_at: datetime | None
    discharged_by: str | None
    override_reason: str | None
    ready_minute: int | None
    signed_by: str | None
    signed_at: datetime | None
    readings: tuple[ReadingView, ...]
    checks: tuple[CheckState, ...]
    gate: GateResult
    as_of: datetime

    @property
    def status(self) -> str:
        """``active`` or ``discharged``."""
        return "active" if self.discharged_at is None else "discharged"

    @property
    def in_force(self) -> list[ReadingView]:
        """The readings not superseded by a correction."""
        return [r for r in self.readings if r.in_force]

    def open_flags(self) -> list[FlagView]:
        """Medium and high flags of readings in force not yet acknowledged."""
        return [
            f
            for r in self.in_force
            for f in r.flags
            if f.severity.needs_action and not f.acknowledged
        ]


@dataclass(frozen=True)
class SessionSummary:
    """One line of ``session list``."""

    id: int
    patient: str
    protocol: str
    bay: str | None
    status: str
    started_at: datetime
    dosed_at: datetime | None
    discharged_at: datetime | None
    signed: bool


@dataclass(frozen=True)
class AuditView:
    """One audit row."""

    id: int
    at: datetime
    user: str | None
    action: str
    session_id: int | None
    entity: str
    entity_id: int | None
    before: str | None
    after: str | None
    reason: str | None
