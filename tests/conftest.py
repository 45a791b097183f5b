"""Fixtures: real SQLite files and a real PostgreSQL database, never mocks.

PostgreSQL: ``MONITOR_TEST_PG_URL`` (default the machine's server). Without a server the
PostgreSQL variants skip with the reason; with ``MONITOR_REQUIRE_POSTGRES=1`` (set by .ci/run)
they fail instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from monitor.services import Service
from monitor.store.engine import make_engine
from monitor.store.migrate import ensure_schema
from tests.helpers import DOSED

# Local times on screens and in snapshots must not depend on the machine's zone.
os.environ["TZ"] = "UTC"
# The clinic's secret for SQLite PINs (monitor.pins): the tests' own, never the user's.
os.environ["MONITOR_SECRET_FILE"] = os.path.join(
    tempfile.mkdtemp(prefix="monitor-secret-"), "pin-secret"
)
time.tzset()

PG_URL = os.environ.get(
    "MONITOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_PG = os.environ.get("MONITOR_REQUIRE_POSTGRES") == "1"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment
        return moment


def _admin_engine():
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def _pg_available() -> str | None:
    try:
        engine = _admin_engine()
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as error:  # any failure means: no server to test against
        return f"PostgreSQL not reachable at {PG_URL}: {str(error).splitlines()[0]}"


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database used as the template for each test's database."""
    reason = _pg_available()
    if reason:
        if REQUIRE_PG:
            pytest.fail(f"MONITOR_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    name = f"monitor_tmpl_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    ensure_schema(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def new_pg_database(template_url: str) -> tuple[str, str]:
    """A fresh database copied from the template; returns (url, name)."""
    template = make_url(template_url).database
    name = f"monitor_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False), name


def drop_pg_database(name: str) -> None:
    """Drop a test database, closing whatever still uses it."""
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """A migrated SQLite file copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(str(path))
    ensure_schema(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return str(path)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    """A fresh, migrated database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "monitor.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        os.chmod(path, 0o600)
        yield f"sqlite:///{path}"
    else:
        url, name = new_pg_database(request.getfixturevalue("pg_template"))
        yield url
        drop_pg_database(name)


@pytest.fixture
def clock() -> FakeClock:
    """A clock set 30 min before the test dose."""
    return FakeClock(DOSED - timedelta(minutes=30))


@pytest.fixture
def service(db_url, clock) -> Iterator[Service]:
    """The services on a fresh database, with a nurse ``ana`` and a supervisor ``sam``."""
    svc = Service.open(db_url, clock=clock)
    svc.add_user("sam", "supervisor", "9999")  # the first user of a database is a supervisor
    svc.add_user("ana", "nurse", "1234", by="sam")
    svc.add_user("bo", "nurse", "2345", by="sam")
    yield svc
    svc.close()
