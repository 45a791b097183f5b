"""The record refuses every way of rewriting it, in the database itself, on both backends:
UPDATE, DELETE, REPLACE, INSERT OR REPLACE, ON CONFLICT DO UPDATE, TRUNCATE, MERGE and a
cascade through a parent, on every table; sessions and users change only by the legal
transitions, each with its own audit row."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from monitor.store.engine import make_engine
from monitor.store.models import ONE_ACTIVE_INDEX
from tests.built import remembered
from tests.helpers import at

OK = "120/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0"

#: A column of each table to try to change, and a value different from any stored.
TARGETS = {
    "users": ("name", "'mallory'"),
    "patients": ("identifier", "'OTHER'"),
    "treatment_sessions": ("age", "99"),
    "readings": ("systolic", "299"),
    "flags": ("severity", "'low'"),
    "acknowledgements": ("action", "'nothing'"),
    "sign_offs": ("meaning", "'nothing'"),
    "audit_log": ("action", "'nothing'"),
    "voids": ("reason", "'nothing'"),
    "check_skips": ("reason", "'nothing'"),
    "events": ("text", "'nothing'"),
    "rems_submissions": ("answers", "'{}'"),
    "rems_corrections": ("reason", "'nothing'"),
    "devices": ("name", "'OTHER'"),
    "device_bays": ("bay", "'Bay 99'"),
    "validations": ("at", "NULL"),
}


@pytest.fixture
def record(service, clock):
    """A database holding a row in every table: a signed session and an active one (built
    once, copied after: tests/built.py)."""
    remembered(service, "a row in every table", lambda: _every_table(service, clock))
    clock.set(at(300))
    engine = make_engine(str(service.engine.url.render_as_string(hide_password=False)))
    yield engine
    engine.dispose()


def _every_table(service, clock) -> None:
    clock.set(at(-40))
    sid = service.start_session(patient="P1", protocol="esketamine-84", by="ana", age=50, meds=())
    clock.set(at(-5))
    service.record_reading(sid, OK, by="ana")
    clock.set(at(0))
    service.record_dose(sid, by="ana")
    high = None
    for minute in (15, 30, 40, 60, 90, 118):
        clock.set(at(minute))
        reading = service.record_reading(sid, OK, by="ana")
        if minute == 30:
            high = service.record_reading(sid, "85/50 hr 70", by="ana")
            service.void(high.id, by="ana", reason="wrong patient")
    clock.set(at(100))
    service.add_event(sid, kind="note", by="ana", text="calm")
    clock.set(at(121))
    service.discharge(sid, by="ana", escort="none", instructions_given=True)
    service.rems_correct(sid, field="sedation", value=True, reason="drowsy", by="sam")
    service.sign(sid, by="sam", pin="9999")
    service.rems_submit(sid, by="sam")
    clock.set(at(200))
    other = service.start_session(patient="P2", protocol="ketamine-im", by="ana", bay="Bay 7")
    service.add_device("MP5-7", bay="Bay 7", by="sam")
    clock.set(at(202))
    sent = service.record_from_device(
        "MP5-7", {"systolic": 120, "diastolic": 80}, measured_at=at(201), message_id="1", by="ana"
    )
    service.validate_readings([sent.recorded.reading.id], by="ana")
    clock.set(at(205))
    flagged = service.record_reading(other, "85/50 hr 70", by="ana")
    service.acknowledge(flagged.flags[0].id, by="ana", action="legs raised", cosign="sam")
    service.record_dose(other, by="ana", override_reason="test", cosign="sam")
    clock.set(at(300))
    service.skip_check(other, "+15 min", by="ana", reason="asleep")
    oxygen = service.add_event(other, kind="intervention", type="oxygen", by="ana", text="2 L")
    assert oxygen.alarm is not None  # a flag of an event: append-only like the others
    del reading, high


def snapshot(engine) -> dict[str, list]:
    with engine.connect() as c:
        return {
            table: [tuple(r) for r in c.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
            for table in TARGETS
        }


def refused(engine, sql: str) -> None:
    with (
        pytest.raises(Exception, match=r"(monitor|refused|UNIQUE|unique|cannot truncate)"),
        engine.begin() as c,
    ):
        c.execute(text(sql))


def statements(dialect: str, table: str) -> list[str]:
    column, value = TARGETS[table]
    first = f"(SELECT MIN(id) FROM {table})"
    forms = [
        f"UPDATE {table} SET {column} = {value}",
        f"DELETE FROM {table}",
        f"DELETE FROM {table} WHERE id = {first}",
    ]
    if dialect == "sqlite":
        forms += [
            f"REPLACE INTO {table} SELECT * FROM {table} WHERE id = {first}",
            f"INSERT OR REPLACE INTO {table} SELECT * FROM {table} WHERE id = {first}",
            f"INSERT INTO {table} SELECT * FROM {table} WHERE id = {first} "
            f"ON CONFLICT(id) DO UPDATE SET {column} = {value}",
        ]
    else:
        forms += [
            f"INSERT INTO {table} SELECT * FROM {table} WHERE id = {first} "
            f"ON CONFLICT (id) DO UPDATE SET {column} = {value}",
            f"TRUNCATE {table}",
            f"TRUNCATE {table} CASCADE",
            f"MERGE INTO {table} t USING (SELECT {first} AS id) s ON t.id = s.id "
            f"WHEN MATCHED THEN UPDATE SET {column} = {value}",
            f"MERGE INTO {table} t USING (SELECT {first} AS id) s ON t.id = s.id "
            "WHEN MATCHED THEN DELETE",
        ]
    return forms


def test_every_statement_form_on_every_table_is_refused(record):
    engine = record
    before = snapshot(engine)
    assert all(before.values()), {t: len(rows) for t, rows in before.items()}
    tried = 0
    for table in TARGETS:
        for sql in statements(engine.dialect.name, table):
            refused(engine, sql)
            tried += 1
    assert snapshot(engine) == before
    assert tried >= 60


def test_replace_on_a_unique_column_cannot_delete_the_row_it_collides_with(record):
    """SQLite's REPLACE deletes whatever row shares a unique value, not only the key."""
    engine = record
    if engine.dialect.name != "sqlite":
        pytest.skip("REPLACE is SQLite's")
    before = snapshot(engine)
    for sql in (
        "INSERT OR REPLACE INTO acknowledgements (id, flag_id, by_id, at, action) "
        "SELECT 999, flag_id, by_id, at, 'rewritten' FROM acknowledgements LIMIT 1",
        "INSERT OR REPLACE INTO users (id, name, role, pin_hash, created_at, failed_pins) "
        "SELECT 999, name, 'supervisor', 'x', created_at, 0 FROM users LIMIT 1",
        "INSERT OR REPLACE INTO voids (id, reading_id, by_id, at, reason) "
        "SELECT 999, reading_id, by_id, at, 'rewritten' FROM voids LIMIT 1",
        "INSERT OR REPLACE INTO rems_submissions (id, session_id, by_id, at, answers) "
        "SELECT 999, session_id, by_id, at, '{}' FROM rems_submissions LIMIT 1",
        "INSERT OR REPLACE INTO treatment_sessions (id, patient_id, protocol, started_at, "
        "started_by_id) SELECT 999, patient_id, protocol, started_at, started_by_id "
        "FROM treatment_sessions WHERE discharged_at IS NULL",
    ):
        refused(engine, sql)
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE treatment_sessions SET discharged_at = NULL",  # reopen a signed session
        "UPDATE treatment_sessions SET override_reason = 'x' WHERE discharged_at IS NULL",
        "UPDATE treatment_sessions SET dosed_at = started_at WHERE dosed_at IS NOT NULL",
        "UPDATE treatment_sessions SET dose_override_reason = NULL",
        "UPDATE treatment_sessions SET patient_id = 2 WHERE patient_id = 1",
        "UPDATE treatment_sessions SET protocol = 'ketamine-iv'",
        "UPDATE treatment_sessions SET ready_minute = 1 WHERE discharged_at IS NOT NULL",
        "UPDATE treatment_sessions SET gate_at_discharge = NULL",
        "UPDATE treatment_sessions SET infusion_ended_at = started_at WHERE discharged_at IS NOT NULL",
        "UPDATE users SET name = 'mallory'",
        "UPDATE users SET created_at = NULL",
        "UPDATE patients SET identifier = 'OTHER'",
    ],
)
def test_illegal_transitions_are_refused(record, sql):
    before = snapshot(record)
    refused(record, sql)
    assert snapshot(record) == before


