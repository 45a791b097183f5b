"""Storage benchmark (issue 3): prints one JSON line.

- record_ratio: median latency of ``record reading`` through the service layer, over a bare
  SQLAlchemy Core insert + commit of a reading row on the same database (target <= 3).
- dashboard_ratio: time to load the dashboard data (all active sessions with readings, flags,
  checks and gate) with 40 active sessions, with 1,000,000 historical readings in the database
  over none (target <= 1.5: the cost follows active work, not history).

    python benchmarks/bench_storage.py [--db URL] [--history 1000000] [--records 300]

Without --db it uses a new SQLite file in a temporary folder. A PostgreSQL --db must name an
empty database; the script fills it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.services import Service
from monitor.store import models as m

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def bench_record(service: Service, count: int) -> dict[str, float]:
    sid = service.start_session(patient="BENCH-REC", protocol="ketamine-iv", by="bench")
    service.record_dose(sid, by="bench", override_reason="benchmark: no baseline")
    through_service = []
    for i in range(count):
        start = time.perf_counter()
        service.record_reading(sid, f"{120 + i % 40}/80 hr {60 + i % 50} spo2 97", by="bench")
        through_service.append(time.perf_counter() - start)
    engine = service.write_engine
    user_id = service.users()[0].id
    bare = []
    for i in range(count):
        now = datetime.now(UTC)
        start = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(
                insert(m.Reading),
                {
                    "session_id": sid,
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
        bare.append(time.perf_counter() - start)
    service.discharge(sid, by="bench", override_reason="benchmark session")
    return {
        "record_service_ms": median_ms(through_service),
        "record_core_ms": median_ms(bare),
        "record_ratio": round(statistics.median(through_service) / statistics.median(bare), 2),
    }


def active_floor(service: Service, now: datetime) -> None:
    for n in range(40):
        clock_at = now - timedelta(minutes=30 + n)
        bench = Service(service.engine, service.config, clock=lambda t=clock_at: t)
        sid = bench.start_session(
            patient=f"ACTIVE-{n}",
            protocol="esketamine-84",
            by="bench",
            age=50,
            meds=(),
            dosed_at=clock_at,
            dose_override_reason="benchmark: no baseline",
        )
        for k in range(12):
            moment = clock_at + timedelta(minutes=2 * k)
            reader = Service(service.engine, service.config, clock=lambda t=moment: t)
            reader.record_reading(
                sid, f"{130 + (k * 7) % 60}/85 hr {70 + k} spo2 96 moaas 5 cadss 2", by="bench"
            )


def load_dashboard(service: Service, repeats: int = 15) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        views = service.active_sessions()
        samples.append(time.perf_counter() - start)
        assert len(views) == 40, len(views)
    return statistics.median(samples)


def add_history(service: Service, readings: int, per_session: int = 20) -> float:
    """Discharged sessions with ``readings`` readings in all, by bulk Core inserts."""
    started = time.perf_counter()
    engine = service.write_engine
    user_id = service.users()[0].id
    sessions = readings // per_session
    with engine.begin() as connection:
        connection.execute(insert(m.Patient), [{"identifier": "HIST", "created_at": T0}])
        patient_id = (
            connection.execute(m.Patient.__table__.select().where(m.Patient.identifier == "HIST"))
            .first()
            .id
        )
    batch = 2000
    for first in range(0, sessions, batch):
        count = min(batch, sessions - first)
        with engine.begin() as connection:
            rows = [
                {
                    "patient_id": patient_id,
                    "protocol": "esketamine-84",
                    "started_at": T0,
                    "started_by_id": user_id,
                    "dosed_at": T0,
                    "discharged_at": T0,
                }
                for _ in range(count)
            ]
            ids = (
                connection.execute(
                    insert(m.TreatmentSession).returning(m.TreatmentSession.id), rows
                )
                .scalars()
                .all()
            )
            connection.execute(
                insert(m.Reading),
                [
                    {
                        "session_id": sid,
                        "measured_at": T0 + timedelta(minutes=k),
                        "recorded_at": T0,
                        "recorded_by_id": user_id,
                        "systolic": 130,
                        "diastolic": 80,
                        "heart_rate": 70,
                        "spo2": 97,
                        "before_dosing": False,
                    }
                    for sid in ids
                    for k in range(per_session)
                ],
            )
        print(f"history: {first + count}/{sessions} sessions", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    elapsed = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        # What autovacuum does on a live server soon after a bulk load: fresh statistics, so
        # the planner uses the indexes (measured without, the dashboard took twice as long).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="SQLAlchemy URL of an empty database (default: temp SQLite)")
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--records", type=int, default=300)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="monitor-bench-")
    db = args.db or str(Path(folder) / "bench.db")
    service = Service.open(db)
    service.add_user("bench", "supervisor", "1234")
    result: dict[str, object] = {"backend": service.engine.dialect.name}
    result.update(bench_record(service, args.records))
    now = datetime.now(UTC)
    active_floor(service, now)
    empty = load_dashboard(service)
    result["history_insert_s"] = round(add_history(service, args.history), 1)
    full = load_dashboard(service)
    result.update(
        {
            "dashboard_ms_no_history": round(empty * 1000, 2),
            "dashboard_ms_with_history": round(full * 1000, 2),
            "history_readings": args.history,
            "dashboard_ratio": round(full / empty, 2),
        }
    )
    service.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
