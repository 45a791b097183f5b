"""The stored record as ORM classes, mapped onto the Core tables of :mod:`monitor.store.tables`.

The schema is defined once, in :mod:`monitor.store.tables` (docs/storage.md, "The schema"):
each class here names its table (``__table__``) and adds only what the ORM needs beyond it,
the relationships. The annotations say each attribute's Python type. A path that needs Core
only imports :mod:`monitor.store.tables`, not this module and ``sqlalchemy.orm`` (issue #23).

Readings, flags, acknowledgements and audit rows are append-only: the database itself refuses
UPDATE and DELETE on them (triggers made by the migrations, see :mod:`monitor.store.triggers`).
A correction is a new reading whose ``corrects_id`` names the one it supersedes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

from monitor.store import tables
from monitor.store.tables import (
    APPEND_ONLY_TABLES,
    EVENT_KINDS,
    EVENT_SEVERITIES,
    EVENT_TYPES,
    MEASURE_COLUMNS,
    NAMING_CONVENTION,
    ONE_ACTIVE_INDEX,
    REMS_FIELDS,
    add_partial_indexes,
)

__all__ = [
    "APPEND_ONLY_TABLES",
    "EVENT_KINDS",
    "EVENT_SEVERITIES",
    "EVENT_TYPES",
    "MEASURE_COLUMNS",
    "NAMING_CONVENTION",
    "ONE_ACTIVE_INDEX",
    "REMS_FIELDS",
    "add_partial_indexes",
]


class Base(DeclarativeBase):
    """Declarative base over the tables' metadata (the same object: ``tables.metadata``)."""

    metadata = tables.metadata


class User(Base):
    """A nurse or supervisor. The PIN is kept only as a hash: on SQLite a memory-hard (scrypt)
    hash under the clinic's secret kept outside the file (monitor.pins); on PostgreSQL a
    bcrypt hash in a schema stations cannot read, ``pin_hash`` holding ``*``
    (monitor.store.identity)."""

    __table__ = tables.users

    id: Mapped[int]
    name: Mapped[str]
    role: Mapped[str]
    pin_hash: Mapped[str]
    created_at: Mapped[datetime]
    #: Refused PINs in a row; 5 lock the user until ``locked_until``.
    failed_pins: Mapped[int]
    #: Locks in a row without an accepted PIN between: each lasts twice the one before
    #: (monitor.core.lockout).
    locks: Mapped[int]
    locked_until: Mapped[datetime | None]
    #: Set once: a disabled user can no longer act.
    disabled_at: Mapped[datetime | None]


class ConfigVersion(Base):
    """A numbered version of the clinic's rules (docs/configuration.md): thresholds,
    schedules, gate, REMS and lockout, as a TOML document over the shipped defaults; made by a
    supervisor with a reason, never changed. Version 1 is made with the schema (the shipped
    defaults, or the clinic's TOML at the upgrade that introduced versions)."""

    __table__ = tables.config_versions

    #: The version number (1, 2, ...): the next is the highest plus one.
    id: Mapped[int]
    at: Mapped[datetime]
    #: Who made it; NULL for version 1 made with the schema.
    by_id: Mapped[int | None]
    reason: Mapped[str]
    #: Where it came from (a file name, "shipped defaults").
    source: Mapped[str]
    #: The rules as TOML over the shipped defaults ("" is the shipped defaults).
    body: Mapped[str]


class Patient(Base):
    """A patient, known by the clinic's identifier only (no name is required)."""

    __table__ = tables.patients

    id: Mapped[int]
    identifier: Mapped[str]
    created_at: Mapped[datetime]