def test_a_legal_transition_writes_its_own_audit_row(record):
    engine = record
    with engine.begin() as c:
        c.execute(text("UPDATE users SET role = 'supervisor' WHERE name = 'bo'"))
    with engine.connect() as c:
        row = c.execute(
            text("SELECT action, entity, before, after FROM audit_log ORDER BY id DESC LIMIT 1")
        ).one()
    assert (row.action, row.entity) == ("db.user.update", "user")
    assert '"nurse"' in row.before and '"supervisor"' in row.after


def test_a_second_active_session_for_a_patient_is_refused_by_the_database(record):
    """The partial unique index (one active session per patient) is in the schema, though
    the models name it only where they are compared with the migrations."""
    from sqlalchemy import inspect

    engine = record
    with engine.connect() as c:
        columns = [
            col["name"]
            for col in inspect(c).get_columns("treatment_sessions")
            if col["name"] != "id"
        ]
        active = c.execute(
            text("SELECT id FROM treatment_sessions WHERE discharged_at IS NULL")
        ).scalar_one()
        indexes = {i["name"]: i for i in inspect(c).get_indexes("treatment_sessions")}
    assert indexes[ONE_ACTIVE_INDEX]["unique"]
    listed = ", ".join(columns)
    before = snapshot(engine)
    with (
        pytest.raises(Exception, match=r"UNIQUE|unique|already has an active session"),
        engine.begin() as c,
    ):
        c.execute(
            text(
                f"INSERT INTO treatment_sessions ({listed}) "
                f"SELECT {listed} FROM treatment_sessions WHERE id = {active}"
            )
        )
    assert snapshot(engine) == before


