"""The PostgreSQL test databases put back after a test (tests/pg_pool.py) hold exactly what
their template held, and one a test changed beyond its rows is dropped, never handed out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from monitor.services import Service
from tests.built import pg_contents
from tests.conftest import _admin_engine, _connect, _pg_url
from tests.helpers import DOSED
from tests.pg_pool import Databases, runner


@pytest.fixture
def pool() -> Iterator[Databases]:
    databases = Databases(runner(_admin_engine), _connect)
    yield databases
    databases.close()


def _exists(name: str) -> bool:
    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": name}
            )
            return bool(found.scalar())
    finally:
        engine.dispose()


def test_a_used_database_is_put_back_with_its_templates_rows_and_sequences(pool, pg_seeded):
    template = str(make_url(pg_seeded).database)
    name = pool.take(template)
    url = _pg_url(name)
    before = pg_contents(url)
    svc = Service.open(url, clock=lambda: DOSED)
    session = svc.start_session(patient="MRN-1", protocol="ketamine-im", by="ana", bay="Bay 1")
    svc.record_reading(session, "128/82 hr 74 spo2 98 rr 14 moaas 5 cadss 0", by="ana")
    svc.add_user("cy", "nurse", "4567", by="sam")
    svc.close()
    lingering = create_engine(url).connect()  # a session the test left open
    assert pg_contents(url) != before

    pool.give_back(name)
    pool.wait()

    assert pool.tally.get("put back") == 1, pool.tally
    assert pool.take(template) == name  # handed out again, as the template was
    assert pg_contents(url) == before
    with pytest.raises(DBAPIError):  # ended by the server
        lingering.execute(text("SELECT 1"))
    pool.give_back(name)


CHANGES = {
    "a table": "CREATE TABLE extra (x int)",
    "a trigger turned off": "ALTER TABLE readings DISABLE TRIGGER ALL",
    "a grant": "GRANT SELECT ON readings TO PUBLIC",
    "a function": "CREATE FUNCTION extra() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "a comment": "COMMENT ON TABLE readings IS 'changed'",
    "a column dropped": "ALTER TABLE patients DROP COLUMN created_at",
    "statistics": "ANALYZE readings",
    "a sequence altered": "ALTER SEQUENCE readings_id_seq INCREMENT BY 2",
    "vacuumed": "VACUUM readings",
    "a change rolled back": "BEGIN; CREATE TABLE extra (x int); ROLLBACK",
    "a database setting": "ALTER DATABASE \"{name}\" SET work_mem = '8MB'",
    "a database privilege": 'REVOKE CONNECT ON DATABASE "{name}" FROM PUBLIC',
    "a connection limit": 'ALTER DATABASE "{name}" CONNECTION LIMIT 50',
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_database_changed_beyond_its_rows_is_dropped_not_handed_out(pool, pg_seeded, change):
    template = str(make_url(pg_seeded).database)
    name = pool.take(template)
    connection = _connect(name)
    try:
        connection.execute(change.format(name=name))
    finally:
        connection.close()

    pool.give_back(name)
    pool.wait()

    assert pool.tally.get("dropped: changed") == 1, pool.tally
    assert "put back" not in pool.tally
    assert not _exists(name)
    fresh = pool.take(template)  # a fresh copy in its place
    assert fresh != name
    pool.give_back(fresh)