class TreatmentSession(Base):
    """One treatment visit and its observation."""

    __table__ = tables.treatment_sessions

    id: Mapped[int]
    patient_id: Mapped[int]
    protocol: Mapped[str]
    dose_mg: Mapped[float | None]
    lot: Mapped[str | None]
    age: Mapped[int | None]
    bay: Mapped[str | None]
    started_at: Mapped[datetime]
    started_by_id: Mapped[int]
    dosed_at: Mapped[datetime | None]
    discharged_at: Mapped[datetime | None]
    discharged_by_id: Mapped[int | None]
    override_reason: Mapped[str | None]
    #: REMS: the clinician's answer to "when would this patient have been ready to leave?".
    ready_minute: Mapped[int | None]
    # -- revision 2 ---------------------------------------------------------------------
    weight_kg: Mapped[float | None]
    #: First treatment of the course (yes/no), and the dose number within it when known.
    first_treatment: Mapped[bool | None]
    dose_number: Mapped[int | None]
    #: REMS concomitant medication: "none" or a comma list (benzodiazepines, ...).
    meds: Mapped[str | None]
    #: IV: when the infusion actually ended.
    infusion_ended_at: Mapped[datetime | None]
    #: Why dosing went ahead without a baseline or with an unreviewed before-dosing flag.
    dose_override_reason: Mapped[str | None]
    #: Who accompanies the patient home ("none" is an answer; NULL is "not recorded").
    escort: Mapped[str | None]
    instructions_given: Mapped[bool | None]
    #: REMS: the product's proposal, and who confirmed or changed it (``ready_minute``).
    ready_minute_proposed: Mapped[int | None]
    ready_minute_by_id: Mapped[int | None]
    #: The gate's outcome at discharge as JSON (ready, reasons, configuration values used);
    #: NULL for sessions discharged before revision 2 ("not stored").
    gate_at_discharge: Mapped[str | None]
    # -- revision 3 ---------------------------------------------------------------------
    #: The rules version in force when the session started: its schedule follows it.
    config_version: Mapped[int | None]
    dosed_by_id: Mapped[int | None]
    #: The clinician who co-signed a dosing-gate override (NULL: none, or the actor was one).
    dose_cosigned_by_id: Mapped[int | None]
    infusion_ended_by_id: Mapped[int | None]
    #: The clinician who co-signed a discharge-gate override.
    discharge_cosigned_by_id: Mapped[int | None]
    #: The REMS proposals as they stood at discharge (JSON), to tell what a later change affects.
    rems_at_discharge: Mapped[str | None]

    patient: Mapped[Patient] = relationship(lazy="joined")


class Reading(Base):
    """One set of measurements, as recorded; never changed, never deleted."""

    __table__ = tables.readings

    id: Mapped[int]
    session_id: Mapped[int]
    measured_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int]
    systolic: Mapped[int | None]
    diastolic: Mapped[int | None]
    heart_rate: Mapped[int | None]
    spo2: Mapped[int | None]
    resp_rate: Mapped[int | None]
    moaas: Mapped[int | None]
    cadss: Mapped[int | None]
    #: True when the flags were judged as before dosing (the dose unknown or later).
    before_dosing: Mapped[bool]
    #: The reading this one corrects; the corrected one is then superseded.
    corrects_id: Mapped[int | None]
    reason: Mapped[str | None]
    #: The client's key for this entry: a retry with the same key returns this reading.
    client_key: Mapped[str | None]
    #: The bedside monitor that sent it (None: typed by a nurse).
    device_id: Mapped[int | None]


class Flag(Base):
    """A rule that fired for a reading when it was saved, or when the baseline changed; or
    the alarm of a serious event (``event_id`` instead of ``reading_id``)."""

    __table__ = tables.flags

    id: Mapped[int]
    reading_id: Mapped[int | None]
    measure: Mapped[str]
    severity: Mapped[str]
    rule: Mapped[str]
    message: Mapped[str]
    # -- revision 3 ---------------------------------------------------------------------
    event_id: Mapped[int | None]
    #: The rules version the flag was judged under (NULL: before rules were versioned).
    config_version: Mapped[int | None]
    raised_by: Mapped[str]
    #: When a flag not raised with its reading was raised (a baseline change, an event).
    raised_at: Mapped[datetime | None]


class Acknowledgement(Base):
    """Who acknowledged a flag, when, and what they did."""

    __table__ = tables.acknowledgements

    id: Mapped[int]
    flag_id: Mapped[int]
    by_id: Mapped[int]
    at: Mapped[datetime]
    action: Mapped[str]
    #: The clinician who co-signed (a before-dosing flag, a serious event's alarm).
    cosigned_by_id: Mapped[int | None]


