"""The stored record (SQLAlchemy 2 typed models).

Readings, flags, acknowledgements and audit rows are append-only: the database itself refuses
UPDATE and DELETE on them (triggers made by the migrations, see :mod:`monitor.store.triggers`).
A correction is a new reading whose ``corrects_id`` names the one it supersedes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from monitor.core.events import EVENT_KINDS, EVENT_SEVERITIES, EVENT_TYPES
from monitor.store.types import UTCDateTime

__all__ = ["EVENT_KINDS", "EVENT_SEVERITIES", "EVENT_TYPES"]

# Every constraint gets a name, so that batch migrations on SQLite can drop it.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MEASURE_COLUMNS = ("systolic", "diastolic", "heart_rate", "spo2", "resp_rate", "moaas", "cadss")

Id = Annotated[int, mapped_column(Integer, primary_key=True)]
Moment = Annotated[datetime, mapped_column(UTCDateTime())]
OptionalMoment = Annotated[datetime | None, mapped_column(UTCDateTime(), nullable=True)]
Measure = Annotated[int | None, mapped_column(Integer, nullable=True)]


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    """A nurse or supervisor. The PIN is kept only as a hash: on SQLite a memory-hard (scrypt)
    hash under the clinic's secret kept outside the file (monitor.pins); on PostgreSQL a
    bcrypt hash in a schema stations cannot read, ``pin_hash`` holding ``*``
    (monitor.store.identity)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('nurse', 'supervisor')", name="role"),)

    id: Mapped[Id]
    name: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    pin_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[Moment]
    #: Refused PINs in a row; 5 lock the user until ``locked_until``.
    failed_pins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Locks in a row without an accepted PIN between: each lasts twice the one before
    #: (monitor.core.lockout).
    locks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[OptionalMoment]
    #: Set once: a disabled user can no longer act.
    disabled_at: Mapped[OptionalMoment]


class ConfigVersion(Base):
    """A numbered version of the clinic's rules (docs/configuration.md): thresholds,
    schedules, gate, REMS and lockout, as a TOML document over the shipped defaults; made by a
    supervisor with a reason, never changed. Version 1 is made with the schema (the shipped
    defaults, or the clinic's TOML at the upgrade that introduced versions)."""

    __tablename__ = "config_versions"

    #: The version number (1, 2, ...): the next is the highest plus one.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[Moment]
    #: Who made it; NULL for version 1 made with the schema.
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    #: Where it came from (a file name, "shipped defaults").
    source: Mapped[str] = mapped_column(String(200))
    #: The rules as TOML over the shipped defaults ("" is the shipped defaults).
    body: Mapped[str] = mapped_column(Text)


class Patient(Base):
    """A patient, known by the clinic's identifier only (no name is required)."""

    __tablename__ = "patients"

    id: Mapped[Id]
    identifier: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[Moment]


class TreatmentSession(Base):
    """One treatment visit and its observation."""

    __tablename__ = "treatment_sessions"
    __table_args__ = (
        Index("ix_treatment_sessions_active", "discharged_at", "id"),
        # `session list --from/--to`: a period of start times, whatever the history.
        Index("ix_treatment_sessions_started", "started_at"),
        # Only one active session per patient: see add_partial_indexes() below.
    )

    id: Mapped[Id]
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    protocol: Mapped[str] = mapped_column(String(40))
    dose_mg: Mapped[float | None]
    lot: Mapped[str | None] = mapped_column(String(80))
    age: Mapped[int | None]
    bay: Mapped[str | None] = mapped_column(String(40))
    started_at: Mapped[Moment]
    started_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    dosed_at: Mapped[OptionalMoment]
    discharged_at: Mapped[OptionalMoment]
    discharged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    override_reason: Mapped[str | None] = mapped_column(Text)
    #: REMS: the clinician's answer to "when would this patient have been ready to leave?".
    ready_minute: Mapped[int | None]
    # -- revision 2 ---------------------------------------------------------------------
    weight_kg: Mapped[float | None]
    #: First treatment of the course (yes/no), and the dose number within it when known.
    first_treatment: Mapped[bool | None] = mapped_column(Boolean)
    dose_number: Mapped[int | None]
    #: REMS concomitant medication: "none" or a comma list (benzodiazepines, ...).
    meds: Mapped[str | None] = mapped_column(String(120))
    #: IV: when the infusion actually ended.
    infusion_ended_at: Mapped[OptionalMoment]
    #: Why dosing went ahead without a baseline or with an unreviewed before-dosing flag.
    dose_override_reason: Mapped[str | None] = mapped_column(Text)
    #: Who accompanies the patient home ("none" is an answer; NULL is "not recorded").
    escort: Mapped[str | None] = mapped_column(Text)
    instructions_given: Mapped[bool | None] = mapped_column(Boolean)
    #: REMS: the product's proposal, and who confirmed or changed it (``ready_minute``).
    ready_minute_proposed: Mapped[int | None]
    ready_minute_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The gate's outcome at discharge as JSON (ready, reasons, configuration values used);
    #: NULL for sessions discharged before revision 2 ("not stored").
    gate_at_discharge: Mapped[str | None] = mapped_column(Text)
    # -- revision 3 ---------------------------------------------------------------------
    #: The rules version in force when the session started: its schedule follows it.
    config_version: Mapped[int | None] = mapped_column(ForeignKey("config_versions.id"))
    dosed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The clinician who co-signed a dosing-gate override (NULL: none, or the actor was one).
    dose_cosigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    infusion_ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The clinician who co-signed a discharge-gate override.
    discharge_cosigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The REMS proposals as they stood at discharge (JSON), to tell what a later change affects.
    rems_at_discharge: Mapped[str | None] = mapped_column(Text)

    patient: Mapped[Patient] = relationship(lazy="joined")


