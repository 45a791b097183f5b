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
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from monitor import pins
from monitor.services import Service
from monitor.store.engine import make_engine
from monitor.store.migrate import ensure_schema
from tests.helpers import DOSED
from tests.pg_pool import Databases, runner

# Local times on screens and in snapshots must not depend on the machine's zone.
os.environ["TZ"] = "UTC"
# The clinic's secret for SQLite PINs (monitor.pins): the tests' own, never the user's.
os.environ["MONITOR_SECRET_FILE"] = os.path.join(
    tempfile.mkdtemp(prefix="monitor-secret-"), "pin-secret"
)
time.tzset()


def _quick_pilot() -> None:
    """Textual's test pilot waits after every key it presses until the app looks idle: it sleeps
    20 ms at a time until a sleep passes with under 1 ms of CPU used (textual._wait), and the
    screen is drawn at most 60 times a second (textual.screen). A station test presses hundreds
    of keys, and spent nine tenths of its time in these waits. Here it sleeps 6 ms at a time
    (idle: under 0.3 ms of CPU, the same share) and the screen may be drawn every 2 ms, so that
    a wait still spans a redraw. What the app does and draws is the same: only the pilot's
    waits are shorter (docs/architecture.md, "Cheap set-ups")."""
    import textual._wait
    import textual.screen

    for module, name in ((textual._wait, "SLEEP_GRANULARITY"), (textual._wait, "SLEEP_IDLE")):
        assert hasattr(module, name), f"Textual changed: {module.__name__}.{name} is gone"
    assert hasattr(textual.screen, "UPDATE_PERIOD"), "Textual changed: no screen UPDATE_PERIOD"
    textual._wait.SLEEP_GRANULARITY = 0.006
    textual._wait.SLEEP_IDLE = 0.006 / 20
    textual.screen.UPDATE_PERIOD = 1 / 500
    _one_wait_per_key()


def _one_wait_per_key() -> None:
    """After each key, Textual's pilot waits for the app to look idle, then for animations,
    then for idle again (``App._press_keys``). The second wait matters only when the key
    started an animation: here it is made only then. A station test types every character of
    a line, and this was a third of its typing time. The key events, their order and the first
    wait are Textual's own (the same conversion of a character to a key).

    Printable characters typed while a text field has the focus are sent as one burst and
    waited for once, after the last: the station takes a burst in typed order (tui/inputs.py),
    and any other key still waits for the app to be idle before and after it."""
    import asyncio
    import unicodedata

    from textual import events
    from textual._wait import wait_for_idle
    from textual.app import App
    from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
    from textual.widgets import Input

    assert hasattr(App, "_press_keys"), "Textual changed: App._press_keys is gone"

    async def press_keys(self: App, keys) -> None:
        driver = self._driver
        assert driver is not None
        animator = self._animator
        typed = False  # characters sent to a text field, not yet waited for
        for key in keys:
            if key.startswith("wait:"):
                await asyncio.sleep(float(key.split(":")[1]) / 1000)
                await animator.wait_until_complete()
                continue
            burst = len(key) == 1 and key.isprintable() and isinstance(self.focused, Input)
            if typed and not burst:
                typed = False
                await wait_for_idle(0)
            if len(key) == 1 and not key.isalnum():
                key = _character_to_key(key)
            try:
                char = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
            except KeyError:
                char = key if len(key) == 1 else None
            event = events.Key(key, char)
            event.set_sender(self)
            driver.send_message(event)
            if burst:
                typed = True
                continue
            await wait_for_idle(0)
            if animator._animations or animator._scheduled:
                await animator.wait_until_complete()
                await wait_for_idle(0)
        if typed:
            await wait_for_idle(0)

    App._press_keys = press_keys  # type: ignore[method-assign]


_quick_pilot()

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