class Void(Base):
    """A reading entered in error: it stays, struck through, and counts for nothing."""

    __table__ = tables.voids

    id: Mapped[int]
    reading_id: Mapped[int]
    by_id: Mapped[int]
    at: Mapped[datetime]
    reason: Mapped[str]


class Device(Base):
    """A bedside monitor that sends readings, known by the identifier it sends."""

    __table__ = tables.devices

    id: Mapped[int]
    name: Mapped[str]
    by_id: Mapped[int]
    at: Mapped[datetime]


class DeviceBay(Base):
    """A device bound to a bay, or disabled (``bay`` None); the newest row counts."""

    __table__ = tables.device_bays

    id: Mapped[int]
    device_id: Mapped[int]
    bay: Mapped[str | None]
    by_id: Mapped[int]
    at: Mapped[datetime]


class Validation(Base):
    """A nurse's word that a device reading is right: it then counts."""

    __table__ = tables.validations

    id: Mapped[int]
    reading_id: Mapped[int]
    by_id: Mapped[int]
    at: Mapped[datetime]


class CheckSkipRow(Base):
    """Why an overdue or missed check was not done."""

    __table__ = tables.check_skips

    id: Mapped[int]
    session_id: Mapped[int]
    label: Mapped[str]
    by_id: Mapped[int]
    at: Mapped[datetime]
    reason: Mapped[str]


class Event(Base):
    """A note, an adverse event or an intervention during a session."""

    __table__ = tables.events

    id: Mapped[int]
    session_id: Mapped[int]
    kind: Mapped[str]
    type: Mapped[str | None]
    severity: Mapped[str | None]
    serious: Mapped[bool | None]
    text: Mapped[str]
    at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    by_id: Mapped[int]


class SignOff(Base):
    """A supervisor's signature on a discharged session. A session signed, reopened and
    signed again has two; it is signed while its latest sign-off is newer than any reopening."""

    __table__ = tables.sign_offs

    id: Mapped[int]
    session_id: Mapped[int]
    by_id: Mapped[int]
    at: Mapped[datetime]
    meaning: Mapped[str]


class Reopening(Base):
    """A supervisor's withdrawal of a sign-off, with the reason: kept, never removed."""

    __table__ = tables.reopenings

    id: Mapped[int]
    session_id: Mapped[int]
    by_id: Mapped[int]
    at: Mapped[datetime]
    reason: Mapped[str]


class RemsSubmission(Base):
    """An esketamine session's REMS Patient Monitoring Form marked submitted: who, when, and
    the answers as they stood (JSON). At most one per session; never changed."""

    __table__ = tables.rems_submissions

    id: Mapped[int]
    session_id: Mapped[int]
    by_id: Mapped[int]
    at: Mapped[datetime]
    answers: Mapped[str]


class RemsCorrection(Base):
    """A supervisor's answer to a REMS question, kept beside the proposal and the first
    answer with the reason; a later one for the same field replaces it on the form, and all
    stay. ``minute`` holds the ready minute, ``value`` every yes/no answer."""

    __table__ = tables.rems_corrections

    id: Mapped[int]
    session_id: Mapped[int]
    field: Mapped[str]
    value: Mapped[bool | None]
    minute: Mapped[int | None]
    by_id: Mapped[int]
    at: Mapped[datetime]
    reason: Mapped[str]


class InfusionEndCorrection(Base):
    """A corrected infusion end (revision 3): the new time, the one it replaced, who, when
    and why. The session's ``infusion_ended_at`` changes only with such a row beside it."""

    __table__ = tables.infusion_end_corrections

    id: Mapped[int]
    session_id: Mapped[int]
    ended_at: Mapped[datetime]
    previous: Mapped[datetime]
    by_id: Mapped[int]
    at: Mapped[datetime]
    reason: Mapped[str]


class AuditEntry(Base):
    """The append-only audit trail: who did what, when, before and after, and why."""

    __table__ = tables.audit_log

    id: Mapped[int]
    at: Mapped[datetime]
    user_name: Mapped[str | None]
    action: Mapped[str]
    session_id: Mapped[int | None]
    entity: Mapped[str]
    entity_id: Mapped[int | None]
    before: Mapped[str | None]
    after: Mapped[str | None]
    reason: Mapped[str | None]
