"""Storage benchmark (issue #10): interleaved pairs in one process; prints one JSON line.

- record: ``record_reading`` through the service layer (parse, validate, user, session,
  flags, audit row, one transaction) over a bare SQLAlchemy Core insert + commit of a reading
  row on the same engine, ``--batch`` saves per side per pair (per-save time), A and B
  interleaved; on SQLite both on disk (a temporary folder on the real disk: fsync included)
  and on tmpfs (/dev/shm: no disk sync, the CPU cost alone); target <= 3;
- dashboard: the station's dashboard read (all active sessions with readings, flags,
  checks and gate) with 40 active sessions, on a database that also holds ``--history``
  historical readings over one that holds none, the two reads interleaved; the history is
  discharged, signed-off sessions with their readings, flags (1 reading in 5), every flag
  acknowledged, a note each and the audit rows all of these write, by bulk Core inserts;
  target <= 1.5 (the cost follows active work, not history).

    .venv/bin/python benchmarks/bench_storage.py [--db URL] [--history 1000000] [--pairs 21]

Each sample starts from a collected heap (``gc.collect()``, untimed), so that garbage one side
left is not collected on the other side's time.

Without --db it uses SQLite files in temporary folders. A PostgreSQL --db must name an empty
database (never the shared ``postgres`` one: ``createdb -h 127.0.0.1 -U postgres
bench_storage``); the script fills it, makes a second database ``<name>_hist`` from it as a
template for the history side, and drops that one at the end.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert
from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from pairs import emit, interleave, ratio_text  # noqa: E402

from monitor.services import Service  # noqa: E402
from monitor.store import models as m  # noqa: E402
from monitor.store.engine import resolve_url  # noqa: E402

T0 = datetime(2025, 1, 1, tzinfo=UTC)
USER = "bench"
PIN = "1234"


# -- record ----------------------------------------------------------------------------


def bench_record(db: str, pairs: int, warmup: int, batch: int, label: str) -> dict[str, Any]:
    """Per-save time, bare Core insert + commit (A) against the service layer (B)."""
    service = Service.open(db)
    if not service.users():
        service.add_user(USER, "supervisor", PIN)
    user_id = service.users()[0].id
    engine = service.write_engine
    counter = iter(range(1_000_000))
    bare_session = _new_session(service, next(counter))

    def bare() -> float:
        gc.collect()
        start = time.perf_counter()
        for i in range(batch):
            now = datetime.now(UTC)
            with engine.begin() as connection:
                connection.execute(
                    insert(m.Reading),
                    {
                        "session_id": bare_session,
                        "measured_at": now,
                        "recorded_at": now,
                        "recorded_by_id": user_id,
                        "systolic": 120 + i % 40,
                        "diastolic": 80,
                        "heart_rate": 60 + i % 50,
                        "spo2": 97,
                        "before_dosing": False,
                    },
                )
        return (time.perf_counter() - start) / batch

    def through_service() -> float:
        sid = _new_session(service, next(counter))  # a session of realistic length each time
        gc.collect()
        start = time.perf_counter()
        for i in range(batch):
            service.record_reading(sid, f"{120 + i % 40}/80 hr {60 + i % 50} spo2 97", by=USER)
        return (time.perf_counter() - start) / batch

    try:
        return interleave(bare, through_service, pairs=pairs, warmup=warmup, label=label)
    finally:
        service.close()


def _new_session(service: Service, n: int) -> int:
    sid = service.start_session(patient=f"REC-{n}", protocol="ketamine-iv", by=USER)
    service.record_dose(sid, by=USER, override_reason="benchmark: no baseline")
    return sid


# -- dashboard -------------------------------------------------------------------------


def active_floor(service: Service, now: datetime) -> None:
    """40 active sessions with 12 readings each (the later ones flagged)."""
    for n in range(40):
        clock_at = now - timedelta(minutes=30 + n)
        bench = Service(service.engine, service.config, clock=lambda t=clock_at: t)
        sid = bench.start_session(
            patient=f"ACTIVE-{n}",
            protocol="esketamine-84",
            by=USER,
            age=50,
            meds=(),
            dosed_at=clock_at,
            dose_override_reason="benchmark: no baseline",
        )
        for k in range(12):
            moment = clock_at + timedelta(minutes=2 * k)
            reader = Service(service.engine, service.config, clock=lambda t=moment: t)
            reader.record_reading(
                sid, f"{130 + (k * 7) % 60}/85 hr {70 + k} spo2 96 moaas 5 cadss 2", by=USER
            )


def add_history(db: str, readings: int, per_session: int = 20, batch: int = 1000) -> float:
    """Discharged, signed sessions holding ``readings`` readings in all, with their flags,
    acknowledgements, notes, sign-offs and audit rows, by bulk Core inserts."""
    started = time.perf_counter()
    service = Service.open(db)
    engine = service.write_engine
    user_id = service.users()[0].id
    sessions = readings // per_session
    with engine.begin() as connection:
        patient_id = connection.execute(
            insert(m.Patient).returning(m.Patient.id), [{"identifier": "HIST", "created_at": T0}]
        ).scalar_one()
    flagged = {3, 8, 13, 18}  # 1 reading in 5 raised a flag, acknowledged later
    gate = json.dumps({"ready": True, "reasons": [], "config": {"minimum_observation_min": 120}})
    totals = dict.fromkeys(
        ("sessions", "readings", "flags", "acknowledgements", "events", "sign_offs", "audit"), 0
    )
    for first in range(0, sessions, batch):
        count = min(batch, sessions - first)
        day = T0 + timedelta(hours=first // 8)
        with engine.begin() as connection:
            ids = (
                connection.execute(
                    insert(m.TreatmentSession).returning(
                        m.TreatmentSession.id, sort_by_parameter_order=True
                    ),
                    [
                        {
                            "patient_id": patient_id,
                            "protocol": "esketamine-84",
                            "age": 50,
                            "meds": "none",
                            "started_at": day,
                            "started_by_id": user_id,
                            "dosed_at": day + timedelta(minutes=5),
                            "discharged_at": day + timedelta(minutes=130),
                            "discharged_by_id": user_id,
                            "escort": "partner",
                            "instructions_given": True,
                            "ready_minute_proposed": 120,
                            "ready_minute": 120,
                            "ready_minute_by_id": user_id,
                            "gate_at_discharge": gate,
                        }
                        for _ in range(count)
                    ],
                )
                .scalars()
                .all()
            )
            reading_rows = [
                {
                    "session_id": sid,
                    "measured_at": day + timedelta(minutes=5 + 6 * k),
                    "recorded_at": day + timedelta(minutes=5 + 6 * k),
                    "recorded_by_id": user_id,
                    "systolic": 185 if k in flagged else 130,
                    "diastolic": 80,
                    "heart_rate": 70,
                    "spo2": 97,
                    "moaas": 5,
                    "cadss": 1,
                    "before_dosing": False,
                }
                for sid in ids
                for k in range(per_session)
            ]
            reading_ids = (
                connection.execute(
                    insert(m.Reading).returning(m.Reading.id, sort_by_parameter_order=True),
                    reading_rows,
                )
                .scalars()
                .all()
            )
            flag_rows = [
                {
                    "reading_id": reading_ids[j],
                    "measure": "systolic",
                    "severity": "high",
                    "rule": "systolic.high.above",
                    "message": "SBP 185 >= 180: severe elevation",
                }
                for j in range(len(reading_ids))
                if j % per_session in flagged
            ]
            flag_ids = (
                connection.execute(
                    insert(m.Flag).returning(m.Flag.id, sort_by_parameter_order=True), flag_rows
                )
                .scalars()
                .all()
            )
            connection.execute(
                insert(m.Acknowledgement),
                [
                    {
                        "flag_id": fid,
                        "by_id": user_id,
                        "at": day + timedelta(minutes=60),
                        "action": "rechecked, prescriber informed",
                    }
                    for fid in flag_ids
                ],
            )
            connection.execute(
                insert(m.Event),
                [
                    {
                        "session_id": sid,
                        "kind": "note",
                        "text": "comfortable, talking",
                        "at": day + timedelta(minutes=50),
                        "recorded_at": day + timedelta(minutes=50),
                        "by_id": user_id,
                    }
                    for sid in ids
                ],
            )
            connection.execute(
                insert(m.SignOff),
                [
                    {
                        "session_id": sid,
                        "by_id": user_id,
                        "at": day + timedelta(hours=20),
                        "meaning": "reviewed",
                    }
                    for sid in ids
                ],
            )
            audit = _audit_rows(ids, reading_rows, reading_ids, flag_rows, flag_ids, day)
            connection.execute(insert(m.AuditEntry), audit)
        totals["sessions"] += len(ids)
        totals["readings"] += len(reading_ids)
        totals["flags"] += len(flag_ids)
        totals["acknowledgements"] += len(flag_ids)
        totals["events"] += len(ids)
        totals["sign_offs"] += len(ids)
        totals["audit"] += len(audit)
        if (first // batch) % 10 == 9 or first + count == sessions:
            print(f"history: {first + count}/{sessions} sessions", file=sys.stderr)
    print(f"history rows: {totals}", file=sys.stderr)
    service.close()
    return time.perf_counter() - started


def _audit_rows(
    ids: list[int],
    reading_rows: list[dict[str, Any]],
    reading_ids: list[int],
    flag_rows: list[dict[str, Any]],
    flag_ids: list[int],
    day: datetime,
) -> list[dict[str, Any]]:
    """The audit rows the services write for what the history holds."""

    def row(action: str, entity: str, entity_id: int, sid: int, after: dict) -> dict[str, Any]:
        return {
            "at": day,
            "user_name": USER,
            "action": action,
            "session_id": sid,
            "entity": entity,
            "entity_id": entity_id,
            "before": None,
            "after": json.dumps(after, sort_keys=True),
            "reason": None,
        }

    rows = []
    for sid in ids:
        rows.append(row("session.start", "session", sid, sid, {"patient": "HIST"}))
        rows.append(row("session.dose", "session", sid, sid, {"dosed_at": day.isoformat()}))
    for reading, rid in zip(reading_rows, reading_ids, strict=True):
        rows.append(
            row(
                "reading.record",
                "reading",
                rid,
                reading["session_id"],
                {"measured_at": reading["measured_at"].isoformat(), "systolic": 130},
            )
        )
    session_of = {rid: r["session_id"] for r, rid in zip(reading_rows, reading_ids, strict=True)}
    for flag, fid in zip(flag_rows, flag_ids, strict=True):
        sid = session_of[flag["reading_id"]]
        rows.append(row("flag.acknowledge", "flag", fid, sid, {"action": "rechecked"}))
    for sid in ids:
        rows.append(row("session.discharge", "session", sid, sid, {"ready": True}))
        rows.append(row("session.sign", "session", sid, sid, {"meaning": "reviewed"}))
    return rows


def analyze(db: str) -> None:
    """On PostgreSQL, fresh statistics as autovacuum would make soon after a bulk load."""
    if not db.startswith("postgres"):
        return
    service = Service.open(db)
    with service.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")
    service.close()


def bench_dashboard(base: str, hist: str, pairs: int, warmup: int, label: str) -> dict[str, Any]:
    empty, full = Service.open(base), Service.open(hist)

    def read(service: Service, times: int = 3) -> float:
        """The mean of ``times`` reads (one read is short enough for a preemption to
        swamp it on a shared machine)."""
        gc.collect()
        start = time.perf_counter()
        for _ in range(times):
            views = service.active_sessions()
        elapsed = time.perf_counter() - start
        assert len(views) == 40, len(views)
        return elapsed / times

    try:
        return interleave(
            lambda: read(empty), lambda: read(full), pairs=pairs, warmup=warmup, label=label
        )
    finally:
        empty.close()
        full.close()


class Postgres:
    """The second PostgreSQL database, made from the first as a template."""

    def __init__(self, url: str) -> None:
        self.url = make_url(resolve_url(url))
        self.name = self.url.database
        if self.name in (None, "postgres", "template0", "template1"):
            raise SystemExit("--db must name a database made for the benchmark, not postgres")
        self.copy = f"{self.name}_hist"
        # CREATE/DROP DATABASE run from the maintenance database: nothing is measured there.
        self.admin = create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def clone(self) -> str:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.copy}"')
            connection.exec_driver_sql(f'CREATE DATABASE "{self.copy}" TEMPLATE "{self.name}"')
        return self.url.set(database=self.copy).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.copy}" WITH (FORCE)')
        self.admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an empty PostgreSQL database's URL (default: SQLite)")
    parser.add_argument("--history", type=int, default=1_000_000, help="historical readings")
    parser.add_argument("--pairs", type=int, default=21)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=50, help="saves per side per pair")
    parser.add_argument("--disk", default=tempfile.gettempdir(), help="a folder on a real disk")
    parser.add_argument("--tmpfs", default="/dev/shm", help="a folder on tmpfs")
    parser.add_argument("--only", default="record,dashboard", help="record, dashboard or both")
    parser.add_argument("--verbose", action="store_true", help="each pair on stderr")
    args = parser.parse_args()
    modes = set(args.only.split(","))
    folders = []

    def folder(where: str) -> Path:
        made = Path(tempfile.mkdtemp(prefix="monitor-bench-storage-", dir=where))
        folders.append(made)
        return made

    result: dict[str, Any] = {"benchmark": "storage"}
    rows: list[tuple[str, str, str]] = [("figure", "median (min-max)", "target")]
    postgres = Postgres(args.db) if args.db else None
    try:
        if "dashboard" in modes:
            base = args.db if postgres else str(folder(args.disk) / "dashboard.db")
            service = Service.open(base)
            service.add_user(USER, "supervisor", PIN)
            active_floor(service, datetime.now(UTC))
            service.close()
            if postgres:
                hist = postgres.clone()
            else:
                hist = str(Path(base).with_name("dashboard-history.db"))
                shutil.copy(base, hist)
            result["history_insert_s"] = round(add_history(hist, args.history), 1)
            analyze(base)
            analyze(hist)
            label = "dashboard" if args.verbose else ""
            d = bench_dashboard(base, hist, args.pairs, args.warmup, label)
            d["history_readings"] = args.history
            result["dashboard"] = d
            result["dashboard_ratio"] = d["ratio"]
            rows += [
                ("dashboard, 40 active, no history, ms", f"{d['a_ms']}", ""),
                (f"dashboard, with {args.history:,} readings, ms", f"{d['b_ms']}", ""),
                ("dashboard ratio", ratio_text(d), "<= 1.5"),
            ]
        if "record" in modes:
            places = (
                [("server", args.db)]
                if postgres
                else [
                    ("disk", str(folder(args.disk) / "record.db")),
                    ("tmpfs", str(folder(args.tmpfs) / "record.db")),
                ]
            )
            for place, db in places:
                label = f"record {place}" if args.verbose else ""
                r = bench_record(db, args.pairs, args.warmup, args.batch, label)
                r["where"] = _filesystem(db)
                result[f"record_{place}"] = r
                result[f"record_ratio_{place}"] = r["ratio"]
                rows += [
                    (f"bare Core insert + commit, {place}, ms", f"{r['a_ms']}", ""),
                    (f"record through the services, {place}, ms", f"{r['b_ms']}", ""),
                    (f"record ratio, {place}", ratio_text(r), "<= 3"),
                ]
    finally:
        if postgres:
            postgres.drop()
        for made in folders:
            shutil.rmtree(made, ignore_errors=True)
    result["backend"] = "postgresql" if postgres else "sqlite"
    emit(result, rows)


def _filesystem(db: str) -> str:
    """The filesystem type under an SQLite file (``df``), or the server."""
    if "://" in db:
        return "server"
    done = subprocess.run(
        ["df", "--output=fstype,source", str(Path(db).parent)], capture_output=True, text=True
    )
    return " ".join(done.stdout.split()[2:]) or "unknown"


if __name__ == "__main__":
    main()
