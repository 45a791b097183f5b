"""SQLite writers queue on the lock file beside the database (monitor.store.writelock).

Real SQLite files and real processes; no assertion on how long anything takes.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from monitor.errors import NotFound
from monitor.services import Service
from monitor.store import models as m
from monitor.store import writelock
from monitor.store.engine import make_engine, writer
from tests.store.test_faults import start_together

ROOT = Path(__file__).resolve().parents[2]
#: Readings per writer when eight write at once.
EACH = 20
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

# A process that takes the write lock (BEGIN IMMEDIATE and one uncommitted reading), says
# "holding" and waits to be killed.
HOLDER = """
import sys, time
from sqlalchemy import text
from monitor.store.engine import make_engine, writer
engine = writer(make_engine(sys.argv[1]))
with engine.begin() as connection:
    connection.execute(text(
        "INSERT INTO audit_log (at, action, entity) VALUES ('2020-01-01', 'held', 'test')"
    ))
    print("holding", flush=True)
    time.sleep(3600)
"""


def lock_file(db_url: str) -> Path:
    return writelock.lock_path(Path(db_url.removeprefix("sqlite:///")))


def is_free(path: Path) -> bool:
    """True when nobody holds the lock (probed on a descriptor of our own)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing releases the probe's own lock
    return True


def someone_waits(path: Path) -> bool:
    """True when /proc/locks shows a writer blocked on the lock file."""
    inode = os.stat(path).st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields and any(f.endswith(f":{inode}") for f in fields):
            return True
    return False


def stored_readings(service: Service) -> list[tuple[int, int]]:
    with service.engine.connect() as connection:
        return [
            tuple(row) for row in connection.execute(select(m.Reading.spo2, m.Reading.heart_rate))
        ]


@pytest.mark.slow
@sqlite_only
def test_eight_processes_writing_at_once_all_succeed_and_each_reading_is_stored_once(
    service, db_url, clock
):
    clock.set(clock().replace(year=2020))  # the session starts well before the workers' now
    sid = service.start_session(patient="P", protocol="ketamine-iv", by="ana")
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fault_worker",
                db_url,
                str(sid),
                str(w),
                str(EACH),
                "--ready",
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(8)
    ]
    start_together(procs)  # all eight write at once
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        assert err == ""
        assert len(out.splitlines()) == EACH
    rows = stored_readings(service)
    assert sorted(rows) == sorted((50 + w, 20 + s) for w in range(8) for s in range(EACH))
    path = lock_file(db_url)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert is_free(path)


@sqlite_only
def test_the_lock_is_released_after_a_failed_or_refused_transaction(service, db_url):
    path = lock_file(db_url)
    with pytest.raises(NotFound):
        service.record_reading(999, "120/80", by="ana")  # refused inside the transaction
    assert is_free(path)
    engine = writer(service.engine)
    held_inside: list[bool] = []

    def failing_action() -> None:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO audit_log (at, action, entity) VALUES ('2020-01-01', 'x', 'y')")
            )
            held_inside.append(not is_free(path))
            raise RuntimeError("the action failed")

    with pytest.raises(RuntimeError):
        failing_action()
    assert held_inside == [True]
    assert is_free(path)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log"))  # the append-only trigger refuses
    assert is_free(path)
    with service.engine.connect() as connection:
        count = "SELECT count(*) FROM audit_log WHERE action = 'x'"
        assert connection.execute(text(count)).scalar() == 0


@sqlite_only
def test_the_lock_is_released_when_a_connection_closes_mid_transaction(service, db_url):
    path = lock_file(db_url)
    connection = writer(service.engine).connect()
    connection.begin()
    connection.execute(text("SELECT 1"))
    assert not is_free(path)
    connection.connection.dbapi_connection.close()  # the driver connection dies under it
    assert is_free(path)
    connection.invalidate()
    connection.close()
    service.record_reading(
        service.start_session(patient="Q", protocol="ketamine-iv", by="ana"), "120/80", by="ana"
    )
    assert is_free(path)


