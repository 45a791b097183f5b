"""PostgreSQL least privilege: `monitor db upgrade` runs as the owner and grants the station
role exactly what stations need; connected as that role, the product works and the record's
guards cannot be switched off."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from monitor.services import Service
from monitor.store.engine import make_engine
from monitor.store.migrate import STATION_ROLE, upgrade
from tests.conftest import drop_pg_database, new_pg_database
from tests.helpers import at

pytestmark = pytest.mark.postgres

OK = "120/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0"


@pytest.fixture
def station_url(pg_template, clock):
    url, name = new_pg_database(pg_template)
    upgrade(url)  # as the owner: grants the station role
    owner = Service.open(url, clock=clock)
    owner.add_user("sam", "supervisor", "9999")
    owner.add_user("ana", "nurse", "1234", by="sam")
    owner.close()
    yield make_url(url).set(username=STATION_ROLE).render_as_string(hide_password=False)
    drop_pg_database(name)


def test_the_station_role_runs_a_whole_session(station_url, clock):
    service = Service.open(station_url, clock=clock)
    try:
        service.authenticate("ana", "1234")  # the database itself checks both PINs
        service.authenticate("sam", "9999")
        clock.set(at(-40))
        sid = service.start_session(
            patient="P", protocol="esketamine-84", by="ana", age=50, meds=()
        )
        clock.set(at(-5))
        service.record_reading(sid, OK, by="ana", key="k-1")
        clock.set(at(0))
        service.record_dose(sid, by="ana")
        clock.set(at(40))
        high = service.record_reading(sid, "182/96 hr 80 spo2 98 moaas 5 cadss 0", by="ana")
        service.acknowledge_many([f.id for f in high.flags], by="ana", action="rechecked")
        service.add_event(sid, kind="note", by="ana", text="calm")
        with pytest.raises(Exception, match="not accepted"):
            service.authenticate("ana", "0000")
        clock.set(at(121))
        service.discharge(
            sid,
            by="ana",
            override_reason="test",
            escort="none",
            instructions_given=True,
            cosign="sam",
        )
        service.sign(sid, by="sam", pin="9999")
        assert service.session(sid).signed_by == "sam"
    finally:
        service.close()


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE readings DISABLE TRIGGER ALL",
        "ALTER TABLE readings DISABLE TRIGGER readings_append_only",
        "SET session_replication_role = replica",
        "ALTER TABLE readings ADD COLUMN x integer",
        "DROP TABLE audit_log",
        "TRUNCATE audit_log",
        "UPDATE users SET role = 'supervisor'",
        "UPDATE readings SET systolic = 1",
        "DELETE FROM audit_log",
        "DROP TRIGGER readings_append_only ON readings",
        "CREATE OR REPLACE FUNCTION monitor_append_only() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN NEW; END $$",
        "UPDATE alembic_version SET version_num = '0001'",
    ],
)
def test_the_station_role_cannot_switch_the_guards_off(station_url, sql):
    engine = make_engine(station_url)
    try:
        denied = r"(?i)(permission denied|must be owner|refused)"
        with pytest.raises(Exception, match=denied), engine.begin() as connection:
            connection.execute(text(sql))
    finally:
        engine.dispose()


# -- the database knows who acts (issue 20): every forged row refused --------------------------


@pytest.fixture
def station_record(station_url, clock):
    """As the station role: a signed session (1) and an active one (2) with an alarm; ana and
    sam signed in the proper way. Yields a raw engine as the station role."""
    service = Service.open(station_url, clock=clock)
    service.authenticate("ana", "1234")
    service.authenticate("sam", "9999")
    clock.set(at(-40))
    signed = service.start_session(
        patient="P1", protocol="esketamine-84", by="ana", age=50, meds=()
    )
    clock.set(at(-5))
    service.record_reading(signed, OK, by="ana")
    clock.set(at(0))
    service.record_dose(signed, by="ana")
    for minute in (15, 30, 40, 60, 90, 118):
        clock.set(at(minute))
        service.record_reading(signed, OK, by="ana")
    clock.set(at(121))
    service.discharge(signed, by="ana", escort="none", instructions_given=True)
    service.sign(signed, by="sam", pin="9999")
    clock.set(at(200))
    active = service.start_session(patient="P2", protocol="ketamine-im", by="ana")
    clock.set(at(205))
    service.record_reading(active, "185/100 hr 70", by="ana")
    service.add_device("MP5-1", bay="Bay 1", by="sam")  # (a device to move)
    service.close()
    engine = make_engine(station_url)
    yield engine
    engine.dispose()


def _refused(engine, *statements: str, params: dict | None = None) -> str:
    """Run ``statements`` in one transaction as the station; return the refusal's text."""
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement), params or {})
    except DBAPIError as error:
        return str(error)
    pytest.fail(f"not refused: {statements}")


