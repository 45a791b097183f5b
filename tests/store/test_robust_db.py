"""Robust connections and reads (issue #20, item 6; docs/storage.md, "Timeouts, read-only files
and db check"): every PostgreSQL connection carries its timeouts and settings that no role or
database setting overrides; a held row lock or a long statement is "busy: try again", a
connection ended under a command is exit 1; a read-only SQLite file can be read and refuses a
write in one line; `db check` refuses a missing file and names what a fresh database lacks.

Real SQLite files and a real PostgreSQL server, never mocks. A test that waits on a lock
asserts what the command said; its bound only keeps a failure from hanging the suite.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from monitor.errors import Refused
from monitor.services import Service
from monitor.store.engine import PG_SETTINGS, failure_message, make_engine
from monitor.store.migrate import STATION_ROLE, check, ensure_schema, upgrade
from tests.conftest import _admin_engine, drop_pg_database, new_pg_database
from tests.helpers import at

ROOT = Path(__file__).resolve().parents[2]
MONITOR = [sys.executable, "-m", "monitor"]
OK = "120/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0"
#: Only a bound against a hang: each command here returns within seconds.
NO_HANG_S = 90


@dataclass(frozen=True)
class Reader:
    """Who runs a command: this user, or (``uid`` set) another through ``setpriv``."""

    uid: int | None = None
    gid: int | None = None

    def command(self, args: list[str]) -> list[str]:
        if self.uid is None:
            return args
        who = [f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups"]
        return ["setpriv", *who, *args]


def _secret_for(reader: Reader) -> str:
    """The tests' clinic secret (monitor.pins), as a file ``reader`` may read: a copy of its
    own, mode 0600, for another user."""
    mine = os.environ["MONITOR_SECRET_FILE"]
    if reader.uid is None:
        return mine
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="monitor-secret-")
    copy = os.path.join(folder, "pin-secret")
    shutil.copyfile(mine, copy)
    for path in (folder, copy):
        os.chown(path, reader.uid, reader.gid if reader.gid is not None else -1)
    return copy


def monitor(
    db: str, *args: str, pin: str | None = None, reader: Reader = Reader()
) -> subprocess.CompletedProcess:
    """`monitor --db DB ARGS` as a real process (as ``reader``), the PIN in MONITOR_PIN."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env["MONITOR_SECRET_FILE"] = _secret_for(reader)
    if pin is not None:
        env["MONITOR_PIN"] = pin
    return subprocess.run(
        reader.command([*MONITOR, "--db", db, *args]),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=NO_HANG_S,
        stdin=subprocess.DEVNULL,
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The one `error: ...` line a failed command printed (no traceback, nothing else)."""
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    return lines[0]


# -- PostgreSQL: settings in the startup packet --------------------------------------------


@pytest.fixture
def clinic(pg_template, clock):
    """A PostgreSQL database upgraded as its owner (the station role granted), with sam and
    ana and one started session: (owner url, station url, database name, session id)."""
    url, name = new_pg_database(pg_template)
    upgrade(url)
    owner = Service.open(url, clock=clock)
    owner.add_user("sam", "supervisor", "9999")
    owner.add_user("ana", "nurse", "1234", by="sam")
    clock.set(at(-40))
    sid = owner.start_session(patient="P-1", protocol="esketamine-84", by="ana", age=50, meds=())
    owner.close()
    station = make_url(url).set(username=STATION_ROLE).render_as_string(hide_password=False)
    yield url, station, name, sid
    drop_pg_database(name)


@pytest.mark.postgres
def test_every_postgresql_connection_sends_its_timeouts_and_settings(clinic):
    _, station, _, _ = clinic
    engine = make_engine(station)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT lower(name), source FROM pg_settings WHERE lower(name) = ANY(:names)"),
                {"names": list(PG_SETTINGS)},
            ).all()
            lock_timeout = connection.exec_driver_sql("SHOW lock_timeout").scalar()
    finally:
        engine.dispose()
    assert {name for name, _ in rows} == set(PG_SETTINGS)
    assert {name: source for name, source in rows} == dict.fromkeys(PG_SETTINGS, "client")
    assert lock_timeout == "5s"


@pytest.mark.postgres
def test_settings_given_in_the_url_are_the_operators_last_word(clinic):
    _, station, _, _ = clinic
    engine = make_engine(f"{station}?options=-c%20lock_timeout%3D1500ms")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "1500ms"
            assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "1min"
    finally:
        engine.dispose()


#: What the shared station role (or the database's owner) can set for every later session.
SABOTAGE = (
    "default_transaction_read_only = on",
    "statement_timeout = 1",
    "lock_timeout = 1",
    "idle_session_timeout = 1",
    "idle_in_transaction_session_timeout = 1",
    "default_transaction_isolation = 'serializable'",
    "search_path = nowhere",
    "datestyle = 'SQL, DMY'",
    "intervalstyle = 'sql_standard'",
    "synchronous_commit = off",
)


@pytest.mark.postgres
def test_role_and_database_settings_cannot_stop_a_station(clinic, clock):
    _, station, name, sid = clinic
    # The station role sets its own defaults in this database (PostgreSQL 15 lets a role do
    # so), and the database gets some of its own.
    plain = _admin_engine()
    # A plain SQLAlchemy engine, without the product's settings, as a script would connect.
    sabotage = create_engine(
        make_url(station).set(drivername="postgresql+psycopg"),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,  # each connection new: it takes the settings as they now are
    )
    try:
        with sabotage.connect() as connection:
            for setting in SABOTAGE:
                connection.exec_driver_sql(
                    f'ALTER ROLE {STATION_ROLE} IN DATABASE "{name}" SET {setting}'
                )
        with plain.connect() as connection:
            connection.exec_driver_sql(
                f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'
            )
        # The settings are in force for a connection that does not override them (but the
        # timeouts of 1 ms, which would end it before it could say so).
        idle = (
            "-c idle_session_timeout=0 -c idle_in_transaction_session_timeout=0 "
            "-c statement_timeout=0"
        )
        lasting = create_engine(
            sabotage.url.update_query_dict({"options": idle}),
            isolation_level="AUTOCOMMIT",
            poolclass=NullPool,
        )
        with lasting.connect() as connection:
            assert connection.exec_driver_sql("SHOW default_transaction_read_only").scalar() == "on"
            assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "1ms"
            assert connection.exec_driver_sql("SHOW search_path").scalar() == "nowhere"
        lasting.dispose()
    finally:
        sabotage.dispose()
        plain.dispose()

    service = Service.open(station, clock=clock)
    try:
        service.authenticate("ana", "1234")  # the database checks who acts
        clock.set(at(-5))
        service.record_reading(sid, OK, by="ana")
        clock.set(at(0))
        service.record_dose(sid, by="ana")
        clock.set(at(15))
        service.record_reading(sid, "hr 72 moaas 5 cadss 1", by="ana")
        assert len(service.session(sid).readings) == 2
    finally:
        service.close()
    shown = monitor(station, "session", "show", str(sid), "--json")
    assert shown.returncode == 0, shown.stderr


# -- PostgreSQL: a row held, a statement too long -------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("held", "command", "options"),
    [
        # The PIN check waits on the users row: the default lock timeout (5 s).
        ("SELECT id FROM users FOR UPDATE", ("record", "{sid}", OK, "--by", "ana"), ""),
        # A session row held: the operator's own lock timeout, in the URL.
        (
            "SELECT id FROM treatment_sessions FOR UPDATE",
            ("session", "dose", "{sid}", "--by", "ana", "--override-reason", "test"),
            "?options=-c%20lock_timeout%3D1s",
        ),
        # A table locked whole with no lock timeout: the statement timeout gives up instead.
        (
            "LOCK TABLE treatment_sessions IN ACCESS EXCLUSIVE MODE",
            ("session", "list"),
            "?options=-c%20lock_timeout%3D0%20-c%20statement_timeout%3D1s",
        ),
    ],
    ids=["users-row", "session-row", "statement-timeout"],
)
def test_a_lock_held_elsewhere_is_busy_try_again_not_a_hang(clinic, held, command, options):
    owner, station, _, sid = clinic
    admin = make_engine(owner)
    holder = admin.connect()
    try:
        holder.exec_driver_sql(held)  # in an open transaction until rollback
        args = [part.format(sid=sid) for part in command]
        result = monitor(station + options, *args, pin="1234")
    finally:
        holder.rollback()
        holder.close()
        admin.dispose()
    assert result.returncode == 1, result.stderr
    line = one_error_line(result)
    assert line.startswith("error: the database is busy (")
    assert line.endswith("try again")
    # Nothing was saved: the session has no reading and is not dosed.
    after = monitor(station, "session", "show", str(sid), "--json")
    assert '"readings": []' in after.stdout and '"dosed_at": null' in after.stdout


# -- PostgreSQL: a connection ended under a command -----------------------------------------


def run_in_process(args: list[str]) -> tuple[int, str]:
    """`monitor ARGS` in this process: its exit status and standard error (a traceback
    propagates and fails the test)."""
    from monitor import cli as command_line

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            command_line.main(args)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    return code, err.getvalue()


class Terminator:
    """Ends the server process of the connection about to run the first statement that
    contains ``marker`` (``pg_terminate_backend``, waiting until it has ended): what a
    connection killed by an administrator, a failover or another station looks like."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.ended = 0
        self.admin = _admin_engine()

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.ended or self.marker not in statement:
            return
        pid = cursor.connection.info.backend_pid
        with self.admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
        self.ended += 1

    def __enter__(self) -> Terminator:
        event.listen(Engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(Engine, "before_cursor_execute", self)
        self.admin.dispose()


@pytest.mark.postgres
def test_a_connection_ended_during_the_schema_check_is_exit_1_not_refused(clinic):
    _, station, _, _ = clinic
    engine = make_engine(station)
    try:
        with Terminator("alembic_version") as ended, pytest.raises(OperationalError) as caught:
            ensure_schema(engine)
        assert ended.ended == 1
    finally:
        engine.dispose()
    assert "connection was ended" in str(failure_message(caught.value))
    with Terminator("alembic_version") as ended:
        code, err = run_in_process(["--db", station, "session", "list"])
    assert ended.ended == 1
    assert code == 1, err
    assert err.startswith("error: the database cannot be used: the connection was ended"), err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.postgres
def test_a_connection_ended_during_an_action_is_exit_1_and_saves_nothing(clinic, monkeypatch):
    _, station, _, sid = clinic
    monkeypatch.setenv("MONITOR_PIN", "1234")
    with Terminator("INSERT INTO readings") as ended:
        code, err = run_in_process(["--db", station, "record", str(sid), OK, "--by", "ana"])
    assert ended.ended == 1
    assert code == 1, err
    assert err.startswith("error: the database cannot be used: the connection was ended"), err
    after = monitor(station, "session", "show", str(sid), "--json")
    assert '"readings": []' in after.stdout


# -- SQLite: a file that can only be read ---------------------------------------------------


def _reader() -> Reader:
    """Who the read-only tests run their commands as: this user, or `nobody` when the tests
    run as root (root ignores permission bits); skipped, with the reason, where `nobody`
    cannot run this interpreter and this checkout."""
    if os.geteuid() != 0:
        return Reader()
    import pwd

    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root, where file modes do not bind, and there is no user nobody")
    reader = Reader(nobody.pw_uid, nobody.pw_gid)
    try:
        probe = subprocess.run(
            reader.command([sys.executable, "-c", "import monitor.cli"]),
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=NO_HANG_S,
        )
    except OSError as error:
        probe = subprocess.CompletedProcess([], 1, "", str(error))
    if probe.returncode != 0:
        pytest.skip(
            "running as root, where file modes do not bind, and the user nobody cannot run "
            f"this checkout to stand in: {probe.stderr.strip()[-200:]}"
        )
    return reader


@pytest.fixture
def reader_folder(tmp_path):
    """A folder the reader can reach: pytest's own are root's alone when the tests run as
    root, so it is made in the system's temporary folder (and removed)."""
    folder = Path(tempfile.mkdtemp(prefix="monitor-read-only-"))
    os.chmod(folder, 0o755)
    yield folder
    for path in folder.rglob("*"):
        if path.is_dir():
            os.chmod(path, 0o700)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def read_only(sqlite_template, reader_folder, clock):
    """A monitor database with one session and a reading, in a folder of its own, owned by
    the user the commands run as; returns (database path, reader, session id)."""
    reader = _reader()
    tmp_path = reader_folder
    folder = tmp_path / "clinic"
    folder.mkdir(mode=0o700)
    path = folder / "monitor.db"
    shutil.copy(sqlite_template, path)
    os.chmod(path, 0o600)
    service = Service.open(str(path), clock=clock)
    service.add_user("sam", "supervisor", "9999")
    clock.set(at(-40))
    sid = service.start_session(patient="P-1", protocol="esketamine-84", by="sam", age=50, meds=())
    clock.set(at(-5))
    service.record_reading(sid, OK, by="sam")
    service.close()
    out = tmp_path / "out"
    out.mkdir(mode=0o700)
    if reader.uid is not None and reader.gid is not None:
        for item in (folder, path, out, *folder.iterdir()):
            os.chown(item, reader.uid, reader.gid)
    return path, reader, sid


def _reads_work(path: Path, reader: Reader, sid: int) -> None:
    listed = monitor(str(path), "session", "list", "--json", reader=reader)
    assert listed.returncode == 0, listed.stderr
    assert '"patient": "P-1"' in listed.stdout
    shown = monitor(str(path), "session", "show", str(sid), "--json", reader=reader)
    assert shown.returncode == 0 and '"systolic": 120' in shown.stdout, shown.stderr
    trail = monitor(str(path), "audit", "--json", reader=reader)
    assert trail.returncode == 0 and "session.start" in trail.stdout, trail.stderr
    target = path.parent.parent / "out" / "export.csv"
    exported = monitor(
        str(path), "export", str(sid), "--format", "csv", "-o", str(target), reader=reader
    )
    assert exported.returncode == 0, exported.stderr
    assert "P-1" in target.read_text()
    check_result = monitor(str(path), "db", "check", reader=reader)
    assert check_result.returncode == 0, check_result.stderr


def _a_write_is_refused(path: Path, reader: Reader, sid: int) -> None:
    result = monitor(
        str(path), "record", str(sid), "hr 80", "--by", "sam", pin="9999", reader=reader
    )
    assert result.returncode == 1, result.stderr
    assert one_error_line(result).startswith("error: the database is read-only here (")
    shown = monitor(str(path), "session", "show", str(sid), "--json", reader=reader)
    assert shown.stdout.count('"measured_at"') == 1  # still the one reading


def test_a_file_without_write_permission_is_read_and_refuses_a_write(read_only):
    path, reader, sid = read_only
    os.chmod(path, 0o400)
    _reads_work(path, reader, sid)
    _a_write_is_refused(path, reader, sid)


def test_a_folder_without_write_permission_is_read_without_side_files(read_only):
    path, reader, sid = read_only
    assert not any(p.name.endswith(("-wal", "-shm")) for p in path.parent.iterdir())
    os.chmod(path.parent, 0o500)
    try:
        _reads_work(path, reader, sid)
        _a_write_is_refused(path, reader, sid)
        assert not any(p.name.endswith(("-wal", "-shm")) for p in path.parent.iterdir())
    finally:
        os.chmod(path.parent, 0o700)


def test_side_files_that_cannot_be_read_are_one_line(read_only):
    path, reader, _ = read_only
    os.chmod(path, 0o400)
    shm = path.with_name(path.name + "-shm")
    shm.write_bytes(b"")
    os.chmod(shm, 0o000)
    if reader.uid is not None:
        os.chown(shm, 0, 0)  # another user's
    result = monitor(str(path), "session", "list", reader=reader)
    assert result.returncode == 1
    assert "-shm" in one_error_line(result)
    # A log with changes that a read-only folder cannot index is refused, not left out.
    shm.unlink()
    wal = path.with_name(path.name + "-wal")
    wal.write_bytes(b"x" * 100)
    os.chmod(path.parent, 0o500)
    try:
        result = monitor(str(path), "session", "list", reader=reader)
    finally:
        os.chmod(path.parent, 0o700)
    assert result.returncode == 1
    assert "write-ahead log" in one_error_line(result)


# -- db check ------------------------------------------------------------------------------


def test_db_check_refuses_a_missing_file_and_creates_nothing(tmp_path):
    target = tmp_path / "typo" / "deeper" / "monitor.db"
    with pytest.raises(Refused, match="no database at"):
        check(f"sqlite:///{target}")
    assert not (tmp_path / "typo").exists()
    result = monitor(str(target), "db", "check")
    assert result.returncode == 2
    assert one_error_line(result).startswith("error: no database at")
    assert not (tmp_path / "typo").exists()


def test_db_check_refuses_a_database_without_the_schema(tmp_path):
    empty = tmp_path / "empty.db"
    import sqlite3

    sqlite3.connect(empty).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(Refused, match="no monitor schema"):
        check(f"sqlite:///{empty}")


AUTO_VOID_SQLITE = """
CREATE TRIGGER auto_void AFTER INSERT ON readings WHEN NEW.systolic >= 180
BEGIN
  INSERT INTO voids (reading_id, by_id, at, reason)
  VALUES (NEW.id, (SELECT id FROM users WHERE name = 'sam'), NEW.recorded_at, 'artefact');
END
"""

AUTO_VOID_PG = (
    "CREATE FUNCTION auto_void() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF NEW.systolic >= 180 THEN INSERT INTO voids (reading_id, by_id, at, reason) VALUES "
    "(NEW.id, (SELECT id FROM users WHERE name = 'sam'), NEW.recorded_at, 'artefact'); END IF; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER auto_void AFTER INSERT ON readings FOR EACH ROW EXECUTE FUNCTION auto_void()",
)


def test_a_fresh_database_passes_db_check(db_url):
    upgrade(db_url)  # as `db upgrade` leaves it: on PostgreSQL, the station role granted
    assert check(db_url) == []


def test_db_check_names_a_foreign_trigger_that_voids_high_readings(db_url, service, clock):
    engine = make_engine(db_url)
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(AUTO_VOID_SQLITE)
        else:
            for statement in AUTO_VOID_PG:
                connection.exec_driver_sql(statement)
    engine.dispose()
    upgrade(db_url)  # grants as `db upgrade` gives them: only the trigger differs
    # It works: a high reading is voided "by sam", which nobody did.
    clock.set(at(-40))
    sid = service.start_session(patient="P", protocol="esketamine-84", by="ana", age=50, meds=())
    clock.set(at(-5))
    reading = service.record_reading(sid, "185/90 hr 80 spo2 98 moaas 5 cadss 0", by="ana")
    voided = next(r for r in service.session(sid).readings if r.id == reading.id)
    assert voided.voided is not None
    lines = check(db_url)
    assert any(line.startswith("unknown trigger:") and "auto_void" in line for line in lines)
    if db_url.startswith("postgresql"):
        assert any(line.startswith("unknown function: public.auto_void()") for line in lines)
    result = monitor(db_url, "db", "check")
    assert result.returncode == 2
    assert "auto_void" in result.stdout
    assert one_error_line(result).startswith("error: the database differs from a fresh one")


def test_db_check_names_a_dropped_or_changed_guard_on_sqlite(sqlite_template, tmp_path):
    path = tmp_path / "monitor.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(str(path))
    with engine.begin() as connection:
        name, sql = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name LIMIT 1"
        ).one()
        connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    engine.dispose()
    assert f"missing trigger: {name}: " + " ".join(sql.split()) in check(f"sqlite:///{path}")


@pytest.mark.postgres
def test_db_check_names_grants_settings_and_switched_off_guards(clinic):
    owner, _, name, _ = clinic
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.exec_driver_sql(
            f'ALTER ROLE {STATION_ROLE} IN DATABASE "{name}" SET default_transaction_read_only = on'
        )
    admin.dispose()
    engine = make_engine(owner)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"GRANT UPDATE ON readings TO {STATION_ROLE}")
        connection.exec_driver_sql("GRANT TEMPORARY ON DATABASE " + f'"{name}" TO {STATION_ROLE}')
        connection.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        connection.exec_driver_sql("CREATE SCHEMA shadow")
    engine.dispose()
    lines = check(owner)
    text_ = "\n".join(lines)
    assert f"unknown database setting: {STATION_ROLE} in this database: " in text_
    assert "default_transaction_read_only=on" in text_
    assert f"changed grant: public.readings to {STATION_ROLE}: INSERT, SELECT, UPDATE" in text_
    assert f"this database to {STATION_ROLE}: " in text_ and "TEMPORARY" in text_
    assert "changed trigger: public.audit_log.audit_log_append_only" in text_
    assert "(enabled: D)" in text_
    assert "unknown schema: shadow" in text_