# -- issue 20: rules that hold for whoever writes, owner included (both backends) --------------

SIGNED_SESSION_ROWS = {
    "reading": "INSERT INTO readings (session_id, measured_at, recorded_at, recorded_by_id, "
    "systolic, diastolic, before_dosing) SELECT 1, {now}, {now}, id, 80, 40, {false} "
    "FROM users WHERE name = 'sam'",
    "void": "INSERT INTO voids (reading_id, by_id, at, reason) SELECT (SELECT max(id) FROM "
    "readings WHERE session_id = 1), id, {now}, 'x' FROM users WHERE name = 'sam'",
    "event": "INSERT INTO events (session_id, kind, at, by_id, text, recorded_at) SELECT 1, "
    "'note', {now}, id, 'x', {now} FROM users WHERE name = 'sam'",
    "check skip": "INSERT INTO check_skips (session_id, label, by_id, at, reason) SELECT 1, "
    "'+999 min', id, {now}, 'x' FROM users WHERE name = 'sam'",
    "validation": "INSERT INTO validations (reading_id, by_id, at) SELECT (SELECT max(id) FROM "
    "readings WHERE session_id = 1), id, {now} FROM users WHERE name = 'sam'",
    "acknowledgement": "INSERT INTO acknowledgements (flag_id, by_id, at, action) SELECT "
    "(SELECT max(f.id) FROM flags f JOIN readings r ON r.id = f.reading_id WHERE "
    "r.session_id = 1), id, {now}, 'x' FROM users WHERE name = 'sam'",
}


def _sql(engine, template: str) -> str:
    sqlite = engine.dialect.name == "sqlite"
    now = "'2026-11-27 12:00:00.000000'" if sqlite else "now()"
    return template.format(now=now, false="0" if sqlite else "false")


@pytest.mark.parametrize("what", list(SIGNED_SESSION_ROWS))
def test_nothing_is_added_to_a_signed_session_whoever_writes(record, what):
    with pytest.raises(Exception, match="signed"), record.begin() as connection:
        connection.execute(text(_sql(record, SIGNED_SESSION_ROWS[what])))


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO sign_offs (session_id, by_id, at, meaning) SELECT 2, id, {now}, "
        "'reviewed' FROM users WHERE name = 'ana'",
        "INSERT INTO reopenings (session_id, by_id, at, reason) SELECT 1, id, {now}, 'x' "
        "FROM users WHERE name = 'ana'",
        "INSERT INTO rems_corrections (session_id, field, value, by_id, at, reason) SELECT 1, "
        "'sedation', {false}, id, {now}, 'x' FROM users WHERE name = 'ana'",
        "INSERT INTO devices (name, by_id, at) SELECT 'X', id, {now} FROM users WHERE name = 'ana'",
        "INSERT INTO device_bays (device_id, bay, by_id, at) SELECT (SELECT min(id) FROM devices), "
        "'Bay 1', id, {now} FROM users WHERE name = 'ana'",
    ],
)
def test_only_a_supervisor_signs_reopens_or_corrects_rems_whoever_writes(record, sql):
    with pytest.raises(Exception, match="supervisor"), record.begin() as connection:
        connection.execute(text(_sql(record, sql)))


def test_a_copied_sqlite_file_does_not_verify_pins_without_the_clinics_secret(
    tmp_path, clock, monkeypatch
):
    from monitor.pins import verify_pin
    from monitor.services import Service

    db = tmp_path / "clinic.db"
    service = Service.open(str(db), clock=clock)
    service.add_user("sam", "supervisor", "9999")
    service.close()
    engine = make_engine(str(db))
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT pin_hash FROM users")).scalar_one()
    engine.dispose()
    assert stored.startswith("scrypt-hmac$")
    # The thief has the file, not the secret: every guess fails, the right PIN too.
    assert not any(verify_pin(f"{n:04d}", stored, b"\0" * 32) for n in (9999, 1234, 0))
    monkeypatch.setenv("MONITOR_SECRET_FILE", str(tmp_path / "elsewhere" / "pin-secret"))
    stolen = Service.open(str(db), clock=clock)
    with pytest.raises(Exception, match="secret file"):
        stolen.authenticate("sam", "9999")
    stolen.close()
