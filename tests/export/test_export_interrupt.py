"""Interrupted exports leave nothing behind (issue #22, item 6; docs/exports.md, "Interrupted
exports"): a real `python -m monitor export` stopped by SIGTERM or SIGINT (Ctrl-C) while its
temporary file exists removes it, writes no file, says so in one `error:` line and exits 128 +
the signal's number; a file it would have replaced is left as it was. A temporary file left by
an export killed outright (SIGKILL) is removed by the next export to the folder, which says so;
a live export's is not."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.export.files import TEMPORARY, remove_stale
from monitor.services import Service
from tests.conftest import FakeClock
from tests.helpers import DOSED

#: Sessions in the database: enough that an export runs on well after its file is made.
SESSIONS = 40
FULL = "128/82 hr 74 spo2 98 rr 14 moaas 5 cadss 0"


@pytest.fixture(scope="module")
def database(sqlite_template, tmp_path_factory) -> str:
    """An SQLite database of :data:`SESSIONS` dosed sessions, one a day, built with the
    services (about a second)."""
    path = tmp_path_factory.mktemp("interrupt") / "monitor.db"
    shutil.copy(sqlite_template, path)
    os.chmod(path, 0o600)
    clock = FakeClock(DOSED - timedelta(minutes=30))
    service = Service.open(str(path), clock=clock)
    service.add_user("sam", "supervisor", "9999")
    service.add_user("ana", "nurse", "1234", by="sam")
    for day in range(SESSIONS):
        dosed = DOSED + timedelta(days=day)
        clock.set(dosed - timedelta(minutes=20))
        sid = service.start_session(patient=f"MRN-{day:04d}", protocol="ketamine-im", by="ana")
        clock.set(dosed - timedelta(minutes=2))
        service.record_reading(sid, FULL, by="ana")
        clock.set(dosed)
        service.record_dose(sid, by="ana")
        for minutes in (15, 30, 45):
            clock.set(dosed + timedelta(minutes=minutes))
            service.record_reading(sid, FULL, by="ana")
    service.close()
    return str(path)


def start(database: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "MONITOR_DB": database}
    env.pop("MONITOR_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "export", "--from", "2026-01-01", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=as_from_a_terminal,
    )


def as_from_a_terminal() -> None:
    """The export's signals as a command typed at a terminal has them (a test run as a
    background job would otherwise pass on an ignored SIGINT, which the export keeps)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def temporary_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if TEMPORARY.fullmatch(p.name)]


