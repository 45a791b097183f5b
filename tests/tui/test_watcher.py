"""The station's watcher on SQLite (issue #23): a commit by another connection or process is
seen at the next look at SQLite's commit counter (ten times an interval), not at the next
whole interval's question; while nothing is committed it asks the database nothing, and still
marks the floor fresh (docs/station.md, "Keeping up to date")."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from monitor.services import Service, utc_now
from tui.watcher import Watcher

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

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
    with service.commits() as count:
        assert count is not None
        first = count()
        service.change_mark()
        service.active_sessions()
        assert count() == first  # reads move nothing
        service.start_session(patient="MRN-A", protocol="ketamine-im", by="ana", bay="Bay 1")
        second = count()  # this process's writes run on other connections than the held one
        assert second != first
        start_session_elsewhere(db_url, "MRN-B")
        assert count() != second


def test_a_commit_elsewhere_reaches_the_watcher_at_the_next_look_not_the_next_question(
    service, db_url
):
    mark = service.change_mark()
    other = Service.open(db_url)  # another station's connections on the same file
    inbox = Inbox()
    # An interval of 10 s: the question on its own would come 10 s after the start; the
    # commit counter is looked at every second.
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


def test_an_idle_watcher_asks_nothing_and_still_marks_the_floor_fresh(service, monkeypatch):
    mark = service.change_mark()
    asked: list[int] = []
    question = service.change_mark

    def counted() -> int:
        asked.append(1)
        return question()

    monkeypatch.setattr(service, "change_mark", counted)
    inbox = Inbox()
    watcher = Watcher(inbox, lambda: service, utc_now, 0.3, known=lambda: mark, due=lambda: False)
    watcher.start()
    try:
        time.sleep(1.5)  # five intervals, 50 looks
    finally:
        watcher.stop()
    assert asked == []
    assert not inbox.posted
    assert watcher.confirmed_at is not None


def test_a_reload_due_is_asked_for_while_nothing_changes(service):
    mark = service.change_mark()
    inbox = Inbox()
    watcher = Watcher(inbox, lambda: service, utc_now, 0.3, known=lambda: mark, due=lambda: True)
    watcher.start()
    try:
        assert inbox.arrived.wait(5.0)
    finally:
        watcher.stop()
