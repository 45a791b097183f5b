"""Fault tests on real databases: concurrent writers, and a writer killed mid-flight."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.store import models as m

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


#: Readings per worker when several write at once (all start together: see fault_worker).
EACH = 50
#: Writers killed mid-stream, each after a random number of reported saves up to KILL_AFTER.
KILLS, KILL_AFTER = 20, 20


def worker(*args: str) -> subprocess.Popen:
    """``python -m tests.fault_worker ARGS...`` with pipes to talk to it."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.fault_worker", *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_together(procs: list[subprocess.Popen]) -> None:
    """Wait until every worker has opened the database, then let them all write."""
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()


def readings(service) -> list[tuple[int, int, int]]:
    with service.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                select(m.Reading.id, m.Reading.spo2, m.Reading.heart_rate)
            )
        ]


def test_four_processes_recording_at_once_lose_and_duplicate_nothing(service, db_url, clock):
    clock.set(clock().replace(year=2020))  # the session starts well before the workers' now
    sid = service.start_session(patient="P", protocol="ketamine-iv", by="ana")
    procs = [worker(db_url, str(sid), str(i), str(EACH), "--ready") for i in range(4)]
    start_together(procs)
    results = [p.communicate(timeout=600) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert err == ""
        assert len(out.splitlines()) == EACH
    rows = readings(service)
    assert len(rows) == 4 * EACH
    assert len({(spo2, hr) for _, spo2, hr in rows}) == 4 * EACH
    assert {(spo2, hr) for _, spo2, hr in rows} == {
        (50 + w, 20 + s) for w in range(4) for s in range(EACH)
    }


def test_killed_writer_loses_nothing_it_reported(service, db_url, clock):
    rng = random.Random(20261127)
    clock.set(clock().replace(year=2020))
    sid = service.start_session(patient="P", protocol="ketamine-iv", by="ana")
    reported: set[int] = set()
    # One process that has imported the services forks each writer (a new interpreter per
    # kill would cost more than the kills): each child is killed like a worker process.
    parent = worker("--fork", db_url, str(sid))
    assert parent.stdin is not None and parent.stdout is not None
    for _ in range(KILLS):
        parent.stdin.write("go 100000\n")
        parent.stdin.flush()
        first = parent.stdout.readline().split()
        assert first[0] == "child", first
        pid = int(first[1])
        # Kill at a random point: after a random number of reported saves, mid-stream.
        wanted = rng.randint(1, KILL_AFTER)
        for _seen in range(wanted):
            line = parent.stdout.readline()
            assert line.startswith("ok "), line  # the writer goes on until killed
            reported.add(int(line.split()[1]))
        os.kill(pid, signal.SIGKILL)
        while True:
            line = parent.stdout.readline()
            assert line, "the forking parent ended"
            # (A report cut by the kill, should one ever be, counts only when its id is whole,
            # and its line's "end" is still found.)
            report, end, told = line.partition("end ")
            if end:
                break
            parts = report.split()
            if len(parts) == 4 and parts[0] == "ok":
                reported.add(int(parts[1]))
        assert told.split()[:2] == [str(pid), str(int(signal.SIGKILL))], line
    _, err = parent.communicate(timeout=60)
    assert parent.returncode == 0, err
    assert err == ""
    stored = {row[0] for row in readings(service)}
    assert len(reported) >= 20
    assert reported <= stored
    if db_url.startswith("sqlite"):
        path = db_url.removeprefix("sqlite:///")
        connection = sqlite3.connect(path)
        try:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            connection.close()
