"""History-read benchmark (issue #10, deliverable 3): whole processes, interleaved pairs; prints
one JSON line.

Two databases with the same 40 active sessions (made through the services): an empty one, and
one that also holds a history of 1,000,000 readings (discharged sessions, 40 a day, with flags,
acknowledgements, sign-offs and their audit rows, by bulk Core inserts). Each command below runs
as a whole process (the installed ``monitor`` console script) on both, A (empty) and B (big)
back to back, alternating which goes first, after a warm-up (benchmarks/pairs.py); the figure
is the median of the per-pair ratios B/A with min and max (target: each <= 1.2):

- ``audit --limit 100``: the newest page of the trail;
- ``audit ID``: the trail of one active session (the same session in both);
- ``audit --from X --to Y``: the last 24 hours (the same rows in both);
- ``audit --from D --to D``: one day of the history (about 760 rows in B, none in A);
- ``session list --json``: the newest page of sessions (100);
- ``audit --json``: the whole trail, one JSON object per line, written to a file: its ratio
  follows the number of rows it writes, by design; its target is peak memory (max RSS of the
  process, from ``os.wait4`` in a small process that starts it) < 150 MB.

It also prints, for the big database, the indexes the query plans use (SQLite ``EXPLAIN QUERY
PLAN``, PostgreSQL ``EXPLAIN``) and whether any plan scans a whole table.

    .venv/bin/python benchmarks/bench_reads.py [--readings 1000000] [--pairs 15]
    createdb -h 127.0.0.1 -U postgres bench_big; createdb -h 127.0.0.1 -U postgres bench_empty
    .venv/bin/python benchmarks/bench_reads.py \\
        --db postgresql+psycopg://postgres@127.0.0.1/bench_big \\
        --empty-db postgresql+psycopg://postgres@127.0.0.1/bench_empty

Without --db both are new SQLite files in a temporary folder (or ``--dir``). PostgreSQL
databases must exist and be empty (``createdb``); the script fills them and runs ``ANALYZE``
after the bulk load, as autovacuum would. ``--reuse`` measures databases a previous run built.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from pairs import child_env, emit, interleave, ratio_text  # noqa: E402
from sqlalchemy import Engine, Table, event, func, insert, select, text  # noqa: E402

from monitor.services import Service  # noqa: E402
from monitor.store import models as m  # noqa: E402

PYTHON = sys.executable
MONITOR = str(Path(PYTHON).with_name("monitor"))
PINS = {"sam": "9999", "ana": "1234", "ben": "2222"}
PER_DAY = 40  # sessions a day
READINGS_PER_SESSION = 12
#: Minutes after dosing of each reading (the first is the baseline, before dosing).
READING_MINUTES = (-3, 5, 10, 15, 20, 30, 40, 50, 60, 75, 90, 120)


def table(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


def dump(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class Ids:
    """The next free id of each table (the bulk load gives ids itself: no RETURNING)."""

    def __init__(self, engine: Engine) -> None:
        self.next: dict[str, int] = {}
        with engine.connect() as connection:
            for name in (
                "patients",
                "treatment_sessions",
                "readings",
                "flags",
                "acknowledgements",
                "sign_offs",
                "audit_log",
            ):
                top = connection.execute(text(f"SELECT MAX(id) FROM {name}")).scalar()
                self.next[name] = (top or 0) + 1

    def take(self, name: str) -> int:
        value = self.next[name]
        self.next[name] = value + 1
        return value


def one_day(ids: Ids, day_start: datetime, users: dict[str, int], patients: list[int]) -> dict:
    """Rows of one clinic day: 40 discharged, signed sessions with their readings, flags,
    acknowledgements and audit rows (the audit in time order, as the product writes it)."""
    rows: dict[str, list[dict[str, Any]]] = {
        "treatment_sessions": [],
        "readings": [],
        "flags": [],
        "acknowledgements": [],
        "sign_offs": [],
    }
    audit: list[dict[str, Any]] = []

    def log(at, user, action, sid, entity, entity_id, before=None, after=None, reason=None):
        audit.append(
            {
                "at": at,
                "user_name": user,
                "action": action,
                "session_id": sid,
                "entity": entity,
                "entity_id": entity_id,
                "before": None if before is None else dump(before),
                "after": None if after is None else dump(after),
                "reason": reason,
            }
        )

    for k in range(PER_DAY):
        sid = ids.take("treatment_sessions")
        nurse = "ana" if k % 2 else "ben"
        started = day_start + timedelta(minutes=12 * k)
        dosed = started + timedelta(minutes=8)
        discharged = dosed + timedelta(minutes=125)
        signed = day_start + timedelta(days=1, hours=1, minutes=k)
        patient = patients[(sid * 7) % len(patients)]
        gate = {
            "ready": True,
            "reasons": [],
            "judged_at": discharged.isoformat(),
            "items": [{"name": n, "met": True} for n in ("minimum", "bp", "moaas", "cadss")],
            "config": {"protocol": "esketamine-84", "windows": [5, 40, 90, 120]},
        }
        rows["treatment_sessions"].append(
            {
                "id": sid,
                "patient_id": patient,
                "protocol": "esketamine-84",
                "dose_mg": 84.0,
                "lot": f"LOT-{sid % 997}",
                "age": 30 + sid % 50,
                "bay": f"Bay {1 + k % 8}",
                "started_at": started,
                "started_by_id": users[nurse],
                "dosed_at": dosed,
                "discharged_at": discharged,
                "discharged_by_id": users[nurse],
                "override_reason": None,
                "ready_minute": 120,
                "weight_kg": None,
                "first_treatment": False,
                "dose_number": 1 + sid % 20,
                "meds": "none",
                "infusion_ended_at": None,
                "dose_override_reason": None,
                "escort": "partner",
                "instructions_given": True,
                "ready_minute_proposed": 120,
                "ready_minute_by_id": users[nurse],
                "gate_at_discharge": dump(gate),
            }
        )
        log(started, nurse, "session.start", sid, "session", sid, after={"protocol": "esk-84"})
        log(dosed, nurse, "session.dose", sid, "session", sid, after={"dosed_at": dosed})
        log(dosed, None, "db.session.update", sid, "session", sid, {"dosed_at": None}, {})
        for n, minute in enumerate(READING_MINUTES):
            rid = ids.take("readings")
            measured = dosed + timedelta(minutes=minute)
            vitals = {
                "systolic": 165 if n == 4 else 118 + (rid % 25),
                "diastolic": 70 + rid % 15,
                "heart_rate": 60 + rid % 30,
                "spo2": 93 if n == 6 else 97,
                "resp_rate": 14,
                "moaas": 5 if n != 3 else 4,
                "cadss": rid % 4,
            }
            rows["readings"].append(
                {
                    "id": rid,
                    "session_id": sid,
                    "measured_at": measured,
                    "recorded_at": measured + timedelta(seconds=30),
                    "recorded_by_id": users[nurse],
                    **vitals,
                    "before_dosing": minute < 0,
                    "corrects_id": None,
                    "reason": None,
                    "client_key": None,
                }
            )
            log(
                measured + timedelta(seconds=30),
                nurse,
                "reading.record",
                sid,
                "reading",
                rid,
                after={**vitals, "measured_at": measured.isoformat()},
            )
            if n in (4, 6):
                fid = ids.take("flags")
                medium = n == 4
                rows["flags"].append(
                    {
                        "id": fid,
                        "reading_id": rid,
                        "measure": "systolic" if medium else "spo2",
                        "severity": "medium" if medium else "low",
                        "rule": "systolic.medium.above" if medium else "spo2.low.below",
                        "message": "SBP 165 >= 160: elevated" if medium else "SpO2 93 < 94",
                    }
                )
                if medium:
                    acked = measured + timedelta(minutes=2)
                    rows["acknowledgements"].append(
                        {
                            "id": ids.take("acknowledgements"),
                            "flag_id": fid,
                            "by_id": users[nurse],
                            "at": acked,
                            "action": "rechecked in 5 min, prescriber informed",
                        }
                    )
                    log(acked, nurse, "flag.acknowledge", sid, "flag", fid, after={"action": "x"})
        log(discharged, nurse, "session.discharge", sid, "session", sid, after={"gate": "met"})
        log(discharged, None, "db.session.update", sid, "session", sid, {"escort": None}, {})
        rows["sign_offs"].append(
            {
                "id": ids.take("sign_offs"),
                "session_id": sid,
                "by_id": users["sam"],
                "at": signed,
                "meaning": "reviewed",
            }
        )
        log(signed, "sam", "session.sign", sid, "session", sid, after={"meaning": "reviewed"})
    audit.sort(key=lambda row: row["at"])
    for row in audit:
        row["id"] = ids.take("audit_log")
    rows["audit_log"] = audit
    return rows


def build_history(service: Service, readings: int, last_day: datetime) -> float:
    """Discharged sessions holding ``readings`` readings in all, 40 a day, ending on
    ``last_day``; bulk Core inserts a few days per transaction."""
    started = time.perf_counter()
    engine = service.write_engine
    users = {u.name: u.id for u in service.users()}
    ids = Ids(engine)
    days = -(-readings // (PER_DAY * READINGS_PER_SESSION))
    patients = [ids.take("patients") for _ in range(max(1, days * PER_DAY // 10))]
    with engine.begin() as connection:
        created = last_day - timedelta(days=days + 1)
        connection.execute(
            insert(table(m.Patient)),
            [{"id": p, "identifier": f"H-{p:07d}", "created_at": created} for p in patients],
        )
    order = ("treatment_sessions", "readings", "flags", "acknowledgements", "sign_offs")
    first_day = last_day - timedelta(days=days - 1)
    per_batch = 5
    for batch_start in range(0, days, per_batch):
        batch: dict[str, list[dict[str, Any]]] = {name: [] for name in (*order, "audit_log")}
        for d in range(batch_start, min(days, batch_start + per_batch)):
            for name, rows in one_day(ids, first_day + timedelta(days=d), users, patients).items():
                batch[name].extend(rows)
        with engine.begin() as connection:
            for name in (*order, "audit_log"):
                connection.execute(insert(m.Base.metadata.tables[name]), batch[name])
        done = min(days, batch_start + per_batch) * PER_DAY * READINGS_PER_SESSION
        print(f"history: {done:,} readings", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for name in ("patients", *order, "audit_log"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT MAX(id) FROM {name}))"
                )
            # What autovacuum does on a live server soon after a bulk load: fresh statistics.
            connection.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def add_users(service: Service) -> None:
    service.add_user("sam", "supervisor", PINS["sam"])  # the first user is a supervisor
    service.add_user("ana", "nurse", PINS["ana"], by="sam")
    service.add_user("ben", "nurse", PINS["ben"], by="sam")


def active_floor(service: Service, now: datetime) -> None:
    """40 sessions in observation, each with a baseline, a dose and three readings, through
    the services (the same on both databases)."""
    for n in range(40):
        began = now - timedelta(minutes=70 - n)

        def at(moment: datetime) -> Service:
            return Service(service.engine, service.config, clock=lambda: moment)

        sid = at(began).start_session(
            patient=f"ACTIVE-{n:02d}", protocol="ketamine-im", by="ana", bay=f"Bay {n % 8 + 1}"
        )
        baseline = "128/82 hr 74 spo2 98 rr 14 moaas 5 cadss 0"
        at(began + timedelta(minutes=1)).record_reading(sid, baseline, by="ana")
        at(began + timedelta(minutes=2)).record_dose(sid, by="ana", override_reason="benchmark")
        for k in range(3):
            moment = began + timedelta(minutes=5 + 5 * k)
            at(moment).record_reading(sid, f"{130 + k}/84 hr {72 + k} spo2 97", by="ben")


def count(engine: Engine, name: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one())


def prepare(db: str, readings: int, reuse: bool, now: datetime) -> tuple[Service, float | None]:
    service = Service.open(db)
    if reuse and count(service.engine, "users"):
        return service, None
    if count(service.engine, "users"):
        raise SystemExit(f"{db} is not empty: name an empty database, or --reuse")
    add_users(service)
    took = None
    if readings:
        took = build_history(service, readings, (now - timedelta(days=2)).replace(hour=8))
    active_floor(service, now)
    if service.engine.dialect.name == "sqlite":
        with service.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return service, took


def first_active(service: Service) -> tuple[int, datetime]:
    with service.engine.connect() as connection:
        row = connection.execute(
            select(m.TreatmentSession.id, m.TreatmentSession.started_at)
            .where(m.TreatmentSession.discharged_at.is_(None))
            .order_by(m.TreatmentSession.id)
            .limit(1)
        ).one()
    return int(row.id), row.started_at


def history_day(service: Service) -> str:
    """The date (UTC) of a day in the middle of the history."""
    with service.engine.connect() as connection:
        high = connection.execute(select(func.max(m.TreatmentSession.id))).scalar_one()
        middle = connection.execute(
            select(m.TreatmentSession.started_at).where(m.TreatmentSession.id == high // 2)
        ).scalar_one()
    return str(middle.date())


def plans(service: Service, read: Callable[[], None]) -> dict[str, Any]:
    """The indexes the plans of ``read``'s statements use, and whether any scans a table."""
    statements: list[tuple[str, Any]] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append((statement, parameters))

    event.listen(service.engine, "before_cursor_execute", seen)
    try:
        read()
    finally:
        event.remove(service.engine, "before_cursor_execute", seen)
    sqlite = service.engine.dialect.name == "sqlite"
    used: set[str] = set()
    scans: set[str] = set()
    with service.engine.connect() as connection:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            plan = "\n".join(
                str(row[-1]) for row in connection.exec_driver_sql(prefix + statement, parameters)
            )
            used.update(re.findall(r"\b(?:ix|pk|uq)_\w+", plan))
            # A scan that a LIMIT stops after a few rows (ORDER BY id DESC LIMIT 1) is not a
            # read of the whole table; any other scan of a table that grows with history is.
            if "LIMIT" not in statement.upper():
                for name in ("audit_log", "treatment_sessions", "readings", "sign_offs"):
                    pattern = rf"SCAN {name}\b" if sqlite else rf"Seq Scan on {name}\b"
                    if re.search(pattern, plan):
                        scans.add(name)
    return {"indexes": sorted(used), "full_scans": sorted(scans)}


