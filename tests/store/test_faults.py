"""Fault tests on real databases: concurrent writers, and a writer killed mid-flight."""

from __future__ import annotations

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


def worker(db_url: str, session_id: int, index: int, count: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fault_worker",
            db_url,
            str(session_id),
            str(index),
            str(count),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


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
    procs = [worker(db_url, sid, i, 250) for i in range(4)]
    results = [p.communicate(timeout=600) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert err == ""
        assert len(out.splitlines()) == 250
    rows = readings(service)
    assert len(rows) == 1000
    assert len({(spo2, hr) for _, spo2, hr in rows}) == 1000
    assert {(spo2, hr) for _, spo2, hr in rows} == {
        (50 + w, 20 + s) for w in range(4) for s in range(250)
    }


def test_killed_writer_loses_nothing_it_reported(service, db_url, clock):
    rng = random.Random(20261127)
    clock.set(clock().replace(year=2020))
    sid = service.start_session(patient="P", protocol="ketamine-iv", by="ana")
    reported: set[int] = set()
    for _ in range(20):
        proc = worker(db_url, sid, 0, 100_000)
        assert proc.stdout is not None
        # Kill at a random point: after a random number of reported saves, mid-stream.
        wanted = rng.randint(1, 60)
        for _seen in range(wanted):
            line = proc.stdout.readline()
            if not line:
                break
            reported.add(int(line.split()[1]))
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        for line in rest.splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[0] == "ok":
                reported.add(int(parts[1]))
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