def _sign_in(name: str, pin: str) -> str:
    return f"SELECT monitor_auth.sign_in('{name}', '{pin}', 5, 15)"


DENIED = r"(?i)(permission denied|refused|proved no PIN|only|InsufficientPrivilege)"

FORGED_ROWS = {
    "a supervisor": "INSERT INTO users (name, role, pin_hash, created_at, failed_pins, locks) "
    "VALUES ('mallory', 'supervisor', '*', now(), 0, 0)",
    "a sign-off by sam": "INSERT INTO sign_offs (session_id, by_id, at, meaning) "
    "SELECT 2, id, now(), 'reviewed' FROM users WHERE name = 'sam'",
    "a reopening by sam": "INSERT INTO reopenings (session_id, by_id, at, reason) "
    "SELECT 1, id, now(), 'x' FROM users WHERE name = 'sam'",
    "a void by sam": "INSERT INTO voids (reading_id, by_id, at, reason) "
    "SELECT (SELECT max(id) FROM readings WHERE session_id = 2), id, now(), 'x' "
    "FROM users WHERE name = 'sam'",
    "an acknowledgement by sam": "INSERT INTO acknowledgements (flag_id, by_id, at, action) "
    "SELECT (SELECT max(id) FROM flags), id, now(), 'x' FROM users WHERE name = 'sam'",
    "a reading by ana": "INSERT INTO readings (session_id, measured_at, recorded_at, "
    "recorded_by_id, systolic, diastolic, before_dosing) SELECT 2, now(), now(), id, 80, 40, "
    "false FROM users WHERE name = 'ana'",
    "an audit row by sam": "INSERT INTO audit_log (at, user_name, action, entity) "
    "VALUES (now(), 'sam', 'session.sign', 'session')",
    "an audit row by the database": "INSERT INTO audit_log (at, user_name, action, entity) "
    "VALUES (now(), NULL, 'db.session.update', 'session')",
    "a patient": "INSERT INTO patients (identifier, created_at) VALUES ('X', now())",
    "a device added by sam": "INSERT INTO devices (name, by_id, at) "
    "SELECT 'MP5-X', id, now() FROM users WHERE name = 'sam'",
    "a device moved by sam": "INSERT INTO device_bays (device_id, bay, by_id, at) "
    "SELECT (SELECT min(id) FROM devices), 'Bay 9', id, now() FROM users WHERE name = 'sam'",
    "a validation by sam": "INSERT INTO validations (reading_id, by_id, at) "
    "SELECT (SELECT max(id) FROM readings WHERE session_id = 2), id, now() "
    "FROM users WHERE name = 'sam'",
}


@pytest.mark.parametrize("what", list(FORGED_ROWS))
def test_a_row_in_a_name_that_proved_no_pin_is_refused(station_record, what):
    assert re.search(DENIED, _refused(station_record, FORGED_ROWS[what]))


@pytest.mark.parametrize("what", [w for w in FORGED_ROWS if "ana" not in w and w != "a patient"])
def test_a_proof_of_ana_does_not_let_her_write_in_sams_name(station_record, what):
    assert re.search(DENIED, _refused(station_record, _sign_in("ana", "1234"), FORGED_ROWS[what]))


def test_ana_proven_writes_in_her_own_name_but_not_with_a_forged_id(station_record):
    with station_record.begin() as connection:
        connection.execute(text(_sign_in("ana", "1234")))
        connection.execute(text(FORGED_ROWS["a reading by ana"]))
        connection.execute(
            text(
                "INSERT INTO audit_log (at, user_name, action, entity) "
                "VALUES (now(), 'ana', 'note', 'session')"
            )
        )
    future = _refused(
        station_record,
        _sign_in("ana", "1234"),
        "INSERT INTO audit_log (id, at, user_name, action, entity) "
        "VALUES (999999, now(), 'ana', 'note', 'session')",
    )
    assert "sequence" in future


