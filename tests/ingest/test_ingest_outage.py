"""A real `monitor ingest` through a real database outage, on both backends (issue #24,
docs/ingest.md, "When the database cannot be reached").

A gateway sends readings one at a time and sends a message again, with the same control id,
when its ACK does not come. Mid-stream the database goes away for a few seconds:

- SQLite: another connection holds the file locked (``BEGIN EXCLUSIVE``, as a backup tool or
  the ``sqlite3`` shell might) for longer than the listener's busy timeout. The listener runs
  with a busy timeout of 1 s instead of 30 s (patched before it starts, nothing else changed),
  so that "longer than the busy timeout" fits in a test.
- PostgreSQL: the database stops taking connections (``ALLOW_CONNECTIONS false``) and the
  listener's connections are ended (``pg_terminate_backend``), then it takes them again.

Then: the listener stays up; no message is acknowledged AA before its reading is committed
(checked at each ACK); every message is acknowledged AA once the database is back, and saved
exactly once; the listener logs one line when the outage starts and one when it ends; SIGTERM
stops it with exit status 0, a last "stopped" line and no traceback.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from monitor.hl7 import build_oru, parse_ack
from monitor.ingest.handler import Handler
from monitor.ingest.sender import SendError, send
from monitor.services import with_clock
from monitor.services.devices import message_key
from tests.conftest import PG_URL
from tests.ingest.helpers import FlakyDatabase, closed_by_listener, frame, listening, message, until

CALM = {"systolic": 128, "diastolic": 84, "heart_rate": 76, "spo2": 97, "resp_rate": 14}
COUNT = 40  # messages sent
BEFORE = 10  # messages acknowledged before the outage starts
OUTAGE_S = 2.5  # how long the database stays away once the listener has seen it go
GATEWAY_TIMEOUT = 2.0  # how long the gateway waits for an ACK before sending again
WAIT = 60.0  # seconds: only ever reached when a test fails

#: `monitor ingest` with SQLite's busy timeout at 1 s (the station's is 30 s).
SHORT_BUSY = (
    "import sys, monitor.store.engine as engine; engine.BUSY_TIMEOUT_MS = 1000; "
    "from monitor.cli import main; main()"
)


class Listener:
    """A `monitor ingest` process, its port and its log lines (standard error, read as they
    come so that the pipe never fills)."""

    def __init__(self, url: str) -> None:
        env = {**os.environ, "MONITOR_PIN": "1234", "PYTHONPATH": _root()}
        env.pop("MONITOR_CONFIG", None)
        program = ["-c", SHORT_BUSY] if url.startswith("sqlite") else ["-m", "monitor"]
        self.process = subprocess.Popen(
            [sys.executable, *program, "--db", url, "ingest", "--by", "ana", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:"), (line, self.log())
        self.port = int(line.split(":")[1].split()[0])

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()

    def log(self) -> str:
        with self.changed:
            return "\n".join(self.lines)

    def logged(self, words: str) -> list[str]:
        with self.changed:
            return [line for line in self.lines if words in line]

    def wait_for_line(self, words: str) -> None:
        with self.changed:
            found = self.changed.wait_for(lambda: any(words in s for s in self.lines), WAIT)
        assert found, f"the listener never logged {words!r}:\n{self.log()}"

    def stop(self) -> int:
        """SIGTERM, and the exit status once it has stopped and its log is read."""
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(WAIT)
        self.reader.join(WAIT)
        return status

    def cpu_seconds(self) -> float | None:
        """The processor time the process has used so far (Linux's /proc; None elsewhere)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(WAIT)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def _root() -> str:
    return str(Path(__file__).resolve().parents[2])


# -- the outages -------------------------------------------------------------------------------


class Outage:
    """The database going away and coming back (:meth:`begin`, :meth:`end`), and the readings
    as the database holds them, read on a connection of the test that the outage leaves alone."""

    #: How many readings the device's messages made, and how many distinct keys they have.
    COUNTS = (
        "SELECT count(*), count(DISTINCT client_key) FROM readings r JOIN devices d "
        "ON d.id = r.device_id WHERE d.name = 'MP5-009'"
    )

    def begin(self) -> None:
        raise NotImplementedError

    def end(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def row(self, query: str, key: str | None = None) -> tuple[int, ...]:
        raise NotImplementedError

    def saved(self, key: str) -> int:
        """How many readings have this key (committed ones: the test's connection sees no
        other)."""
        return self.row("SELECT count(*) FROM readings WHERE client_key = :key", key)[0]

    def counts(self) -> tuple[int, ...]:
        return self.row(self.COUNTS)


class SqliteOutage(Outage):
    """The file locked by another connection (``BEGIN EXCLUSIVE``) until :meth:`end`."""

    def __init__(self, url: str) -> None:
        self.path = url.removeprefix("sqlite:///")
        self.reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.holder: sqlite3.Connection | None = None

    def begin(self) -> None:
        self.holder = sqlite3.connect(self.path, isolation_level=None, timeout=WAIT)
        self.holder.execute("BEGIN EXCLUSIVE")

    def end(self) -> None:
        if self.holder is not None:
            self.holder.execute("ROLLBACK")
            self.holder.close()
            self.holder = None

    def row(self, query: str, key: str | None = None) -> tuple[int, ...]:
        return tuple(self.reader.execute(query, {"key": key}).fetchone())

    def close(self) -> None:
        self.end()
        self.reader.close()


class PostgresOutage(Outage):
    """The database refusing connections (``ALLOW_CONNECTIONS false``) and every connection
    to it but the test's ended (``pg_terminate_backend``), until :meth:`end`."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self.name = self.engine.url.database
        self.connection = self.engine.connect()
        self.pid = self.connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        self.admin = create_engine(PG_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self.down = False

    def begin(self) -> None:
        self.down = True
        with self.admin.connect() as admin:
            admin.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false'))
            admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> :pid"
                ),
                {"name": self.name, "pid": self.pid},
            )

    def end(self) -> None:
        if self.down:
            with self.admin.connect() as admin:
                admin.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true'))
            self.down = False

    def row(self, query: str, key: str | None = None) -> tuple[int, ...]:
        return tuple(self.connection.execute(text(query), {"key": key}).one())

    def close(self) -> None:
        self.end()
        self.connection.close()
        self.engine.dispose()
        self.admin.dispose()


@contextmanager
def outage_of(url: str) -> Iterator[Outage]:
    outage = SqliteOutage(url) if url.startswith("sqlite") else PostgresOutage(url)
    try:
        yield outage
    finally:
        outage.close()


# -- the gateway -------------------------------------------------------------------------------


def deliver(
    messages: list[tuple[str, str]], port: int, acknowledged: Callable[[int, str], None]
) -> int:
    """Send each message until it is acknowledged AA, as a monitor's gateway does: the same
    message again when no ACK comes within :data:`GATEWAY_TIMEOUT`. ``acknowledged(number,
    control_id)`` is called at each AA, at once. Returns how many times a message was sent
    again. Any other answer than AA fails the test: an outage must not refuse a reading."""
    resent = 0
    deadline = time.monotonic() + WAIT
    for number, (control, oru) in enumerate(messages):
        while True:
            assert time.monotonic() < deadline, f"message {control} never acknowledged"
            try:
                [ack] = send([oru], port=port, timeout=GATEWAY_TIMEOUT)
            except SendError:
                resent += 1
                time.sleep(0.05)
                continue
            code, answered, reason = parse_ack(ack)
            assert (code, answered) == ("AA", control), reason
            acknowledged(number, control)
            break
    return resent


# -- the tests ---------------------------------------------------------------------------------


def ward(service, count: int) -> tuple[str, list[tuple[str, str]]]:
    """A patient in Bay 9 with a monitor (MP5-009), and ``count`` messages of its readings as
    (control id, message); returns the database's URL with them. The service is closed: the
    test's own connections are its :class:`Outage`'s."""
    url = service.engine.url.render_as_string(hide_password=False)
    real = with_clock(service, lambda: datetime.now(UTC))  # the listener's clock is the machine's
    started = datetime.now(UTC)
    real.start_session(patient="MRN-OUT", protocol="ketamine-im", by="ana", bay="Bay 9")
    real.add_device("MP5-009", bay="Bay 9", by="sam")
    messages = [
        (
            f"O-{i}",
            build_oru(
                {**CALM, "heart_rate": 60 + i},
                device="MP5-009",
                bay="Bay 9",
                control_id=f"O-{i}",
                at=started + timedelta(milliseconds=i),
                style="philips",
            ),
        )
        for i in range(count)
    ]
    service.close()
    return url, messages


@pytest.mark.slow
def test_a_database_outage_mid_stream_loses_no_message_and_acknowledges_none_unsaved(service):
    url, messages = ward(service, COUNT)
    listener = Listener(url)
    with outage_of(url) as outage:
        go, began = threading.Event(), threading.Event()
        problems: list[BaseException] = []
        cpu_used: list[float] = []  # processor seconds the listener used during the outage
        unsaved_acks: list[str] = []

        def away_and_back() -> None:
            try:
                assert go.wait(WAIT)
                outage.begin()
                began.set()
                listener.wait_for_line("database unavailable (")
                cpu = listener.cpu_seconds()
                time.sleep(OUTAGE_S)
                if cpu is not None:
                    used = listener.cpu_seconds()
                    cpu_used.append((used or 0.0) - cpu)
                outage.end()
            except BaseException as problem:  # reported by the test's thread
                problems.append(problem)
                outage.end()

        def acknowledged(number: int, control: str) -> None:
            if outage.saved(message_key("MP5-009", control)) != 1:
                unsaved_acks.append(control)
            if number + 1 == BEFORE:
                go.set()  # the outage starts while the next messages are sent
            if number + 1 == BEFORE + 5:  # ... and before the last ones, on a busy machine too
                assert began.wait(WAIT), "the outage did not start"

        side = threading.Thread(target=away_and_back, daemon=True)
        side.start()
        try:
            deliver(messages, listener.port, acknowledged)
            side.join(WAIT)
            assert not problems, problems
            assert listener.process.poll() is None, f"the listener died:\n{listener.log()}"
            assert unsaved_acks == [], "acknowledged before being saved"
            assert outage.counts() == (COUNT, COUNT)  # each saved once
            status = listener.stop()
        finally:
            outage.end()
            listener.kill()
    log = listener.log()
    assert status == 0, log
    assert all(seconds < OUTAGE_S / 4 for seconds in cpu_used), cpu_used  # no busy loop
    assert "Traceback" not in log
    assert len(listener.logged("database unavailable (")) == 1, log
    assert len(listener.logged("database reachable again")) == 1, log
    last = listener.lines[-1]
    assert "stopped: " in last and "messages acknowledged since the start" in last, log


@pytest.mark.slow
def test_sigterm_during_an_outage_stops_at_once_and_acknowledges_nothing(service):
    """SIGTERM while a message waits for the database: exit status 0 without another try, no
    ACK, nothing saved, one line for the message and the last "stopped" line."""
    url, [(_, held)] = ward(service, 1)
    listener = Listener(url)
    answers: list[object] = []

    def gateway() -> None:
        try:
            answers.append(send([held], port=listener.port, timeout=WAIT))
        except SendError as error:
            answers.append(error)

    with outage_of(url) as outage:
        try:
            outage.begin()
            sending = threading.Thread(target=gateway, daemon=True)
            sending.start()
            listener.wait_for_line("database unavailable (")
            status = listener.stop()
            sending.join(WAIT)
        finally:
            outage.end()
            listener.kill()
        assert outage.counts() == (0, 0)
    log = listener.log()
    assert status == 0, log
    assert "Traceback" not in log
    assert len(answers) == 1 and isinstance(answers[0], SendError), answers  # no ACK
    assert len(listener.logged("message O-0 not saved (database unavailable)")) == 1, log
    assert listener.lines[-1].endswith("stopped: 0 messages acknowledged since the start"), log


def test_a_connection_the_server_ended_is_replaced_at_once_without_an_outage(service):
    """A server restart or an idle connection cut ends the listener's pooled connections while
    the database itself is there: the next message is saved at once on a new connection, and
    nothing is called unavailable (PostgreSQL: an SQLite file has no server to end one)."""
    if service.engine.dialect.name != "postgresql":
        pytest.skip("an SQLite file has no server that ends connections")
    real = with_clock(service, lambda: datetime.now(UTC))
    real.start_session(patient="MRN-END", protocol="ketamine-im", by="ana", bay="Bay 9")
    real.add_device("MP5-009", bay="Bay 9", by="sam")
    real.authenticate("ana", "1234")
    logs: list[str] = []
    handler = Handler(real, by="ana", local_zone=UTC, log=logs.append)
    now = datetime.now(UTC)
    first, second = (
        build_oru(CALM, device="MP5-009", bay="Bay 9", control_id=f"E-{i}", at=now, style="philips")
        for i in (1, 2)
    )
    assert parse_ack(handler.handle(first))[0] == "AA"  # its connection back in the pool
    admin = create_engine(PG_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        ended = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name"
            ),
            {"name": service.engine.url.database},
        ).scalar_one()
    admin.dispose()
    assert ended >= 1
    code, control, reason = parse_ack(handler.handle(second))  # no Unavailable raised
    assert (code, control) == ("AA", "E-2"), reason
    assert logs == []


async def test_no_try_after_a_stop_during_an_outage():
    """A stop while a message waits for the database ends its tries at once: not one more,
    which on SQLite would first wait out the 30 s busy timeout."""
    database = FlakyDatabase()
    database.down.set()
    async with listening(database, retry_delays=(60.0, 60.0)) as running:
        reader, writer = await running.connect()
        writer.write(frame(message("held")))
        await until(lambda: running.logged("database unavailable"), "the outage's line")
        running.stop.set()
        assert await closed_by_listener(reader) == b""  # no ACK
        await asyncio.wait_for(running.task, WAIT)
    assert database.attempts == 1
    assert len(running.logged("message held not saved (database unavailable)")) == 1


async def test_no_try_for_a_sender_that_left_while_its_message_waited():
    database = FlakyDatabase()
    database.down.set()
    async with listening(database, retry_delays=(0.3, 0.3)) as running:
        _reader, writer = await running.connect()
        writer.write(frame(message("gone")))
        await until(lambda: running.logged("database unavailable"), "the outage's line")
        writer.close()
        await until(lambda: running.logged("message gone not saved"), "the sender's line")
    assert database.attempts == 1