def wait_for_temporary_file(process: subprocess.Popen[str], folder: Path) -> Path:
    """Poll until the export's temporary file exists (the export is then under way)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = temporary_files(folder)
        if found:
            return found[0]
        assert process.poll() is None, process.communicate()
        time.sleep(0.005)
    process.kill()
    raise AssertionError("the export made no temporary file in 30 s")


def interrupted(
    database: str, stop: signal.Signals, target: Path, *args: str, before: str | None = None
) -> tuple[subprocess.Popen[str], str, str]:
    """An export to ``target`` sent ``stop`` once its temporary file exists: the process and
    what it printed. An export that finished before the signal reached it (it exits 0 and says
    so: a loaded machine, or a small export) did not test an interruption: it is run again,
    ``target`` first made empty again (or ``before`` again), up to five times."""
    for _ in range(5):
        for left in target.parent.iterdir():
            left.unlink()
        if before is not None:
            target.write_text(before)
        process = start(database, *args, "-o", str(target))
        wait_for_temporary_file(process, target.parent)
        process.send_signal(stop)
        out, err = process.communicate(timeout=30)
        if not (process.returncode == 0 and out.startswith("exported")):
            return process, out, err
    raise AssertionError("the export finished before the signal five times: make it longer")


@pytest.mark.parametrize(
    ("stop", "args"),
    [
        (signal.SIGTERM, ("--format", "fhir")),
        (signal.SIGINT, ("--format", "fhir")),
        (signal.SIGTERM, ("--format", "csv", "--what", "events")),
        (signal.SIGINT, ("--format", "json")),
    ],
    ids=["sigterm-fhir", "sigint-fhir", "sigterm-csv", "sigint-json"],
)
def test_an_interrupted_export_leaves_no_file_and_says_so(database, tmp_path, stop, args):
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "export.out"
    process, out, err = interrupted(database, stop, target, *args)
    assert process.returncode == 128 + stop, (process.returncode, out, err)
    assert err.splitlines() == [f"error: export interrupted ({stop.name}); no file written"]
    assert out == ""
    assert list(folder.iterdir()) == []


def test_an_interrupted_overwrite_keeps_the_file_it_would_have_replaced(database, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "kept.ndjson"
    process, _, err = interrupted(
        database,
        signal.SIGTERM,
        target,
        "--format",
        "fhir",
        "--overwrite",
        before="yesterday's export\n",
    )
    assert process.returncode == 143
    assert err.splitlines() == ["error: export interrupted (SIGTERM); no file written"]
    assert list(folder.iterdir()) == [target]
    assert target.read_text() == "yesterday's export\n"


def test_a_killed_exports_file_is_removed_by_the_next_export(database, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    process = start(database, "--format", "fhir", "-o", str(folder / "killed.ndjson"))
    left = wait_for_temporary_file(process, folder)
    process.kill()  # SIGKILL: nothing runs, the file stays
    process.communicate(timeout=30)
    assert left.exists()
    # Younger than STALE_AFTER: it could be an export that is just starting; left alone.
    again = start(database, "--format", "csv", "-o", str(folder / "first.csv"))
    _, err = again.communicate(timeout=60)
    assert again.returncode == 0 and err == "" and left.exists()
    old = time.time() - 60
    os.utime(left, (old, old))
    later = start(database, "--format", "csv", "-o", str(folder / "second.csv"))
    out, err = later.communicate(timeout=60)
    assert later.returncode == 0, err
    assert err.splitlines() == [
        f"note: removed {left}, the temporary file of an export stopped earlier"
    ]
    assert out.startswith("exported 40 sessions")
    assert sorted(p.name for p in folder.iterdir()) == ["first.csv", "second.csv"]


def test_a_live_exports_file_and_other_files_are_left_alone(tmp_path):
    import fcntl

    folder = tmp_path / "out"
    folder.mkdir()
    old = time.time() - 3600
    live = folder / ".live.csv.abcd1234.part"
    held = os.open(live, os.O_CREAT | os.O_WRONLY, 0o600)
    fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as atomic_file holds its own
    stale = folder / ".dead.csv.efgh5678.part"
    others = [folder / "notes.part", folder / ".x.part", folder / "report.csv"]
    for path in (stale, *others):
        path.write_text("x")
    for path in (live, stale, *others):
        os.utime(path, (old, old))
    try:
        assert remove_stale(folder) == [stale]
        assert sorted(folder.iterdir()) == sorted([live, *others])
    finally:
        os.close(held)
    assert remove_stale(folder) == [live]  # its process let go: stale now


@pytest.fixture
def as_at_a_terminal():
    """SIGINT and SIGTERM handled as in a command typed at a terminal, for tests that signal
    this very process. A test run started as a background job of a non-interactive shell
    (CI's, a script's ``&``) ignores SIGINT, and :func:`_stopped_by_signals` rightly keeps an
    ignored signal ignored: the test would then wait for an interruption that never comes."""
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGINT, before[0])
    signal.signal(signal.SIGTERM, before[1])


def test_the_signal_handlers_are_put_back(as_at_a_terminal):
    from monitor.cli.export import Interrupted, _stopped_by_signals

    def stopped_by(signum: int) -> None:
        with _stopped_by_signals():
            os.kill(os.getpid(), signum)
            time.sleep(20)  # the handler raises before this ends

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with pytest.raises(Interrupted) as stopped:
        stopped_by(signal.SIGTERM)
    assert stopped.value.signum == signal.SIGTERM
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_a_signal_inside_the_database_library_is_raised_once_it_is_left(as_at_a_terminal):
    """An exception raised in the middle of SQLAlchemy's own code can break its state (a
    connection half closed raised an AssertionError over the interruption, a traceback):
    there the signal waits until the library is left."""
    from monitor.cli.export import Interrupted, _stopped_by_signals

    steps: list[str] = []
    library = {"__name__": "sqlalchemy.engine.fake", "os": os, "time": time, "steps": steps}
    exec(  # a function that runs as the library's code does
        "def close(signum):\n"
        "    os.kill(os.getpid(), signum)\n"
        "    deadline = time.monotonic() + 0.3\n"
        "    while time.monotonic() < deadline:\n"
        "        pass\n"
        "    steps.append('closed')\n",
        library,
    )

    def export() -> None:
        with _stopped_by_signals():
            library["close"](signal.SIGINT)
            steps.append("left the library")
            time.sleep(20)  # interrupted here, a moment after (not after 20 s)
            steps.append("went on")

    started = time.monotonic()
    with pytest.raises(Interrupted) as stopped:
        export()
    assert stopped.value.signum == signal.SIGINT
    assert steps == ["closed", "left the library"]
    assert time.monotonic() - started < 10  # 0.3 s and a retry; wide for a loaded machine
