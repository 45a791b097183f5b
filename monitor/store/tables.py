"""The stored record's schema as SQLAlchemy Core tables (docs/storage.md, "The schema").

This is the one definition of the schema: the ORM classes of :mod:`monitor.store.models` are
mapped onto these tables, the migrations are compared with :data:`metadata` (``monitor db
check``), and a path that only needs Core (saving a reading, drawing the station's first rows)
imports this module and not ``sqlalchemy.orm`` (issue #23). It imports SQLAlchemy Core only.

Readings, flags, acknowledgements and audit rows are append-only: the database itself refuses
UPDATE and DELETE on them (triggers made by the migrations, see :mod:`monitor.store.triggers`).
A correction is a new reading whose ``corrects_id`` names the one it supersedes.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Double,
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

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True)


def _moment(name: str, *, nullable: bool = False) -> Column:
    return Column(name, UTCDateTime(), nullable=nullable)


def _ref(name: str, target: str, *, nullable: bool = True, unique: bool | None = None) -> Column:
    return Column(name, Integer, ForeignKey(target), nullable=nullable, unique=unique)


#: A nurse or supervisor. The PIN is kept only as a hash: on SQLite a memory-hard (scrypt) hash
#: under the clinic's secret kept outside the file (monitor.pins); on PostgreSQL a bcrypt hash in
#: a schema stations cannot read, ``pin_hash`` holding ``*`` (monitor.store.identity).
users = Table(
    "users",
    metadata,
    _id(),
    Column("name", String(80), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("pin_hash", String(255), nullable=False),
    _moment("created_at"),
    # Refused PINs in a row; 5 lock the user until ``locked_until``.
    Column("failed_pins", Integer, nullable=False, default=0, server_default="0"),
    # Locks in a row without an accepted PIN between: each lasts twice the one before
    # (monitor.core.lockout).
    Column("locks", Integer, nullable=False, default=0, server_default="0"),
    _moment("locked_until", nullable=True),
    # Set once: a disabled user can no longer act.
    _moment("disabled_at", nullable=True),
    CheckConstraint("role IN ('nurse', 'supervisor')", name="role"),
)

#: A numbered version of the clinic's rules (docs/configuration.md): thresholds, schedules,
#: gate, REMS and lockout, as a TOML document over the shipped defaults; made by a supervisor
#: with a reason, never changed. Version 1 is made with the schema (the shipped defaults, or the
#: clinic's TOML at the upgrade that introduced versions).
config_versions = Table(
    "config_versions",
    metadata,
    # The version number (1, 2, ...): the next is the highest plus one.
    Column("id", Integer, primary_key=True, autoincrement=False),
    _moment("at"),
    # Who made it; NULL for version 1 made with the schema.
    _ref("by_id", "users.id"),
    Column("reason", Text, nullable=False),
    # Where it came from (a file name, "shipped defaults").
    Column("source", String(200), nullable=False),
    # The rules as TOML over the shipped defaults ("" is the shipped defaults).
    Column("body", Text, nullable=False),
)

#: A patient, known by the clinic's identifier only (no name is required).
patients = Table(
    "patients",
    metadata,
    _id(),
    Column("identifier", String(80), nullable=False, unique=True),
    _moment("created_at"),
)

#: One treatment visit and its observation.
treatment_sessions = Table(
    "treatment_sessions",
    metadata,
    _id(),
    _ref("patient_id", "patients.id", nullable=False),
    Column("protocol", String(40), nullable=False),
    Column("dose_mg", Double, nullable=True),
    Column("lot", String(80), nullable=True),
    Column("age", Integer, nullable=True),
    Column("bay", String(40), nullable=True),
    _moment("started_at"),
    _ref("started_by_id", "users.id", nullable=False),
    _moment("dosed_at", nullable=True),
    _moment("discharged_at", nullable=True),
    _ref("discharged_by_id", "users.id"),
    Column("override_reason", Text, nullable=True),
    # REMS: the clinician's answer to "when would this patient have been ready to leave?".
    Column("ready_minute", Integer, nullable=True),
    # -- revision 2 ---------------------------------------------------------------------
    Column("weight_kg", Double, nullable=True),
    # First treatment of the course (yes/no), and the dose number within it when known.
    Column("first_treatment", Boolean, nullable=True),
    Column("dose_number", Integer, nullable=True),
    # REMS concomitant medication: "none" or a comma list (benzodiazepines, ...).
    Column("meds", String(120), nullable=True),
    # IV: when the infusion actually ended.
    _moment("infusion_ended_at", nullable=True),
    # Why dosing went ahead without a baseline or with an unreviewed before-dosing flag.
    Column("dose_override_reason", Text, nullable=True),
    # Who accompanies the patient home ("none" is an answer; NULL is "not recorded").
    Column("escort", Text, nullable=True),
    Column("instructions_given", Boolean, nullable=True),
    # REMS: the product's proposal, and who confirmed or changed it (``ready_minute``).
    Column("ready_minute_proposed", Integer, nullable=True),
    _ref("ready_minute_by_id", "users.id"),
    # The gate's outcome at discharge as JSON (ready, reasons, configuration values used);
    # NULL for sessions discharged before revision 2 ("not stored").
    Column("gate_at_discharge", Text, nullable=True),
    # -- revision 3 ---------------------------------------------------------------------
    # The rules version in force when the session started: its schedule follows it.
    _ref("config_version", "config_versions.id"),
    _ref("dosed_by_id", "users.id"),
    # The clinician who co-signed a dosing-gate override (NULL: none, or the actor was one).
    _ref("dose_cosigned_by_id", "users.id"),
    _ref("infusion_ended_by_id", "users.id"),
    # The clinician who co-signed a discharge-gate override.
    _ref("discharge_cosigned_by_id", "users.id"),
    # The REMS proposals as they stood at discharge (JSON), to tell what a later change affects.
    Column("rems_at_discharge", Text, nullable=True),
    Index("ix_treatment_sessions_active", "discharged_at", "id"),
    # `session list --from/--to`: a period of start times, whatever the history.
    Index("ix_treatment_sessions_started", "started_at"),
    # Only one active session per patient: see add_partial_indexes() below.
)

#: Only one active session per patient (docs/clinical.md, "Recorded besides vitals"): a partial
#: unique index.
ONE_ACTIVE_INDEX = "uq_treatment_sessions_one_active"


def add_partial_indexes() -> None:
    """Add the partial unique index of one active session per patient to the metadata.

    The database has it (migration 0003) and enforces it; the metadata needs it only where
    the tables are compared with the migrations (migrations/env.py: ``monitor db check``).
    Named in the table, its PostgreSQL option made SQLAlchemy import its PostgreSQL dialect,
    about 45 ms, into every command and every station start on SQLite.
    """
    if any(index.name == ONE_ACTIVE_INDEX for index in treatment_sessions.indexes):
        return
    Index(
        ONE_ACTIVE_INDEX,
        treatment_sessions.c.patient_id,
        unique=True,
        sqlite_where=text("discharged_at IS NULL"),
        postgresql_where=text("discharged_at IS NULL"),
    )


#: One set of measurements, as recorded; never changed, never deleted.
readings = Table(
    "readings",
    metadata,
    _id(),
    _ref("session_id", "treatment_sessions.id", nullable=False),
    _moment("measured_at"),
    _moment("recorded_at"),
    _ref("recorded_by_id", "users.id", nullable=False),
    *(Column(name, Integer, nullable=True) for name in MEASURE_COLUMNS),
    # True when the flags were judged as before dosing (the dose unknown or later).
    Column("before_dosing", Boolean, nullable=False),
    # The reading this one corrects; the corrected one is then superseded.
    _ref("corrects_id", "readings.id", unique=True),
    Column("reason", Text, nullable=True),
    # The client's key for this entry: a retry with the same key returns this reading.
    Column("client_key", String(64), nullable=True),
    # -- revision 3, bedside monitors (migration 0010) ------------------------------------
    # The bedside monitor that sent it (HL7 v2): it counts once a nurse validates it.
    _ref("device_id", "devices.id"),
    Index("ix_readings_session_measured", "session_id", "measured_at"),
    Index("uq_readings_client_key", "client_key", unique=True),
    CheckConstraint(
        " OR ".join(f"{name} IS NOT NULL" for name in MEASURE_COLUMNS), name="any_measure"
    ),
)

#: A rule that fired for a reading when it was saved, or when the baseline changed; or the
#: alarm of a serious event (``event_id`` instead of ``reading_id``).
flags = Table(
    "flags",
    metadata,
    _id(),
    Column("reading_id", Integer, ForeignKey("readings.id"), nullable=True, index=True),
    Column("measure", String(20), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("rule", String(60), nullable=False),
    Column("message", Text, nullable=False),
    # -- revision 3 ---------------------------------------------------------------------
    _ref("event_id", "events.id", unique=True),
    # The rules version the flag was judged under (NULL: before rules were versioned).
    _ref("config_version", "config_versions.id"),
    Column("raised_by", String(20), nullable=False, default="reading", server_default="reading"),
    # When a flag not raised with its reading was raised (a baseline change, an event).
    _moment("raised_at", nullable=True),
    CheckConstraint("(reading_id IS NULL) <> (event_id IS NULL)", name="reading_or_event"),
    CheckConstraint("raised_by IN ('reading', 'baseline change', 'event')", name="raised_by"),
)

#: Who acknowledged a flag, when, and what they did.
acknowledgements = Table(
    "acknowledgements",
    metadata,
    _id(),
    _ref("flag_id", "flags.id", nullable=False, unique=True),
    _ref("by_id", "users.id", nullable=False),
    _moment("at"),
    Column("action", Text, nullable=False),
    # The clinician who co-signed (a before-dosing flag, a serious event's alarm).
    _ref("cosigned_by_id", "users.id"),
)

#: A reading entered in error: it stays, struck through, and counts for nothing.
voids = Table(
    "voids",
    metadata,
    _id(),
    _ref("reading_id", "readings.id", nullable=False, unique=True),
    _ref("by_id", "users.id", nullable=False),
    _moment("at"),
    Column("reason", Text, nullable=False),
)

#: Why an overdue or missed check was not done.
check_skips = Table(
    "check_skips",
    metadata,
    _id(),
    _ref("session_id", "treatment_sessions.id", nullable=False),
    Column("label", String(40), nullable=False),
    _ref("by_id", "users.id", nullable=False),
    _moment("at"),
    Column("reason", Text, nullable=False),
    UniqueConstraint("session_id", "label"),
)

#: A note, an adverse event or an intervention during a session.
events = Table(
    "events",
    metadata,
    _id(),
    _ref("session_id", "treatment_sessions.id", nullable=False),
    Column("kind", String(20), nullable=False),
    Column("type", String(20), nullable=True),
    Column("severity", String(10), nullable=True),
    Column("serious", Boolean, nullable=True),
    Column("text", Text, nullable=False),
    _moment("at"),
    _moment("recorded_at"),
    _ref("by_id", "users.id", nullable=False),
    Index("ix_events_session", "session_id", "at"),
    CheckConstraint("kind IN ('note', 'adverse', 'intervention')", name="kind"),
)

#: A supervisor's signature on a discharged session. A session signed, reopened and signed
#: again has two; it is signed while its latest sign-off is newer than any reopening.
sign_offs = Table(
    "sign_offs",
    metadata,
    _id(),
    _ref("session_id", "treatment_sessions.id", nullable=False),
    _ref("by_id", "users.id", nullable=False),
    _moment("at"),
    Column("meaning", String(40), nullable=False),
    Index("ix_sign_offs_session", "session_id", "id"),
)

#: A supervisor's withdrawal of a sign-off, with the reason: kept, never removed.
reopenings = Table(
    "reopenings",
    metadata,
    _id(),
    _ref("session_id", "treatment_sessions.id", nullable=False),
    _ref("by_id", "users.id", nullable=False),
    _moment("at"),
    Column("reason", Text, nullable=False),
    Index("ix_reopenings_session", "session_id", "id"),
)

#: An esketamine session's REMS Patient Monitoring Form marked submitted: who, when, and the
#: answers as they stood (JSON). At most one per session; never changed.
rems_submissions = Table(
    "rems_submissions",
    metadata,
    _id(),
    _ref("session_id", "treatment_sessions.id", nullable=False, unique=True),
    _ref("by_id", "users.id", nullable=False),
    _moment("at"),
    Column("answers", Text, nullable=False),
)

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

#: A supervisor's answer to a REMS question, kept beside the proposal and the first answer with
#: the reason; a later one for the same field replaces it on the form, and all stay. ``minute``
#: holds the ready minute, ``value`` every yes/no answer.
rems_corrections = Table(
    "rems_corrections",
    metadata,
    _id(),
    _ref("session_id", "treatment_sessions.id", nullable=False),
    Column("field", String(30), nullable=False),
    Column("value", Boolean, nullable=True),
    Column("minute", Integer, nullable=True),
    _ref("by_id", "users.id", nullable=False),
    _moment("at"),
    Column("reason", Text, nullable=False),
    Index("ix_rems_corrections_session", "session_id", "id"),
    CheckConstraint("field IN (" + ", ".join(f"'{f}'" for f in REMS_FIELDS) + ")", name="field"),
    CheckConstraint(
        "(field = 'ready_minute' AND minute IS NOT NULL AND value IS NULL) OR "
        "(field <> 'ready_minute' AND value IS NOT NULL AND minute IS NULL)",
        name="answer",
    ),
)

#: A corrected infusion end (revision 3): the new time, the one it replaced, who, when and why.
#: The session's ``infusion_ended_at`` changes only with such a row beside it.
infusion_end_corrections = Table(
    "infusion_end_corrections",
    metadata,
    _id(),
    _ref("session_id", "treatment_sessions.id", nullable=False),
    _moment("ended_at"),
    _moment("previous"),
    _ref("by_id", "users.id", nullable=False),
    _moment("at"),
    Column("reason", Text, nullable=False),
    Index("ix_infusion_end_corrections_session", "session_id", "id"),
)

#: The append-only audit trail: who did what, when, before and after, and why.
audit_log = Table(
    "audit_log",
    metadata,
    _id(),
    _moment("at"),
    Column("user_name", String(80), nullable=True),
    Column("action", String(40), nullable=False),
    Column("session_id", Integer, nullable=True),
    Column("entity", String(40), nullable=False),
    Column("entity_id", Integer, nullable=True),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Index("ix_audit_log_session", "session_id", "id"),
    # `audit --from/--to`: a period of the trail, whatever its length.
    Index("ix_audit_log_at", "at"),
)

#: A bedside monitor that sends readings over HL7 v2 (docs/devices.md), known by the
#: identifier it sends (OBX-18's equipment, else MSH-3). Added by a supervisor; never changed.
devices = Table(
    "devices",
    metadata,
    _id(),
    Column("name", String(64), nullable=False, unique=True),
    _ref("by_id", "users.id", nullable=False),
    _moment("at"),
)

#: Where a device is: each binding to a bay, and its disabling (``bay`` NULL), is a new row by
#: a supervisor; the newest counts.
device_bays = Table(
    "device_bays",
    metadata,
    _id(),
    _ref("device_id", "devices.id", nullable=False),
    Column("bay", String(64), nullable=True),
    _ref("by_id", "users.id", nullable=False),
    _moment("at"),
    Index("ix_device_bays_device", "device_id", "id"),
)

#: A nurse's word that a device reading is right: from then on it serves checks and the gate.
validations = Table(
    "validations",
    metadata,
    _id(),
    _ref("reading_id", "readings.id", nullable=False, unique=True),
    _ref("by_id", "users.id", nullable=False),
    _moment("at"),
)

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
    "devices",
    "device_bays",
    "validations",
)