def test_a_forged_or_replayed_proof_is_worth_nothing(station_record):
    with station_record.begin() as connection:
        connection.execute(text(_sign_in("sam", "9999")))
        proof = connection.execute(text("SELECT current_setting('monitor.proof')")).scalar_one()
    replayed = _refused(
        station_record,
        "SELECT pg_current_xact_id()",
        f"SELECT set_config('monitor.proof', '{proof}', true)",
        FORGED_ROWS["a sign-off by sam"],
    )
    assert re.search(DENIED, replayed)
    with station_record.begin() as connection:
        xid = connection.execute(text("SELECT pg_current_xact_id()::text")).scalar_one()
        forged = f"{xid}|1,2,3|" + "0" * 64
        connection.execute(text(f"SELECT set_config('monitor.proof', '{forged}', true)"))
        assert connection.execute(text("SELECT monitor_auth.proven()")).scalar_one() == []


def test_the_station_cannot_read_or_set_a_pin_hash(station_record):
    with station_record.connect() as connection:
        hashes = connection.execute(text("SELECT DISTINCT pin_hash FROM users")).scalars().all()
    assert hashes == ["*"]
    for sql in (
        "SELECT * FROM monitor_private.pins",
        "SELECT * FROM monitor_private.secret",
        "SELECT * FROM monitor_private.tokens",
        "UPDATE users SET pin_hash = 'x' WHERE name = 'sam'",
        "UPDATE users SET locked_until = NULL",
        "SELECT * FROM users FOR UPDATE",
        "SELECT * FROM users FOR KEY SHARE",
        "LOCK TABLE users",
    ):
        assert re.search(r"(?i)permission denied", _refused(station_record, sql)), sql


def test_the_user_functions_refuse_whoever_did_not_prove_a_supervisors_pin(station_record):
    calls = (
        "SELECT monitor_auth.add_user('mallory', 'supervisor', '4444')",
        "SELECT monitor_auth.set_pin('sam', '4444')",
        "SELECT monitor_auth.unlock('ben')",
        "SELECT monitor_auth.disable('sam')",
        "SELECT monitor_auth.recover('sam', '4444')",
    )
    for call in calls:
        assert re.search(DENIED, _refused(station_record, call)), call
        assert re.search(DENIED, _refused(station_record, _sign_in("ana", "1234"), call)), call
    # sam proven: he may add a user, but even he cannot recover (the owner only).
    with station_record.begin() as connection:
        connection.execute(text(_sign_in("sam", "9999")))
        connection.execute(text("SELECT monitor_auth.add_user('cy', 'nurse', '5555')"))
    assert "owner" in _refused(
        station_record, _sign_in("sam", "9999"), "SELECT monitor_auth.recover('sam', '4444')"
    )


def test_a_token_must_be_one_the_database_gave(station_record):
    for token in ("", "x", "0" * 48, "zz" * 24):
        refusal = _refused(station_record, f"SELECT monitor_auth.act('{token}')")
        assert "sign in again" in refusal


def test_no_temporary_table_can_shadow_the_audit_trail(station_record):
    refusal = _refused(
        station_record, "CREATE TEMP TABLE audit_log (id integer, at timestamptz, user_name text)"
    )
    assert re.search(r"(?i)permission denied", refusal)
    with station_record.connect() as connection:
        unpinned = (
            connection.execute(
                text(
                    "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n "
                    "ON n.oid = p.pronamespace WHERE n.nspname IN ('public', 'monitor_auth', "
                    "'monitor_private') AND p.prolang = (SELECT oid FROM pg_language "
                    "WHERE lanname = 'plpgsql') AND NOT coalesce(array_to_string(p.proconfig, ',') "
                    "LIKE '%search_path=pg_catalog, pg_temp%', false)"
                )
            )
            .scalars()
            .all()
        )
    assert unpinned == []


def test_the_station_cannot_end_other_stations_connections(station_record, station_url):
    other = make_engine(station_url)
    try:
        with other.connect() as held:
            pid = held.execute(text("SELECT pg_backend_pid()")).scalar_one()
            for function in ("pg_terminate_backend", "pg_cancel_backend"):
                refusal = _refused(station_record, f"SELECT {function}({pid})")
                assert re.search(r"(?i)permission denied", refusal)
            assert held.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        other.dispose()


def test_nothing_is_added_to_a_signed_session_even_by_a_proven_supervisor(station_record):
    for sql in (
        "INSERT INTO readings (session_id, measured_at, recorded_at, recorded_by_id, systolic, "
        "diastolic, before_dosing) SELECT 1, now(), now(), id, 80, 40, false FROM users "
        "WHERE name = 'sam'",
        "INSERT INTO voids (reading_id, by_id, at, reason) SELECT (SELECT max(id) FROM readings "
        "WHERE session_id = 1), id, now(), 'x' FROM users WHERE name = 'sam'",
        "INSERT INTO events (session_id, kind, at, by_id, text, recorded_at) SELECT 1, 'note', "
        "now(), id, 'x', now() FROM users WHERE name = 'sam'",
    ):
        assert "signed" in _refused(station_record, _sign_in("sam", "9999"), sql)