@pytest.mark.postgres
def test_db_check_names_a_table_given_to_the_station_and_goes_past_an_index(clinic):
    """A table owned by the station role would make the database trust it as its owner; an
    index added does not hide the rest."""
    owner, _, _, _ = clinic
    engine = make_engine(owner)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE INDEX ix_evil ON readings (systolic)")
        connection.exec_driver_sql(f"ALTER TABLE audit_log OWNER TO {STATION_ROLE}")
    engine.dispose()
    text_ = "\n".join(check(owner))
    assert "models and migrations disagree" in text_ and "ix_evil" in text_
    assert f"changed owner: relation public.audit_log: {STATION_ROLE}" in text_


@pytest.mark.postgres
def test_db_check_that_cannot_compare_says_so_and_does_not_pass(clinic):
    _, station, _, _ = clinic
    with pytest.raises(Refused, match=f"cannot compare .* {STATION_ROLE} may not create one"):
        check(station)
    result = monitor(station, "db", "check")
    assert result.returncode == 2
    assert one_error_line(result).startswith("error: cannot compare")


def test_db_check_refuses_a_database_behind_without_migrating_it(tmp_path):
    from monitor.store.migrate import run_upgrade

    path = tmp_path / "old.db"
    run_upgrade(f"sqlite:///{path}", "0001")
    with pytest.raises(Refused, match="run `monitor db upgrade` first"):
        check(f"sqlite:///{path}")
    engine = make_engine(str(path))
    try:
        with engine.connect() as connection:
            version = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            assert version.scalar() == "0001"
    finally:
        engine.dispose()


def test_db_upgrade_of_a_read_only_file_is_one_line_and_copies_nothing(reader_folder):
    from monitor.store.migrate import run_upgrade

    reader = _reader()
    folder = reader_folder / "clinic"
    folder.mkdir(mode=0o700)
    path = folder / "old.db"
    run_upgrade(f"sqlite:///{path}", "0001")
    if reader.uid is not None and reader.gid is not None:
        for item in (folder, *folder.iterdir()):
            os.chown(item, reader.uid, reader.gid)
    for file_mode, folder_mode in ((0o600, 0o500), (0o400, 0o700)):
        os.chmod(path, file_mode)
        os.chmod(folder, folder_mode)
        try:
            result = monitor(str(path), "db", "upgrade", reader=reader)
        finally:
            os.chmod(folder, 0o700)
        assert result.returncode == 1, result.stderr
        assert one_error_line(result).startswith("error: the database is read-only here (")
        assert not [p for p in folder.iterdir() if p.name.endswith(".bak")]