#: Only one active session per patient (docs/clinical.md, "Recorded besides vitals"): a partial
#: unique index.
ONE_ACTIVE_INDEX = "uq_treatment_sessions_one_active"


def add_partial_indexes() -> None:
    """Add the partial unique index of one active session per patient to the metadata.

    The database has it (migration 0003) and enforces it; the metadata needs it only where
    the models are compared with the migrations (migrations/env.py: ``monitor db check``).
    Named in the class, its PostgreSQL option made SQLAlchemy import its PostgreSQL dialect,
    about 45 ms, into every command and every station start on SQLite.
    """
    table = cast(Table, TreatmentSession.__table__)
    if any(index.name == ONE_ACTIVE_INDEX for index in table.indexes):
        return
    Index(
        ONE_ACTIVE_INDEX,
        table.c.patient_id,
        unique=True,
        sqlite_where=text("discharged_at IS NULL"),
        postgresql_where=text("discharged_at IS NULL"),
    )


class Reading(Base):
    """One set of measurements, as recorded; never changed, never deleted."""

    __tablename__ = "readings"
    __table_args__ = (
        Index("ix_readings_session_measured", "session_id", "measured_at"),
        Index("uq_readings_client_key", "client_key", unique=True),
        CheckConstraint(
            " OR ".join(f"{name} IS NOT NULL" for name in MEASURE_COLUMNS), name="any_measure"
        ),
    )

    id: Mapped[Id]
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_sessions.id"))
    measured_at: Mapped[Moment]
    recorded_at: Mapped[Moment]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    systolic: Mapped[Measure]
    diastolic: Mapped[Measure]
    heart_rate: Mapped[Measure]
    spo2: Mapped[Measure]
    resp_rate: Mapped[Measure]
    moaas: Mapped[Measure]
    cadss: Mapped[Measure]
    #: True when the flags were judged as before dosing (the dose unknown or later).
    before_dosing: Mapped[bool]
    #: The reading this one corrects; the corrected one is then superseded.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("readings.id"), unique=True)
    reason: Mapped[str | None] = mapped_column(Text)
    #: The client's key for this entry: a retry with the same key returns this reading.
    client_key: Mapped[str | None] = mapped_column(String(64))


class Flag(Base):
    """A rule that fired for a reading when it was saved, or when the baseline changed; or
    the alarm of a serious event (``event_id`` instead of ``reading_id``)."""

    __tablename__ = "flags"
    __table_args__ = (
        CheckConstraint("(reading_id IS NULL) <> (event_id IS NULL)", name="reading_or_event"),
        CheckConstraint("raised_by IN ('reading', 'baseline change', 'event')", name="raised_by"),
    )

    id: Mapped[Id]
    reading_id: Mapped[int | None] = mapped_column(ForeignKey("readings.id"), index=True)
    measure: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    rule: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
    # -- revision 3 ---------------------------------------------------------------------
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), unique=True)
    #: The rules version the flag was judged under (NULL: before rules were versioned).
    config_version: Mapped[int | None] = mapped_column(ForeignKey("config_versions.id"))
    raised_by: Mapped[str] = mapped_column(String(20), default="reading", server_default="reading")
    #: When a flag not raised with its reading was raised (a baseline change, an event).
    raised_at: Mapped[OptionalMoment]


class Acknowledgement(Base):
    """Who acknowledged a flag, when, and what they did."""

    __tablename__ = "acknowledgements"

    id: Mapped[Id]
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"), unique=True)
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[Moment]
    action: Mapped[str] = mapped_column(Text)
    #: The clinician who co-signed (a before-dosing flag, a serious event's alarm).
    cosigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Void(Base):
    """A reading entered in error: it stays, struck through, and counts for nothing."""

    __tablename__ = "voids"

    id: Mapped[Id]
    reading_id: Mapped[int] = mapped_column(ForeignKey("readings.id"), unique=True)
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[Moment]
    reason: Mapped[str] = mapped_column(Text)