def test_settings_a_station_gives_its_own_role_stop_no_station(station_url, clock):
    """PostgreSQL lets any role set its own defaults; every connection sets what matters."""
    database = make_url(station_url).database
    engine = make_engine(station_url)
    try:
        with engine.begin() as connection:
            for setting in (
                "default_transaction_read_only = on",
                "statement_timeout = 1",
                "lock_timeout = 1",
                "idle_session_timeout = 1",
                "search_path = nowhere",
            ):
                connection.execute(
                    text(f'ALTER ROLE monitor_station IN DATABASE "{database}" SET {setting}')
                )
    finally:
        engine.dispose()
    service = Service.open(station_url, clock=clock)
    try:
        service.authenticate("ana", "1234")
        clock.set(at(-40))
        sid = service.start_session(patient="P", protocol="ketamine-im", by="ana")
        service.record_reading(sid, OK, by="ana")
        assert len(service.session(sid).readings) == 1
    finally:
        service.close()


def test_a_withdrawn_or_disabled_sign_in_proves_nothing(station_url, clock):
    service = Service.open(station_url, clock=clock)
    engine = make_engine(station_url)
    try:
        service.authenticate("ana", "1234")
        token = service._tokens["ana"]
        service.sign_out("ana")  # the station locked
        assert "sign in again" in _refused(engine, f"SELECT monitor_auth.act('{token}')")
        with pytest.raises(DBAPIError, match=r"proved no PIN|no user proved"):
            service.start_session(patient="P", protocol="ketamine-im", by="ana")
        service.authenticate("ana", "1234")
        service.authenticate("sam", "9999")
        token = service._tokens["ana"]
        service.disable_user("ana", by="sam")
        assert "sign in again" in _refused(engine, f"SELECT monitor_auth.act('{token}')")
    finally:
        engine.dispose()
        service.close()


def test_a_supervisor_manages_users_through_the_station_role(station_url, clock):
    service = Service.open(station_url, clock=clock)
    try:
        service.authenticate("sam", "9999")
        service.add_user("cy", "nurse", "5555", by="sam")
        for _ in range(5):
            with pytest.raises(Exception, match="not accepted"):
                service.authenticate("cy", "0000")
        service.unlock_user("cy", by="sam")
        service.set_pin("cy", "6666", by="sam")
        assert service.authenticate("cy", "6666").name == "cy"
        service.set_pin("cy", "7777", by="cy")  # her own, proven
        service.disable_user("cy", by="sam")
        with pytest.raises(Exception, match="last active supervisor"):
            service.disable_user("sam", by="sam")
        with pytest.raises(Exception, match="owner"):
            service.recover_user("sam", "4444")
    finally:
        service.close()


def test_a_station_cannot_choose_the_lockout_nor_the_name_kept(station_record):
    """The lockout is the rules in force, whatever a station passes; a PIN typed as the name
    is never kept, whatever a station would have written."""
    with station_record.begin() as connection:
        for guess in range(1000, 1020):
            connection.execute(text(f"SELECT monitor_auth.sign_in('sam', '{guess}', 20, 1)"))
        connection.execute(text("SELECT monitor_auth.sign_in('4821', '0000', 20, 1)"))
    with station_record.connect() as connection:
        locked = connection.execute(
            text("SELECT locked_until - now() FROM users WHERE name = 'sam'")
        ).scalar_one()
        kept = (
            connection.execute(
                text("SELECT after FROM audit_log WHERE action = 'auth.refused' ORDER BY id")
            )
            .scalars()
            .all()
        )
    assert locked.total_seconds() > 14 * 60  # the clinic's 15 min, not the station's 1
    assert "locked for 15 min" in kept[4] and "4821" not in " ".join(kept)


def test_a_supervisor_loading_rules_tells_the_database_the_lockout(station_url, clock):
    service = Service.open(station_url, clock=clock)
    try:
        service.authenticate("sam", "9999")
        service.load_config(
            "[security]\nlockout_after = 3\n", source="t.toml", by="sam", reason="tighter"
        )
        for _ in range(3):
            with pytest.raises(Exception, match="not accepted"):
                service.authenticate("ana", "0000")
        with pytest.raises(Exception, match="not accepted"):
            service.authenticate("ana", "1234")  # locked after 3
    finally:
        service.close()