def query_plans(service: Service, sid: int, day: str) -> dict[str, Any]:
    from monitor.timeparse import parse_time

    now = datetime.now(UTC)
    since = parse_time(day, now)
    until = since + timedelta(days=1) - timedelta(microseconds=1)

    def page(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[], None]:
        def read() -> None:
            with method(*args, **kwargs) as found:
                for _ in found.rows:
                    pass

        return read

    return {
        "audit_newest_100": plans(service, page(service.audit_page, limit=100)),
        "audit_session": plans(service, page(service.audit_page, sid)),
        "audit_day": plans(service, page(service.audit_page, since=since, until=until)),
        "audit_day_newest_10": plans(
            service, page(service.audit_page, since=since, until=until, limit=10)
        ),
        "session_list_100": plans(service, page(service.session_page, limit=100)),
        "session_list_day": plans(
            service, page(service.session_page, since=since, until=until, limit=100)
        ),
    }


#: Runs one command and reports its wall time and peak RSS. A small process of its own starts
#: the command: a child's max RSS counts the memory of the process it was forked from (Linux
#: keeps the pre-exec high-water mark), and this benchmark holds far more than the command.
SPAWN = """
import os, sys, time
start = time.perf_counter()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
elapsed = time.perf_counter() - start
with open(sys.argv[1], "w") as report:
    report.write(f"{elapsed} {usage.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


class Runner:
    """Runs one command as a whole process, its output to a file; keeps each peak RSS."""

    def __init__(self, folder: Path) -> None:
        self.out = folder / "out.txt"
        self.err = folder / "err.txt"
        self.report = folder / "report.txt"
        self.env = child_env(TZ="UTC")
        self.peaks: dict[str, list[float]] = {}

    def __call__(self, label: str, argv: list[str]) -> float:
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            spawn = [PYTHON, "-S", "-c", SPAWN, str(self.report), *argv]
            code = subprocess.run(spawn, env=self.env, stdout=out, stderr=err).returncode
        if code != 0:
            raise SystemExit(f"{argv[1:]} failed ({code}): {self.err.read_text()}")
        elapsed, peak_kib = self.report.read_text().split()
        self.peaks.setdefault(label, []).append(int(peak_kib) / 1024)  # KiB on Linux
        return float(elapsed)

    def lines(self) -> list[str]:
        return self.out.read_text().splitlines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="the big database's URL (default: a new SQLite file)")
    parser.add_argument("--empty-db", help="the empty database's URL (with --db)")
    parser.add_argument("--readings", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument("--dir", help="folder for the SQLite files and the outputs")
    parser.add_argument("--reuse", action="store_true", help="measure databases already built")
    args = parser.parse_args()
    if bool(args.db) != bool(args.empty_db):
        raise SystemExit("--db and --empty-db go together")
    if not Path(MONITOR).exists():
        raise SystemExit(f"no console script at {MONITOR}: pip install -e . in this venv")
    folder = Path(args.dir or tempfile.mkdtemp(prefix="monitor-reads-"))
    folder.mkdir(parents=True, exist_ok=True)
    big_db = args.db or str(folder / "big.db")
    empty_db = args.empty_db or str(folder / "empty.db")
    now = datetime.now(UTC)
    empty, _ = prepare(empty_db, 0, args.reuse, now)
    big, took = prepare(big_db, args.readings, args.reuse, now)
    result: dict[str, Any] = {
        "backend": big.engine.dialect.name,
        "readings": count(big.engine, "readings"),
        "audit_rows": count(big.engine, "audit_log"),
        "sessions": count(big.engine, "treatment_sessions"),
        "flags": count(big.engine, "flags"),
        "acknowledgements": count(big.engine, "acknowledgements"),
        "sign_offs": count(big.engine, "sign_offs"),
        "empty_audit_rows": count(empty.engine, "audit_log"),
    }
    if took is not None:
        result["build_s"] = round(took, 1)
    sid_a, _ = first_active(empty)
    sid_b, began = first_active(big)
    day = history_day(big)
    live_from = (began - timedelta(hours=1)).isoformat(timespec="seconds")
    live_to = (began + timedelta(hours=23)).isoformat(timespec="seconds")
    result["plans"] = query_plans(big, sid_b, day)
    empty.close()
    big.close()

    run = Runner(folder)

    def command(db: str, *argv: str) -> list[str]:
        return [MONITOR, "--db", db, *argv]

    cases: list[tuple[str, list[str], list[str]]] = [
        ("audit_limit_100", ["audit", "--limit", "100"], ["audit", "--limit", "100"]),
        ("audit_session", ["audit", str(sid_a)], ["audit", str(sid_b)]),
        (
            "audit_last_24h",
            ["audit", "--from", live_from, "--to", live_to],
            ["audit", "--from", live_from, "--to", live_to],
        ),
        (
            "audit_history_day",
            ["audit", "--from", day, "--to", day],
            ["audit", "--from", day, "--to", day],
        ),
        ("session_list_json", ["session", "list", "--json"], ["session", "list", "--json"]),
        ("audit_json_whole", ["audit", "--json"], ["audit", "--json"]),
    ]
    rows: list[tuple[str, str, str]] = []
    for label, a_argv, b_argv in cases:
        # Once, unmeasured: what each side prints (the outputs are checked, not just timed).
        run(f"{label}:check", command(empty_db, *a_argv))
        shown_a = run.lines()
        run(f"{label}:check", command(big_db, *b_argv))
        shown_b = run.lines()
        result[f"{label}_lines"] = [len(shown_a), len(shown_b)]
        if label == "audit_json_whole":
            assert len(shown_b) == result["audit_rows"], (len(shown_b), result["audit_rows"])
            ids = [json.loads(line)["id"] for line in shown_b]  # every line parses alone
            assert ids == sorted(ids)
        del shown_a, shown_b
        figure = interleave(
            lambda a=a_argv, key=label: run(f"{key}:empty", command(empty_db, *a)),
            lambda b=b_argv, key=label: run(f"{key}:big", command(big_db, *b)),
            pairs=args.pairs,
            warmup=2,
            label=label,
        )
        figure["peak_mb_empty"] = round(max(run.peaks[f"{label}:empty"]), 1)
        figure["peak_mb_big"] = round(max(run.peaks[f"{label}:big"]), 1)
        result[label] = figure
        target = "< 150 MB" if label == "audit_json_whole" else "<= 1.2"
        measured = (
            f"{figure['peak_mb_big']:.0f} MB, {figure['b_ms'] / 1000:.1f} s"
            if label == "audit_json_whole"
            else ratio_text(figure)
        )
        rows.append((label, measured, target))
    emit(result, rows)


if __name__ == "__main__":
    main()
