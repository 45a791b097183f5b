"""Migrations on both backends: models and migrations agree, a new database is created at the
newest schema, one behind is refused, and every migration keeps every row (docs/storage.md, "Migrations": the cascade
trap)."""

from __future__ import annotations

import os
import stat
import uuid
from datetime import UTC, datetime

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from monitor.errors import Refused
from monitor.store.engine import make_engine
from monitor.store.migrate import (
    SCHEMA_HEAD,
    alembic_config,
    check,
    current_revision,
    ensure_schema,
    run_upgrade,
    upgrade,
)
from tests.conftest import PG_URL, _admin_engine, drop_pg_database, new_pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path):
    """An empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    request.getfixturevalue("pg_template")
    name = f"monitor_empty_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    drop_pg_database(name)


def migrate_to(url: str, revision: str) -> None:
    run_upgrade(url, revision)


def revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def test_schema_head_constant_is_the_newest_migration():
    assert revisions()[-1] == SCHEMA_HEAD


def test_models_and_migrations_agree(empty_url):
    # Brought to the newest schema one migration at a time from the first, as a clinic's
    # database is: models and migrations agree, and its triggers, functions and grants are a
    # fresh database's (`db check` compares them; it refuses a database without the schema).
    migrate_to(empty_url, revisions()[0])
    upgrade(empty_url)
    assert check(empty_url) == []  # raises Refused on drift


def test_new_empty_database_is_brought_to_the_newest_schema(empty_url):
    engine = make_engine(empty_url)
    assert current_revision(engine) is None
    ensure_schema(engine)
    assert current_revision(engine) == SCHEMA_HEAD
    ensure_schema(engine)  # idempotent
    engine.dispose()


def test_new_sqlite_file_is_private(tmp_path):
    path = tmp_path / "new.db"
    engine = make_engine(str(path))
    ensure_schema(engine)
    engine.dispose()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_database_behind_is_refused_naming_db_upgrade(empty_url):
    migrate_to(empty_url, revisions()[0])
    engine = make_engine(empty_url)
    with pytest.raises(Refused, match="monitor db upgrade"):
        ensure_schema(engine)
    engine.dispose()
    result = upgrade(empty_url)
    assert (result.before, result.after) == (revisions()[0], SCHEMA_HEAD)
    if empty_url.startswith("sqlite"):
        assert result.backup is not None and result.backup.exists()
        assert stat.S_IMODE(os.stat(result.backup).st_mode) == 0o600
    engine = make_engine(empty_url)
    ensure_schema(engine)
    engine.dispose()


def test_foreign_tables_without_a_version_are_refused(tmp_path):
    path = tmp_path / "other.db"
    engine = make_engine(str(path))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE something (id INTEGER PRIMARY KEY)"))
    with pytest.raises(Refused, match="no monitor schema version"):
        ensure_schema(engine)
    engine.dispose()


NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC).replace(tzinfo=None).isoformat(sep=" ")


def populate(url: str) -> None:
    """Rows in every table, written as plain SQL that the first schema accepts."""
    engine = make_engine(url)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO users (id, name, role, pin_hash, created_at) VALUES "
                "(1, 'ana', 'nurse', 'x', :t), (2, 'sam', 'supervisor', 'x', :t)"
            ),
            {"t": NOW},
        )
        c.execute(
            text("INSERT INTO patients (id, identifier, created_at) VALUES (1, 'P1', :t)"),
            {"t": NOW},
        )
        for sid in (1, 2):
            c.execute(
                text(
                    "INSERT INTO treatment_sessions (id, patient_id, protocol, started_at, "
                    "started_by_id, dosed_at, discharged_at) VALUES (:id, 1, 'esketamine-84', :t, 1, "
                    ":t, :d)"
                ),
                {"id": sid, "t": NOW, "d": NOW if sid == 1 else None},
            )
        for rid in range(1, 21):
            c.execute(
                text(
                    "INSERT INTO readings (id, session_id, measured_at, recorded_at, recorded_by_id, "
                    "systolic, diastolic, heart_rate, before_dosing, corrects_id) VALUES "
                    "(:id, :sid, :t, :t, 1, 185, 90, 80, false, :corrects)"
                ),
                {"id": rid, "sid": 1 + rid % 2, "t": NOW, "corrects": 1 if rid == 20 else None},
            )
            c.execute(
                text(
                    "INSERT INTO flags (id, reading_id, measure, severity, rule, message) VALUES "
                    "(:id, :id, 'systolic', 'high', 'systolic.high.above', 'SBP 185 >= 180')"
                ),
                {"id": rid},
            )
            c.execute(
                text(
                    "INSERT INTO audit_log (at, user_name, action, session_id, entity, entity_id) "
                    "VALUES (:t, 'ana', 'reading.record', 1, 'reading', :id)"
                ),
                {"t": NOW, "id": rid},
            )
        c.execute(
            text(
                "INSERT INTO acknowledgements (flag_id, by_id, at, action) VALUES (1, 1, :t, 'fluids')"
            ),
            {"t": NOW},
        )
        c.execute(
            text(
                "INSERT INTO sign_offs (session_id, by_id, at, meaning) VALUES (1, 2, :t, 'reviewed')"
            ),
            {"t": NOW},
        )
    engine.dispose()


TABLES = (
    "users",
    "patients",
    "treatment_sessions",
    "readings",
    "flags",
    "acknowledgements",
    "sign_offs",
    "audit_log",
)


def table_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as c:
        found = {t: c.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in TABLES}
    engine.dispose()
    return found


def test_every_migration_keeps_every_row(empty_url):
    steps = revisions()
    migrate_to(empty_url, steps[0])
    populate(empty_url)
    before = table_counts(empty_url)
    assert before["readings"] == 20 and before["flags"] == 20
    for step in steps[1:]:
        migrate_to(empty_url, step)
        assert table_counts(empty_url) == before, f"rows lost migrating to {step}"
    engine = make_engine(empty_url)
    assert current_revision(engine) == SCHEMA_HEAD
    # The rebuilt tables still refuse changes, and still hold their links.
    for sql in ("UPDATE readings SET systolic = 1", "DELETE FROM flags", "DELETE FROM readings"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as c:
            c.execute(text(sql))
    with engine.connect() as c:
        corrected = c.execute(text("SELECT corrects_id FROM readings WHERE id = 20")).scalar()
    assert corrected == 1
    engine.dispose()
    assert table_counts(empty_url) == before


def test_upgrade_over_a_pg_template_copy_is_a_no_op(pg_template):
    url, name = new_pg_database(pg_template)
    try:
        result = upgrade(url)
        assert result.before == result.after == SCHEMA_HEAD
    finally:
        drop_pg_database(name)


def test_revision_2_keeps_old_sessions_meaning_and_new_tables_are_append_only(empty_url):
    migrate_to(empty_url, "0002")
    populate(empty_url)
    engine = make_engine(empty_url)
    with engine.begin() as c:
        c.execute(text("UPDATE treatment_sessions SET ready_minute = 95 WHERE id = 1"))
    engine.dispose()
    migrate_to(empty_url, "0003")
    engine = make_engine(empty_url)
    with engine.connect() as c:
        row = c.execute(
            text(
                "SELECT gate_at_discharge, ready_minute, ready_minute_proposed, escort "
                "FROM treatment_sessions WHERE id = 1"
            )
        ).one()
    assert tuple(row) == (None, 95, 95, None)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO events (session_id, kind, text, at, recorded_at, by_id) "
                "VALUES (2, 'note', 'calm', :t, :t, 1)"
            ),
            {"t": NOW},
        )
        c.execute(
            text("INSERT INTO voids (reading_id, by_id, at, reason) VALUES (2, 1, :t, 'wrong')"),
            {"t": NOW},
        )
    for sql in ("UPDATE events SET text = 'x'", "DELETE FROM events", "DELETE FROM voids"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as c:
            c.execute(text(sql))
    # One active session per patient, in the database itself.
    with pytest.raises(Exception, match=r"(?i)unique"), engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO treatment_sessions (patient_id, protocol, started_at, started_by_id) "
                "VALUES (1, 'esketamine-84', :t, 1)"
            ),
            {"t": NOW},
        )
    engine.dispose()


def test_revision_2_refuses_two_active_sessions_for_one_patient(empty_url):
    migrate_to(empty_url, "0002")
    populate(empty_url)
    engine = make_engine(empty_url)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO treatment_sessions (id, patient_id, protocol, started_at, "
                "started_by_id) VALUES (3, 1, 'esketamine-84', :t, 1)"
            ),
            {"t": NOW},
        )
    before = table_counts(empty_url)
    with pytest.raises(Refused, match="one active session per patient"):
        migrate_to(empty_url, "0003")
    assert current_revision(engine) == "0002"
    engine.dispose()
    assert table_counts(empty_url) == before


def test_a_session_discharged_before_revision_2_shows_its_gate_as_not_stored(empty_url):
    from monitor.present.json import session_json
    from monitor.services import Service

    migrate_to(empty_url, "0002")
    populate(empty_url)
    migrate_to(empty_url, SCHEMA_HEAD)
    service = Service.open(empty_url)
    try:
        shown = session_json(service.session(1))
        assert shown["status"] == "discharged"
        assert shown["discharge"]["gate_at_discharge"] is None
        assert shown["discharge"]["ready"] is False  # judged as before, for reading only
        assert shown["events"] == [] and shown["meds"] is None
        active = session_json(service.session(2))
        assert active["status"] == "active" and active["readings"]
    finally:
        service.close()


def test_revision_3_keeps_a_populated_revision_2_record_and_guards_it(empty_url):
    """Migration 0008 over a record of revision 2 (0007): no row lost, the sessions follow
    version 1 of the rules, the flags were raised by their readings, a REMS correction kept,
    and the rebuilt tables and the new session guard still refuse what they must."""
    steps = revisions()
    migrate_to(empty_url, steps[0])
    populate(empty_url)
    migrate_to(empty_url, "0007")
    engine = make_engine(empty_url)
    with engine.begin() as c:
        c.execute(text("UPDATE treatment_sessions SET dosed_at = :t WHERE id = 1"), {"t": NOW})
        c.execute(
            text(
                "INSERT INTO rems_corrections (session_id, field, value, by_id, at, reason) "
                "VALUES (1, 'sedation', true, 2, :t, 'asleep at +30')"
            ),
            {"t": NOW},
        )
    engine.dispose()
    before = table_counts(empty_url)
    migrate_to(empty_url, "0008")
    assert table_counts(empty_url) == before
    engine = make_engine(empty_url)
    with engine.connect() as c:
        assert c.execute(text("SELECT id, body FROM config_versions")).all() == [(1, "")]
        versions = c.execute(text("SELECT DISTINCT config_version FROM treatment_sessions"))
        assert [v for (v,) in versions] == [1]
        raised = c.execute(text("SELECT DISTINCT raised_by FROM flags")).all()
        assert [r for (r,) in raised] == ["reading"]
        kept = c.execute(text("SELECT field, value, minute FROM rems_corrections")).one()
        assert (kept.field, bool(kept.value), kept.minute) == ("sedation", True, None)
    for sql in (
        "UPDATE flags SET severity = 'low'",
        "UPDATE rems_corrections SET reason = 'x'",
        "UPDATE config_versions SET body = 'x'",
        "DELETE FROM config_versions",
    ):
        with pytest.raises(Exception, match="append-only"), engine.begin() as c:
            c.execute(text(sql))
    # The session guard of revision 3: dosing is set once; an infusion end changes only beside
    # its correction row.
    with pytest.raises(Exception, match="refused"), engine.begin() as c:
        c.execute(text("UPDATE treatment_sessions SET dosed_at = NULL WHERE id = 1"))
    engine.dispose()
    assert table_counts(empty_url) == before


def test_revision_0009_keeps_every_row_and_the_pins_as_each_backend_can(empty_url, clock):
    """Migration 0009 over a populated record of 0008: no row lost, no audit row added. On
    SQLite an old PIN still signs in and is hashed again under the clinic's secret; on
    PostgreSQL the database cannot check an old hash: that user is refused until the owner's
    `user recover`, and the hash is no longer in ``users``."""
    import hashlib

    from monitor.services import Service

    migrate_to(empty_url, revisions()[0])
    populate(empty_url)
    migrate_to(empty_url, "0008")
    engine = make_engine(empty_url)
    with engine.begin() as c:
        # An old scrypt hash of 9999 (before the clinic's secret).
        salt = bytes(16)
        digest = hashlib.scrypt(b"9999", salt=salt, n=2**14, r=8, p=1, dklen=32)
        legacy = f"scrypt${2**14}$8$1${salt.hex()}${digest.hex()}"
        c.execute(text("UPDATE users SET pin_hash = :h WHERE name = 'sam'"), {"h": legacy})
    engine.dispose()
    before = table_counts(empty_url)
    migrate_to(empty_url, "0009")
    assert table_counts(empty_url) == before
    migrate_to(empty_url, "0010")  # (the services open the newest schema only)
    service = Service.open(empty_url, clock=clock)
    try:
        if service.engine.dialect.name == "sqlite":
            assert service.authenticate("sam", "9999").name == "sam"
            with service.engine.connect() as c:
                stored = c.execute(text("SELECT pin_hash FROM users WHERE name = 'sam'")).scalar()
            assert stored.startswith("scrypt-hmac$")
        else:
            with pytest.raises(Refused, match="not accepted"):
                service.authenticate("sam", "9999")
            with service.engine.connect() as c:
                kept = c.execute(text("SELECT DISTINCT pin_hash FROM users")).scalars().all()
            assert kept == ["*"]
            service.recover_user("sam", "7777")
            assert service.authenticate("sam", "7777").name == "sam"
    finally:
        service.close()