def _pg_url(name: str) -> str:
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def _new_pg_template(name: str, build, source: str | None = None) -> Iterator[str]:
    """A PostgreSQL template: a new database (a copy of ``source``, when given) made ready by
    ``build(url)``; dropped at the end of the session."""
    admin = _admin_engine()
    copy = "" if source is None else f' TEMPLATE "{make_url(source).database}"'
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    url = _pg_url(name)
    build(url)
    yield url
    _DATABASES.forget(name)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _migrate(url: str) -> None:
    engine = make_engine(url)
    ensure_schema(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database used as the template for each test's database."""
    reason = _pg_available()
    if reason:
        if REQUIRE_PG:
            pytest.fail(f"MONITOR_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    yield from _new_pg_template(f"monitor_tmpl_{uuid.uuid4().hex[:10]}", _migrate)


@pytest.fixture(scope="session")
def pg_seeded(pg_template) -> Iterator[str]:
    """:func:`pg_template` with the users of :func:`service`, added once for the session."""
    yield from _new_pg_template(f"monitor_seed_{uuid.uuid4().hex[:10]}", seed_users, pg_template)


def _connect(name: str):
    """An AUTOCOMMIT psycopg connection to database ``name`` as the admin."""
    import psycopg

    url = make_url(PG_URL).set(drivername="postgresql", database=name)
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)


#: The test databases of this worker, copied from templates ahead of time and put back after
#: (tests/pg_pool.py).
_DATABASES = Databases(runner(_admin_engine), _connect)


def new_pg_database(template_url: str) -> tuple[str, str]:
    """A fresh database copied from the template; returns (url, name)."""
    name = _DATABASES.take(str(make_url(template_url).database))
    return _pg_url(name), name


def drop_pg_database(name: str) -> None:
    """Done with a test database: whatever still uses it is closed, and it is put back for a
    later test, or dropped when it was not a copy the pool made or changed beyond its rows
    (after the test, by a thread; tests/pg_pool.py)."""
    _DATABASES.give_back(name)


def pytest_sessionfinish(session, exitstatus) -> None:
    """No test database is left behind: the drops ordered are done before the worker ends."""
    _DATABASES.close()


#: The users every :func:`service` has, as (name, role, PIN): the first a supervisor.
USERS = (("sam", "supervisor", "9999"), ("ana", "nurse", "1234"), ("bo", "nurse", "2345"))
#: When they were added: the start of the :func:`clock` fixture.
SEEDED_AT = DOSED - timedelta(minutes=30)


#: The scrypt cost (N) of the PINs that test set-ups store on SQLite: the least a stored hash
#: may name (monitor.pins.verify_pin), a sixteenth of the 2**14 every PIN a user gives gets.
SETUP_PIN_N = 2**10


@contextmanager
def cheap_pins() -> Iterator[None]:
    """Inside, :func:`monitor.pins.hash_pin` in this process hashes at :data:`SETUP_PIN_N`:
    for the users a test starts with, whose PINs are checked at every sign-in of the test.

    Only Python can ask for it (a test's set-up); no command, station or setting can, and
    tests/services/test_pin_cost.py checks that every PIN a user gives is hashed at full cost.
    """
    full = pins._N
    pins._N = SETUP_PIN_N
    try:
        yield
    finally:
        pins._N = full


#: The bcrypt cost of the PINs test set-ups store on PostgreSQL: pgcrypto's least, a sixteenth
#: of the :data:`monitor.store.identity.BCRYPT_COST` every PIN a user gives gets.
SETUP_BCRYPT_COST = 4


def cheap_pg_pins(url: str, given: dict[str, str]) -> None:
    """On PostgreSQL, the set-up users' PINs (name -> PIN) stored again at
    :data:`SETUP_BCRYPT_COST`: PostgreSQL hashes PINs itself, so :func:`cheap_pins` cannot
    reach them. The test's owner writes the private table as a migration would; every check
    of these PINs still runs the database's own sign-in (it reads the cost from the stored
    hash). Nothing on SQLite."""
    if "://" not in url or make_url(url).get_backend_name() != "postgresql":
        return  # an SQLite file's path, as --db takes it, or an SQLite URL
    from monitor.store.identity import PRIVATE, crypto_schema

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            crypto = crypto_schema(connection)
            for name, pin in given.items():
                written = connection.execute(
                    text(
                        f"UPDATE {PRIVATE}.pins p SET hash = {crypto}.crypt(:pin, "
                        f"{crypto}.gen_salt('bf', {SETUP_BCRYPT_COST})) "
                        "FROM users u WHERE u.id = p.user_id AND u.name = :name"
                    ),
                    {"pin": pin, "name": name},
                )
                assert written.rowcount == 1, f"no stored PIN of {name!r} to make cheap"
    finally:
        engine.dispose()


def seed_users(url: str, clock: FakeClock | None = None) -> None:
    """Add :data:`USERS` through the services, at :data:`SEEDED_AT` (or by ``clock``), as
    every test's :func:`service` had them added before templates held them; their PINs hashed
    at :data:`SETUP_PIN_N` on SQLite and at :data:`SETUP_BCRYPT_COST` on PostgreSQL."""
    svc = Service.open(url, clock=clock or FakeClock(SEEDED_AT))
    try:
        with cheap_pins():
            for name, role, pin in USERS:
                svc.add_user(name, role, pin, by=None if role == "supervisor" else "sam")
    finally:
        svc.close()
    cheap_pg_pins(url, {name: pin for name, _, pin in USERS})


def _sqlite_template(path: Path, seeded: bool) -> str:
    engine = make_engine(str(path))
    ensure_schema(engine)
    engine.dispose()
    if seeded:
        seed_users(f"sqlite:///{path}")
    engine = make_engine(str(path))
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return str(path)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """A migrated SQLite file copied for each test."""
    return _sqlite_template(tmp_path_factory.mktemp("template") / "template.db", seeded=False)


@pytest.fixture(scope="session")
def sqlite_seeded(tmp_path_factory) -> str:
    """:func:`sqlite_template` with the users of :func:`service`, added once for the session."""
    return _sqlite_template(tmp_path_factory.mktemp("seeded") / "seeded.db", seeded=True)


#: The databases made from a seeded template: their :func:`service` adds no user.
_SEEDED: set[str] = set()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    """A fresh, migrated database of each backend; when the test uses :func:`service`,
    already holding its users (copied from a seeded template)."""
    seeded = "service" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "monitor.db"
        template = "sqlite_seeded" if seeded else "sqlite_template"
        shutil.copy(request.getfixturevalue(template), path)
        os.chmod(path, 0o600)
        url = f"sqlite:///{path}"
        name = None
    else:
        template = "pg_seeded" if seeded else "pg_template"
        url, name = new_pg_database(request.getfixturevalue(template))
    if seeded:
        _SEEDED.add(url)
    yield url
    _SEEDED.discard(url)
    if name is not None:
        drop_pg_database(name)


@pytest.fixture
def clock() -> FakeClock:
    """A clock set 30 min before the test dose."""
    return FakeClock(DOSED - timedelta(minutes=30))


@pytest.fixture
def service(db_url, clock) -> Iterator[Service]:
    """The services on a fresh database, with a nurse ``ana`` and a supervisor ``sam``."""
    if db_url not in _SEEDED:  # a database not from a seeded template (asked for late)
        seed_users(db_url, clock)
    svc = Service.open(db_url, clock=clock)
    yield svc
    svc.close()


#: The folders (and the one long test file) whose tests run first, longest first: the workers
#: share the tests out in this order, so the last minutes of a run are short tests, not a
#: 30 s one that started when the rest were done. Each file's tests stay together, in order.
LONGEST_FIRST = (
    "tests/project/test_code_style.py",
    "tests/tui/",
    "tests/store/",
    "tests/services/",
    "tests/cli/",
    "tests/export/",
    "tests/ingest/",
    "tests/project/",
    "tests/present/",
    "tests/hl7/",
    "tests/core/",
)


def pytest_collection_modifyitems(items) -> None:
    def rank(item) -> int:
        return next(
            (i for i, start in enumerate(LONGEST_FIRST) if item.nodeid.startswith(start)),
            len(LONGEST_FIRST),
        )

    items.sort(key=rank)