class CheckSkipRow(Base):
    """Why an overdue or missed check was not done."""

    __tablename__ = "check_skips"
    __table_args__ = (UniqueConstraint("session_id", "label"),)

    id: Mapped[Id]
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_sessions.id"))
    label: Mapped[str] = mapped_column(String(40))
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[Moment]
    reason: Mapped[str] = mapped_column(Text)


class Event(Base):
    """A note, an adverse event or an intervention during a session."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_session", "session_id", "at"),
        CheckConstraint("kind IN ('note', 'adverse', 'intervention')", name="kind"),
    )

    id: Mapped[Id]
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_sessions.id"))
    kind: Mapped[str] = mapped_column(String(20))
    type: Mapped[str | None] = mapped_column(String(20))
    severity: Mapped[str | None] = mapped_column(String(10))
    serious: Mapped[bool | None] = mapped_column(Boolean)
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[Moment]
    recorded_at: Mapped[Moment]
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class SignOff(Base):
    """A supervisor's signature on a discharged session. A session signed, reopened and
    signed again has two; it is signed while its latest sign-off is newer than any reopening."""

    __tablename__ = "sign_offs"
    __table_args__ = (Index("ix_sign_offs_session", "session_id", "id"),)

    id: Mapped[Id]
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_sessions.id"))
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[Moment]
    meaning: Mapped[str] = mapped_column(String(40))


class Reopening(Base):
    """A supervisor's withdrawal of a sign-off, with the reason: kept, never removed."""

    __tablename__ = "reopenings"
    __table_args__ = (Index("ix_reopenings_session", "session_id", "id"),)

    id: Mapped[Id]
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_sessions.id"))
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[Moment]
    reason: Mapped[str] = mapped_column(Text)


class RemsSubmission(Base):
    """An esketamine session's REMS Patient Monitoring Form marked submitted: who, when, and
    the answers as they stood (JSON). At most one per session; never changed."""

    __tablename__ = "rems_submissions"

    id: Mapped[Id]
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_sessions.id"), unique=True)
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[Moment]
    answers: Mapped[str] = mapped_column(Text)


#: The REMS answers a supervisor may correct before submission (revision 3: every one).
REMS_FIELDS = (
    "ready_minute",
    "vitals_ok_before",
    "vitals_ok_end",
    "sedation",
    "dissociation",
    "respiratory_depression",
    "serious_adverse_event",
)


class RemsCorrection(Base):
    """A supervisor's answer to a REMS question, kept beside the proposal and the first
    answer with the reason; a later one for the same field replaces it on the form, and all
    stay. ``minute`` holds the ready minute, ``value`` every yes/no answer."""

    __tablename__ = "rems_corrections"
    __table_args__ = (
        Index("ix_rems_corrections_session", "session_id", "id"),
        CheckConstraint(
            "field IN (" + ", ".join(f"'{f}'" for f in REMS_FIELDS) + ")", name="field"
        ),
        CheckConstraint(
            "(field = 'ready_minute' AND minute IS NOT NULL AND value IS NULL) OR "
            "(field <> 'ready_minute' AND value IS NOT NULL AND minute IS NULL)",
            name="answer",
        ),
    )

    id: Mapped[Id]
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_sessions.id"))
    field: Mapped[str] = mapped_column(String(30))
    value: Mapped[bool | None] = mapped_column(Boolean)
    minute: Mapped[int | None]
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[Moment]
    reason: Mapped[str] = mapped_column(Text)


class InfusionEndCorrection(Base):
    """A corrected infusion end (revision 3): the new time, the one it replaced, who, when
    and why. The session's ``infusion_ended_at`` changes only with such a row beside it."""

    __tablename__ = "infusion_end_corrections"
    __table_args__ = (Index("ix_infusion_end_corrections_session", "session_id", "id"),)

    id: Mapped[Id]
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_sessions.id"))
    ended_at: Mapped[Moment]
    previous: Mapped[Moment]
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[Moment]
    reason: Mapped[str] = mapped_column(Text)


class AuditEntry(Base):
    """The append-only audit trail: who did what, when, before and after, and why."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_session", "session_id", "id"),
        # `audit --from/--to`: a period of the trail, whatever its length.
        Index("ix_audit_log_at", "at"),
    )

    id: Mapped[Id]
    at: Mapped[Moment]
    user_name: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    session_id: Mapped[int | None]
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None]
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)


#: Tables whose rows the database refuses to change or delete.
APPEND_ONLY_TABLES = (
    "readings",
    "flags",
    "acknowledgements",
    "audit_log",
    "sign_offs",
    "voids",
    "check_skips",
    "events",
    "reopenings",
    "rems_submissions",
    "rems_corrections",
    "config_versions",
    "infusion_end_corrections",
)
