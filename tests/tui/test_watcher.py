"""The station's watcher on SQLite (issue #23): a commit by another connection or process is
seen as soon as the file is written (Linux's inotify), or at the next look at SQLite's commit
counter (ten times an interval) where nothing notifies, never only at the next interval's
question; while nothing is committed it asks the database nothing, and still marks the floor
fresh; stopped, it ends at once (docs/station.md, "Keeping up to date")."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import monitor.services.changes as changes
from monitor.services import Service, utc_now
from monitor.store.engine import make_engine
from tui.watcher import Watcher

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture(params=["notified", "looking"])
def notified(request, monkeypatch) -> bool:
    """Each test with the file's notifications (Linux), and without (every 100 ms)."""
    if request.param == "looking":
        monkeypatch.setattr(changes, "_notifier", lambda folder: None)
    return request.param == "notified"


ROOT = Path(__file__).resolve().parents[2]


class Inbox:
    """The station's end of the watcher: what it posts, and when (monotonic)."""

    def __init__(self) -> None:
        self.posted: list[float] = []
        self.arrived = threading.Event()

    def post_message(self, message: object) -> bool:
        self.posted.append(time.monotonic())
        self.arrived.set()
        return True


def start_session_elsewhere(url: str, patient: str) -> None:
    """Another process saves on the same file (a second station, `monitor session start`)."""
    code = (
        "import sys; from monitor.services import Service; "
        "Service.open(sys.argv[1]).start_session(patient=sys.argv[2], protocol='ketamine-im', "
        "by='ana', bay='Bay 9', age=40)"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", code, url, patient], env=env, check=True, timeout=60)


def test_the_commit_counter_moves_with_each_commit_by_another_connection_or_process(
    service, db_url
):
    with service.commits() as commits:
        assert commits is not None
        first = commits.count()
        service.change_mark()
        service.active_sessions()
        assert commits.count() == first  # reads move nothing
        service.start_session(patient="MRN-A", protocol="ketamine-im", by="ana", bay="Bay 1")
        second = commits.count()  # this process's writes run on other connections
        assert second != first
        start_session_elsewhere(db_url, "MRN-B")
        assert commits.count() != second


@pytest.mark.parametrize("write_lock", [True, False], ids=["write-lock", "sqlite-alone"])
def test_a_commit_elsewhere_reaches_the_watcher_at_once_not_at_the_next_question(
    service, db_url, notified, write_lock
):
    # Without the write lock file (another program than monitor), only the write-ahead log's
    # writes are heard, a moment before the commit shows: the watcher then looks every 100 ms.
    mark = service.change_mark()
    other = Service(make_engine(db_url, fair_writes=write_lock))  # another station
    inbox = Inbox()
    # An interval of 10 s: the question on its own would come 10 s after the start; the
    # commit counter is looked at once the file is written, or every second.
    watcher = Watcher(inbox, lambda: service, utc_now, 10.0, known=lambda: mark, due=lambda: False)
    watcher.start()
    try:
        time.sleep(0.5)
        other.start_session(patient="MRN-C", protocol="ketamine-im", by="ana", bay="Bay 2")
        committed = time.monotonic()
        assert inbox.arrived.wait(6.0), "the commit was not seen before the next question"
        assert inbox.posted[0] - committed < 6.0
    finally:
        watcher.stop()
        other.close()


def test_an_idle_watcher_asks_nothing_and_still_marks_the_floor_fresh(
    service, monkeypatch, notified
):
    mark = service.change_mark()
    asked: list[int] = []
    question = service.change_mark

    def counted() -> int:
        asked.append(1)
        return question()

    monkeypatch.setattr(service, "change_mark", counted)
    looks: list[int] = []
    count = changes.Commits.count

    def looked(commits: changes.Commits) -> int:
        looks.append(1)
        return count(commits)

    monkeypatch.setattr(changes.Commits, "count", looked)
    inbox = Inbox()
    watcher = Watcher(inbox, lambda: service, utc_now, 0.3, known=lambda: mark, due=lambda: False)
    watcher.start()
    try:
        time.sleep(1.5)  # five intervals
    finally:
        watcher.stop()
    assert asked == []
    assert not inbox.posted
    assert watcher.confirmed_at is not None
    # Told when the file is written, it looks once an interval; else ten times.
    assert len(looks) <= (10 if notified else 60)
    assert notified or len(looks) >= 30


def test_a_reload_due_is_asked_for_while_nothing_changes(service, notified):
    mark = service.change_mark()
    inbox = Inbox()
    watcher = Watcher(inbox, lambda: service, utc_now, 0.3, known=lambda: mark, due=lambda: True)
    watcher.start()
    try:
        assert inbox.arrived.wait(5.0)
    finally:
        watcher.stop()


def test_a_stopped_watcher_ends_at_once_whatever_its_interval(service, notified):
    watcher = Watcher(Inbox(), lambda: service, utc_now, 3600.0, known=lambda: 0, due=lambda: False)
    before = set(threading.enumerate())
    watcher.start()
    [thread] = [t for t in threading.enumerate() if t not in before and t.name == "monitor-watch"]
    time.sleep(0.3)  # waiting for the file to be written, or for its next look
    watcher.stop()
    thread.join(5.0)
    assert not thread.is_alive()  # its connection and its descriptors released
