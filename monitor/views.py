"""What the services hand back: plain frozen dataclasses, never ORM objects.

The TUI, the command line and the exports all read these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from monitor.core.gate import GateResult, StoredGate
from monitor.core.rules import Severity
from monitor.core.schedule import CheckSkip, CheckState, Protocol
from monitor.core.timing import is_late_reading
from monitor.core.vitals import Vitals
from monitor.unreadable import Unreadable


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
    #: The reading it was raised for; ``None`` for a serious event's alarm (``event_id``).
    reading_id: int | None
    measure: str
    severity: Severity
    rule: str
    message: str
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    action: str | None = None
    #: The clinician who co-signed the acknowledgement (revision 3).
    cosigned_by: str | None = None
    #: ``reading``, ``baseline change`` or ``event`` (how it was raised), and when, if not
    #: with its reading.
    raised_by: str = "reading"
    raised_at: datetime | None = None
    #: The rules version it was judged under (None: before versions).
    config_version: int | None = None
    event_id: int | None = None
    #: A severity that could not be read (the flag then counts as high): docs/storage.md,
    #: "Unreadable records".
    unreadable: Unreadable | None = None

    @property
    def acknowledged(self) -> bool:
        """True once someone said what they did about it."""
        return self.acknowledged_at is not None


@dataclass(frozen=True)
class VoidView:
    """Who voided a reading ("entered in error"), when, and why."""

    by: str
    at: datetime
    reason: str


@dataclass(frozen=True)
class ReopenView:
    """A withdrawn sign-off: who reopened the session, when, and why."""

    by: str
    at: datetime
    reason: str


@dataclass(frozen=True)
class SignOffView:
    """A sign-off ("reviewed"), also one later withdrawn."""

    by: str
    at: datetime


@dataclass(frozen=True)
class InfusionEndCorrectionView:
    """A corrected infusion end: the new time, the one it replaced, who, when and why."""

    ended_at: datetime
    previous: datetime
    by: str
    at: datetime
    reason: str


@dataclass(frozen=True)
class EventView:
    """A note, an adverse event or an intervention."""

    id: int
    session_id: int
    kind: str
    type: str | None
    severity: str | None
    serious: bool | None
    text: str
    at: datetime
    recorded_at: datetime
    by: str
    #: A serious event's alarm (revision 3), a flag acknowledged by a clinician.
    alarm: FlagView | None = None

    @property
    def summary(self) -> str:
        """One line: ``adverse nausea (moderate, serious): vomited twice``."""
        details = [d for d in (self.severity, "serious" if self.serious else None) if d]
        head = " ".join(p for p in (self.kind, self.type) if p)
        if details:
            head += f" ({', '.join(details)})"
        return f"{head}: {self.text}"


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
    voided: VoidView | None = None
    #: Saved after the session's discharge (a late entry from paper, a correction, revision 3).
    entered_after_discharge: bool = False
    #: The check this reading served (its label), if any.
    served_check: str | None = None
    #: ``typed`` or ``device NAME``.
    source: str = "typed"
    #: A device reading: the nurse who validated it, and when (None: it awaits one).
    validated_by: str | None = None
    validated_at: datetime | None = None
    #: A correction that adds a measure its original lacked (then it may be a late entry).
    adds_measures: bool = False
    #: Values that could not be read, left out of ``vitals`` (docs/storage.md, "Unreadable
    #: records").
    unreadable: Unreadable | None = None

    @property
    def from_device(self) -> bool:
        """Sent by a bedside monitor (docs/devices.md), not typed by a nurse."""
        return self.source != "typed"

    @property
    def awaits_validation(self) -> bool:
        """A device reading no nurse has validated yet: its flags stand, but it serves no
        check and no value of the gate (docs/devices.md, "Validation")."""
        return self.from_device and self.validated_at is None

    @property
    def in_force(self) -> bool:
        """False once a correction supersedes it or it is voided, and while a device reading
        awaits a nurse's validation."""
        return self.superseded_by is None and self.voided is None and not self.awaits_validation

    @property
    def late_entry(self) -> bool:
        """Saved more than 10 min after it was measured; a correction only if it adds a
        measure its original lacked (:func:`monitor.core.timing.is_late_reading`)."""
        return is_late_reading(
            self.measured_at,
            self.recorded_at,
            correction=self.corrects is not None,
            adds_measures=self.adds_measures,
        )


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
    #: The schedule this session follows (IV: moved by the actual end of infusion).
    schedule: Protocol | None = None
    weight_kg: float | None = None
    first_treatment: bool | None = None
    dose_number: int | None = None
    #: REMS concomitant medication: () for "none", None when not asked.
    meds: tuple[str, ...] | None = None
    infusion_ended_at: datetime | None = None
    dose_override_reason: str | None = None
    escort: str | None = None
    instructions_given: bool | None = None
    ready_minute_proposed: int | None = None
    ready_minute_by: str | None = None
    #: The gate stored at discharge, decoded once (None: not stored).
    stored_gate: StoredGate | None = None
    events: tuple[EventView, ...] = ()
    #: Why dosing may not go ahead now (empty once dosed, or when it may).
    dosing_refusals: tuple[str, ...] = ()
    #: Sign-offs withdrawn so that the record could be corrected, oldest first.
    reopened: tuple[ReopenView, ...] = ()
    #: Reasons recorded for checks not done, by check label.
    skips: dict[str, CheckSkip] = field(default_factory=dict)
    # -- revision 3 ---------------------------------------------------------------------
    #: The rules version the session follows (its schedule), and the one its gate was
    #: judged under now (or at discharge).
    config_version: int | None = None
    gate_config_version: int | None = None
    dosed_by: str | None = None
    #: Who overrode the dosing gate (the doser, when a reason was given) and who co-signed.
    dose_override_by: str | None = None
    dose_override_cosigned_by: str | None = None
    infusion_ended_by: str | None = None
    infusion_end_corrections: tuple[InfusionEndCorrectionView, ...] = ()
    #: Who co-signed a discharge-gate override.
    discharge_cosigned_by: str | None = None
    #: The discharge overrode the gate before the minimum observation.
    ended_early: bool = False
    #: From dosing to discharge (or now), whole minutes: the one figure everywhere.
    minutes_monitored: int | None = None
    #: Every sign-off, withdrawn ones too, oldest first.
    signoffs: tuple[SignOffView, ...] = ()
    #: REMS answers a change after discharge affected, and whether each is confirmed since.
    rems_changed_after_discharge: tuple[str, ...] = ()
    #: After discharge: the gate judged again on the record as it is now (review shows it
    #: beside the stored one); None before discharge.
    gate_now: GateResult | None = None
    #: Every stored value of this session (its flags' too) that could not be read; the view
    #: holds the rest (docs/storage.md, "Unreadable records").
    unreadable: tuple[Unreadable, ...] = ()

    @property
    def status(self) -> str:
        """``active`` or ``discharged``."""
        return "active" if self.discharged_at is None else "discharged"

    @property
    def in_force(self) -> list[ReadingView]:
        """The readings not superseded by a correction."""
        return [r for r in self.readings if r.in_force]

    def open_flags(self) -> list[FlagView]:
        """Medium and high flags not yet acknowledged, corrected readings' included (a
        correction never clears an alarm), and serious events' open alarms."""
        return [
            f
            for r in self.readings
            for f in r.flags
            if f.severity.needs_action and not f.acknowledged
        ] + [e.alarm for e in self.events if e.alarm is not None and not e.alarm.acknowledged]

    def unacknowledged(self) -> list[FlagView]:
        """Every flag nobody has acknowledged yet (low ones too) and every open event alarm,
        for the acknowledge dialog."""
        return [f for r in self.readings for f in r.flags if not f.acknowledged] + [
            e.alarm for e in self.events if e.alarm is not None and not e.alarm.acknowledged
        ]

    def check_alarms(self) -> list[CheckState]:
        """Overdue checks, and missed ones nobody has explained."""
        return [c for c in self.checks if c.is_alarm]

    def unreadable_part(self, part: str) -> Unreadable | None:
        """The marker of one part of this session (:mod:`monitor.unreadable`), if it could
        not be read."""
        return next((u for u in self.unreadable if u.part == part), None)

    def reading(self, reading_id: int) -> ReadingView | None:
        """One of this session's readings by id."""
        return next((r for r in self.readings if r.id == reading_id), None)


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
