"""PostgreSQL least privilege: `monitor db upgrade` runs as the owner and grants the station
role exactly what stations need; connected as that role, the product works and the record's
guards cannot be switched off."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

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
