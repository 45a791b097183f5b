"""The statements of saving a reading (:mod:`monitor.services.recording`), built once on the
tables (:mod:`monitor.store.tables`) so that SQLAlchemy's compiled cache serves them: a nurse's
entry costs a few plain statements, not ORM bookkeeping (issue #23)."""

from __future__ import annotations

from sqlalchemy import bindparam, exists, func, select, true

from monitor.core.rules import Severity
from monitor.store import tables as t
from monitor.store.tables import MEASURE_COLUMNS
from monitor.store.types import UTCDateTime

READINGS = t.readings
FLAGS = t.flags
SESSIONS = t.treatment_sessions.c
USERS = t.users.c
VOIDS = t.voids.c
VALIDATIONS = t.validations.c
#: A reading that corrects another.
NEWER = t.readings.alias("newer")

#: A device reading no nurse has validated: it serves no check and no baseline yet.
AWAITS_VALIDATION = READINGS.c.device_id.is_not(None) & ~exists().where(
    VALIDATIONS.reading_id == READINGS.c.id
)

# Statements on the hot path, built once so SQLAlchemy's compiled cache serves them: a nurse's
# entry costs a few plain inserts, not ORM bookkeeping.
INSERT_READING = READINGS.insert().returning(READINGS.c.id)
INSERT_FLAGS = FLAGS.insert().returning(FLAGS.c.id, sort_by_parameter_order=True)
# The session's row and the acting user's, in one round trip: the user is read every time (a
# user disabled at another station stops acting here at once).
SESSION_FOR_READING = (
    select(
        SESSIONS.id,
        SESSIONS.dosed_at,
        SESSIONS.discharged_at,
        SESSIONS.age,
        SESSIONS.started_at,
        SESSIONS.protocol,
        SESSIONS.infusion_ended_at,
        SESSIONS.config_version,
        USERS.id.label("user_id"),
        USERS.name.label("user_name"),
        USERS.role.label("user_role"),
        USERS.disabled_at.label("user_disabled_at"),
    )
    .select_from(t.treatment_sessions.join(t.users, true()))
    .where(SESSIONS.id == bindparam("session_id"))
    .where(USERS.name == bindparam("name"))
    .with_for_update(of=t.treatment_sessions)
)
# On PostgreSQL "now" is the server's clock: read it with the session row, in the same round trip.
SESSION_FOR_READING_SERVER_CLOCK = SESSION_FOR_READING.add_columns(
    func.clock_timestamp().label("server_now")
)
BASELINE = (
    select(*(READINGS.c[name] for name in MEASURE_COLUMNS))
    .where(READINGS.c.session_id == bindparam("session_id"))
    .where(READINGS.c.measured_at <= bindparam("dosed_at", type_=UTCDateTime()))
    .where(READINGS.c.id != bindparam("excluding"))
    .where(~exists().where(NEWER.c.corrects_id == READINGS.c.id))
    .where(~exists().where(VOIDS.reading_id == READINGS.c.id))
    .where(~AWAITS_VALIDATION)
    .order_by(READINGS.c.measured_at, READINGS.c.id)
)

# What a reading saved now served (docs/clinical.md, "Check windows and statuses"): the
# session's readings with their voids and medium/high BP flags (what the checks and rechecks
# need), in one statement, read in the save's own transaction.
BP_FLAGS = FLAGS.c.measure.in_(("systolic", "diastolic")) & FLAGS.c.severity.in_(
    (Severity.MEDIUM.value, Severity.HIGH.value)
)
FOR_CHECKS = (
    select(
        READINGS.c.id,
        READINGS.c.measured_at,
        READINGS.c.corrects_id,
        *(READINGS.c[name] for name in MEASURE_COLUMNS),
        exists().where(VOIDS.reading_id == READINGS.c.id).label("voided"),
        exists().where(NEWER.c.corrects_id == READINGS.c.id).label("superseded"),
        AWAITS_VALIDATION.label("awaits_validation"),
        FLAGS.c.measure.label("flag_measure"),
        FLAGS.c.severity.label("flag_severity"),
        FLAGS.c.rule.label("flag_rule"),
    )
    .select_from(READINGS.outerjoin(FLAGS, (FLAGS.c.reading_id == READINGS.c.id) & BP_FLAGS))
    .where(READINGS.c.session_id == bindparam("session_id"))
    .order_by(READINGS.c.measured_at, READINGS.c.id)
)
#: The measures' places in a row of FOR_CHECKS, in Vitals' order (the tables' MEASURE_COLUMNS).
VALUES = slice(3, 3 + len(MEASURE_COLUMNS))
SKIPPED = select(t.check_skips.c.label).where(t.check_skips.c.session_id == bindparam("session_id"))

# A batch judges a session's readings once a group: read in full once, then only the readings
# saved since, as long as MARKS (of the readings up to the last one read) are unchanged: none
# committed late below it (PostgreSQL's ids are not committed in order), none voided or
# validated, no BP
# flag raised on one by a baseline change. Readings are never changed or deleted otherwise.
FOR_CHECKS_AFTER = FOR_CHECKS.where(READINGS.c.id > bindparam("after"))
_UP_TO = (READINGS.c.session_id == bindparam("session_id")) & (READINGS.c.id <= bindparam("last"))
MARKS = select(
    select(func.count()).select_from(READINGS).where(_UP_TO).scalar_subquery(),
    select(func.count())
    .select_from(t.voids.join(READINGS, READINGS.c.id == VOIDS.reading_id))
    .where(_UP_TO)
    .scalar_subquery(),
    select(func.count())
    .select_from(t.validations.join(READINGS, READINGS.c.id == VALIDATIONS.reading_id))
    .where(_UP_TO)
    .scalar_subquery(),
    select(func.max(FLAGS.c.id))
    .select_from(FLAGS.join(READINGS, READINGS.c.id == FLAGS.c.reading_id))
    .where(_UP_TO & BP_FLAGS)
    .scalar_subquery(),
)