@pytest.mark.slow
@sqlite_only
def test_a_writer_killed_while_holding_the_lock_does_not_block_the_next(service, db_url, clock):
    clock.set(clock().replace(year=2020))
    sid = service.start_session(patient="P", protocol="ketamine-iv", by="ana")
    path = lock_file(db_url)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, db_url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "holding"
    assert not is_free(path)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert is_free(path)  # the kernel released the dead process's lock
    reading = service.record_reading(sid, "120/80 hr 70", by="ana")
    assert reading.id
    with service.engine.connect() as connection:
        assert (
            connection.execute(
                text("SELECT count(*) FROM audit_log WHERE action = 'held'")
            ).scalar()
            == 0
        )
    assert is_free(path)


@sqlite_only
def test_a_writer_waits_for_the_lock_and_then_saves(service, db_url, clock):
    """While another holds the lock file no monitor write starts; once it is released the
    waiting save goes through, once."""
    if not Path("/proc/locks").exists():
        pytest.skip("needs /proc/locks to see a blocked writer")
    sid = service.start_session(patient="P", protocol="ketamine-iv", by="ana")
    path = lock_file(db_url)
    held = os.open(path, os.O_RDWR)
    fcntl.flock(held, fcntl.LOCK_EX)
    outcome: list[object] = []

    def save() -> None:
        try:
            outcome.append(service.record_reading(sid, "120/80 hr 71", by="ana"))
        except Exception as error:  # reported below
            outcome.append(error)

    thread = threading.Thread(target=save)
    try:
        thread.start()
        while thread.is_alive() and not someone_waits(path):
            thread.join(0.01)
        assert thread.is_alive(), f"the save did not wait for the lock: {outcome}"
        assert stored_readings(service) == []
    finally:
        os.close(held)
        thread.join()
    assert len(outcome) == 1 and not isinstance(outcome[0], Exception), outcome
    assert stored_readings(service) == [(None, 71)]


@sqlite_only
def test_a_wait_that_runs_out_tries_sqlite_once_and_says_database_is_locked(
    service, db_url, monkeypatch
):
    monkeypatch.setattr(writelock, "WAIT_S", 0.05)
    impatient = Service(make_engine(db_url), clock=service.clock)
    sid = service.start_session(patient="P", protocol="ketamine-iv", by="ana")
    path = lock_file(db_url)
    # The lock file is held but SQLite's lock is free (a holder stuck before BEGIN): the
    # write goes ahead once the wait runs out.
    held = os.open(path, os.O_RDWR)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        impatient.record_reading(sid, "120/80 hr 72", by="ana")
    finally:
        os.close(held)
    # The holder is inside a write transaction: after the wait, "database is locked" at once
    # (the station says NOT saved), and the connection keeps its 30 s busy timeout.
    raw = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    held = os.open(path, os.O_RDWR)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        raw.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="database is locked"):
            impatient.record_reading(sid, "120/80 hr 73", by="ana")
    finally:
        raw.rollback()
        raw.close()
        os.close(held)
    assert impatient.record_reading(sid, "120/80 hr 74", by="ana").id
    with impatient.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    assert sorted(hr for _, hr in stored_readings(service)) == [72, 74]
    impatient.close()


@sqlite_only
def test_reading_alone_makes_no_lock_file(db_url):
    path = lock_file(db_url)
    reader = Service.open(db_url)
    reader.active_sessions()
    reader.users()
    reader.close()
    assert not path.exists()


def test_memory_databases_and_systems_without_flock_keep_the_old_path(tmp_path, monkeypatch):
    for url in ("sqlite://", "sqlite:///:memory:"):
        engine = make_engine(url)
        with writer(engine).begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        engine.dispose()
    monkeypatch.setattr(writelock, "fcntl", None)
    path = tmp_path / "plain.db"
    engine = make_engine(str(path))
    with writer(engine).begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 0
    engine.dispose()
    assert not writelock.lock_path(path).exists()
