"""Export benchmark (issue #12, deliverable 7); prints one JSON line and a table on stderr.

A history of 10,000 discharged sessions with 10 readings each (100,000 readings, plus a
correction and a voided reading in every 20th session, 2 flags a session, one acknowledged,
and an adverse event in every 10th), by bulk Core inserts, 40 sessions a day. Then:

- **CSV throughput**, in one process, interleaved pairs (benchmarks/pairs.py): A, the baseline,
  is a raw SQL select of the readings (joined to their session and patient, in the export's
  order) through the database driver's cursor, written with the ``csv`` module; B is
  ``monitor.export.export(..., "csv")`` of the same sessions (a period holding all 10,000).
  Both write a file on the same disk. The figure is B/A (time), so the export's throughput is
  1/(B/A) of the baseline's; target >= 1/2, i.e. B/A <= 2.
- **Peak memory** of that export as a whole process (``monitor export --from --to --format csv
  -o FILE``, max RSS from ``os.wait4`` in a small process that starts it), for a period of
  2,000 sessions and for all 10,000: target < 150 MB, and not growing with the size. The same
  for ``--format json`` (which judges every session).
- **PDF pages per second**: ``export(..., "pdf")`` of 20 sessions, in process, 5 runs after a
  warm-up; and one session's PDF (what the station's key costs), 10 runs.
- **The single-session PDF's CPU time** (issue #22), whole processes, interleaved pairs: A is
  ``monitor export ID --format json`` (the same start, reads and judging, no PDF), B is
  ``monitor export ID --format pdf``; each side's figure is the process's CPU time (user +
  system, from ``os.wait4``): target B < 2 s. Then the peak RSS of each (``os.wait4``'s max
  RSS of the whole process, 5 runs, started as the peaks above are; issue #23: target
  < 100 MB for the PDF), and where B's time goes, phase by phase, in a process that does
  what the command does (median of 5).

    .venv/bin/python benchmarks/bench_export.py [--sessions 10000] [--pairs 15]
    .venv/bin/python benchmarks/bench_export.py --sessions 100 --only-pdf   # the PDF alone
    .venv/bin/python benchmarks/bench_export.py --only-csv   # the CSV's throughput alone
    createdb -h 127.0.0.1 -U postgres bench_export
    .venv/bin/python benchmarks/bench_export.py \\
        --db postgresql+psycopg://postgres@127.0.0.1:5432/bench_export
    dropdb -h 127.0.0.1 -U postgres bench_export

Without --db the database is a new SQLite file in a temporary folder (or ``--dir``).
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from bench_reads import MONITOR, Runner, add_users, count, table  # noqa: E402
from pairs import child_env, emit, interleave, ratio_text, spread  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from monitor.export import Selection, export  # noqa: E402
from monitor.services import Service  # noqa: E402
from monitor.store import models as m  # noqa: E402

PER_DAY = 40
#: Minutes after dosing of each reading (the first is the baseline, before dosing).
MINUTES = (-4, 10, 20, 30, 40, 50, 60, 75, 90, 120)

BASELINE_SQL = """
SELECT r.session_id, p.identifier, s.protocol, r.id, r.measured_at, r.recorded_at,
       r.recorded_by_id, r.systolic, r.diastolic, r.heart_rate, r.spo2, r.resp_rate, r.moaas,
       r.cadss, r.before_dosing, r.corrects_id, r.reason
FROM readings r
JOIN treatment_sessions s ON s.id = r.session_id
JOIN patients p ON p.id = s.patient_id
WHERE s.started_at >= :since AND s.started_at <= :until
ORDER BY r.session_id, r.measured_at, r.id
"""


def build(service: Service, sessions: int, first_day: datetime) -> float:
    """``sessions`` discharged sessions, 40 a day from ``first_day``, bulk inserted."""
    started = time.perf_counter()
    engine = service.write_engine
    users = {u.name: u.id for u in service.users()}
    patients = max(1, sessions // 8)
    with engine.begin() as connection:
        connection.execute(
            insert(table(m.Patient)),
            [
                {"id": p, "identifier": f"P-{p:06d}", "created_at": first_day}
                for p in range(1, patients + 1)
            ],
        )
    reading_id = flag_id = ack_id = void_id = event_id = 0
    batch: dict[str, list[dict[str, Any]]] = {}
    names = ("treatment_sessions", "readings", "flags", "acknowledgements", "voids", "events")

    def flush() -> None:
        with engine.begin() as connection:
            for name in names:
                rows = batch[name]
                if rows:
                    # One statement for many rows wants the same keys in each.
                    keys = {key for row in rows for key in row}
                    rows = [{key: row.get(key) for key in keys} for row in rows]
                    connection.execute(insert(m.Base.metadata.tables[name]), rows)
        batch.clear()

    for sid in range(1, sessions + 1):
        for name in names:
            batch.setdefault(name, [])
        day, slot = divmod(sid - 1, PER_DAY)
        nurse = users["ana"] if sid % 2 else users["ben"]
        begun = first_day + timedelta(days=day, minutes=12 * slot)
        dosed = begun + timedelta(minutes=6)
        discharged = dosed + timedelta(minutes=125)
        batch["treatment_sessions"].append(
            {
                "id": sid,
                "patient_id": 1 + sid % patients,
                "protocol": "esketamine-84",
                "dose_mg": 84.0,
                "lot": f"LOT-{sid % 997}",
                "age": 30 + sid % 50,
                "bay": f"Bay {1 + slot % 8}",
                "started_at": begun,
                "started_by_id": nurse,
                "dosed_at": dosed,
                "discharged_at": discharged,
                "discharged_by_id": nurse,
                "first_treatment": False,
                "meds": "none",
                "escort": "partner",
                "instructions_given": True,
                "ready_minute": 120,
                "ready_minute_proposed": 120,
                "ready_minute_by_id": nurse,
            }
        )
        ids = []
        for n, minute in enumerate(MINUTES):
            reading_id += 1
            ids.append(reading_id)
            measured = dosed + timedelta(minutes=minute)
            late = sid % 25 == 0 and n == 3
            batch["readings"].append(
                {
                    "id": reading_id,
                    "session_id": sid,
                    "measured_at": measured,
                    "recorded_at": measured + timedelta(minutes=15 if late else 0.5),
                    "recorded_by_id": nurse,
                    "systolic": 185 if n == 4 else 118 + reading_id % 25,
                    "diastolic": 70 + reading_id % 15,
                    "heart_rate": 60 + reading_id % 30,
                    "spo2": 93 if n == 6 else 97,
                    "resp_rate": 14,
                    "moaas": 5,
                    "cadss": reading_id % 4,
                    "before_dosing": minute < 0,
                }
            )
            if n in (4, 6):
                flag_id += 1
                high = n == 4
                batch["flags"].append(
                    {
                        "id": flag_id,
                        "reading_id": reading_id,
                        "measure": "systolic" if high else "spo2",
                        "severity": "high" if high else "medium",
                        "rule": "systolic.high.above" if high else "spo2.medium.below",
                        "message": "SBP 185 >= 180: severe elevation"
                        if high
                        else "SpO2 93 in 92-93: low oxygen saturation",
                    }
                )
                if high:
                    ack_id += 1
                    batch["acknowledgements"].append(
                        {
                            "id": ack_id,
                            "flag_id": flag_id,
                            "by_id": nurse,
                            "at": measured + timedelta(minutes=2),
                            "action": "rechecked in 5 min, prescriber informed",
                        }
                    )
        if sid % 20 == 0:
            reading_id += 1
            corrected = dosed + timedelta(minutes=MINUTES[5])
            batch["readings"].append(
                {
                    "id": reading_id,
                    "session_id": sid,
                    "measured_at": corrected,
                    "recorded_at": corrected + timedelta(minutes=3),
                    "recorded_by_id": nurse,
                    "systolic": 131,
                    "diastolic": 79,
                    "heart_rate": 70,
                    "before_dosing": False,
                    "corrects_id": ids[5],
                    "reason": "misread the cuff",
                }
            )
            void_id += 1
            batch["voids"].append(
                {
                    "id": void_id,
                    "reading_id": ids[7],
                    "by_id": nurse,
                    "at": dosed + timedelta(minutes=80),
                    "reason": "entered for the wrong patient",
                }
            )
        if sid % 10 == 0:
            event_id += 1
            batch["events"].append(
                {
                    "id": event_id,
                    "session_id": sid,
                    "kind": "adverse",
                    "type": "nausea",
                    "severity": "mild",
                    "serious": False,
                    "text": "nauseous, settled",
                    "at": dosed + timedelta(minutes=25),
                    "recorded_at": dosed + timedelta(minutes=26),
                    "by_id": nurse,
                }
            )
        if sid % 400 == 0:
            flush()
            print(f"history: {sid:,} sessions", file=sys.stderr, end="\r")
    if batch:
        flush()
    print(file=sys.stderr)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for name in ("patients", *names):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"GREATEST((SELECT MAX(id) FROM {name}), 1))"
                )
            connection.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def baseline(service: Service, since: datetime, until: datetime, path: Path) -> int:
    """The raw select through the driver's cursor, written with the csv module."""
    raw = service.engine.raw_connection()
    try:
        cursor = raw.cursor()
        sql = BASELINE_SQL
        params: Any
        if service.engine.dialect.name == "sqlite":
            sql = sql.replace(":since", "?").replace(":until", "?")
            params = (
                since.replace(tzinfo=None).isoformat(" "),
                until.replace(tzinfo=None).isoformat(" "),
            )
        else:
            sql = sql.replace(":since", "%s").replace(":until", "%s")
            params = (since, until)
        cursor.execute(sql, params)
        rows = 0
        with open(path, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow([d[0] for d in cursor.description])
            while chunk := cursor.fetchmany(2000):
                writer.writerows(chunk)
                rows += len(chunk)
        cursor.close()
    finally:
        raw.close()
    return rows


def timed_export(service: Service, selection: Selection, fmt: str, path: Path) -> float:
    start = time.perf_counter()
    export(service, selection, fmt, path, overwrite=True)
    return time.perf_counter() - start


def cpu_seconds(argv: list[str], env: dict[str, str]) -> float:
    """Run ``argv`` as a whole process; its CPU time (user + system), in seconds."""
    with subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL) as child:
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{argv[1:]} failed ({child.returncode})")
    return usage.ru_utime + usage.ru_stime


#: The phases of one session's PDF, in a process of its own (CPU ms each, printed as JSON),
#: the garbage collector as the command runs it (paused while loading, what is loaded then
#: frozen: monitor/cli/export.py), its own time within the phases given apart.
PHASES = """
import gc, importlib, json, sys, time
from io import BytesIO
spent, mark, collecting = {}, [time.process_time()], [0.0, 0.0]
def lap(name):
    now = time.process_time(); spent[name] = round((now - mark[0]) * 1000); mark[0] = now
def collector(phase, info):
    if phase == "start":
        collecting[1] = time.process_time()
    else:
        collecting[0] += time.process_time() - collecting[1]
gc.callbacks.append(collector)
import monitor.cli.root, monitor.cli.export
lean = hasattr(monitor.cli.export, "_lean_collector")  # not in an older tree
if lean:
    gc.disable()
lap("start: click and the command line")
from monitor.services import Service
from monitor.services.exports import rems_forms, session_views
service = Service.open(sys.argv[1], create=False)
views = session_views(service, [int(sys.argv[2])]); forms = rems_forms(service, views)
lap("services: import, open, read and judge")
from monitor.export import LIBRARIES
for name in LIBRARIES["pdf"]:
    importlib.import_module(name)
lap("import " + ", ".join(LIBRARIES["pdf"]))
if lean:
    gc.freeze()
    gc.enable()
from monitor.export import pdf
record = pdf._Record("Clinic", service.now(), service.config.thresholds)
lap("fonts: DejaVu Sans regular and bold read")
try:  # the chart drawn by fpdf2 (issue #23), or by matplotlib in an older tree
    from monitor.export import pdf_chart as drawing
    way, what = "draw_chart", "chart: drawn by fpdf2"
except ImportError:
    from monitor.export import chart as drawing
    way = "pixels" if hasattr(drawing, "pixels") else "render"  # an older tree: a PNG
    what = "chart: matplotlib figure and Agg drawing"
drawn = getattr(drawing, way)
def timed(*args, **kwargs):
    start = time.process_time(); image = drawn(*args, **kwargs)
    spent[what] = round((time.process_time() - start) * 1000)
    return image
setattr(drawing, way, timed)
record.session(views[0], forms.get(views[0].id), service.today())
lap("layout")
spent["layout"] -= spent[what]
record.output(BytesIO())
lap("output: font subsets, compression")
spent["garbage collection, within the phases"] = round(collecting[0] * 1000)
print(json.dumps(spent))
"""


def pdf_cpu(
    db: str, sid: int, folder: Path, pairs: int
) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """The single-session PDF's CPU time against the same export as JSON, interleaved; then
    its phases."""
    env = child_env(TZ="UTC")
    base = [MONITOR, "--db", db, "export", str(sid), "--overwrite", "-o"]

    def side(fmt: str) -> Any:
        return lambda: cpu_seconds([*base, str(folder / f"one-cpu.{fmt}"), "--format", fmt], env)

    figure = interleave(side("json"), side("pdf"), pairs=pairs, warmup=2, label="pdf cpu")
    # The peak RSS of each, 5 runs, started by a small process (the Runner's): a process
    # started by this one would count this one's memory as its own (os.wait4's max RSS
    # keeps the highest of the process before and after exec).
    run = Runner(folder)
    for fmt in ("json", "pdf"):
        for _ in range(5):
            run(fmt, [*base, str(folder / f"one-peak.{fmt}"), "--format", fmt])
    figure["peak_mb"] = {fmt: spread(run.peaks[fmt], 1, 1) for fmt in ("json", "pdf")}
    runs = []
    for _ in range(5):
        argv = [sys.executable, "-c", PHASES, db, str(sid)]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout))
    figure["phases_ms"] = {name: statistics.median(r[name] for r in runs) for name in runs[0]}
    rows = [
        (
            f"one session's PDF, monitor export --format pdf, CPU (json: {figure['a_ms']:.0f} ms)",
            f"{figure['b_ms'] / 1000:.2f} s ({figure['b_ms_min'] / 1000:.2f}-"
            f"{figure['b_ms_max'] / 1000:.2f})",
            "< 2 s",
        )
    ]
    pdf_peak, json_peak = figure["peak_mb"]["pdf"], figure["peak_mb"]["json"]
    rows.append(
        (
            f"  peak RSS of the whole process, os.wait4 (json: {json_peak['median']:.0f} MB)",
            f"{pdf_peak['median']:.0f} MB ({pdf_peak['min']:.0f}-{pdf_peak['max']:.0f})",
            "< 100 MB",
        )
    )
    rows += [(f"  {name}", f"{ms:.0f} ms", "") for name, ms in figure["phases_ms"].items()]
    return figure, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an empty database's URL (default: a new SQLite file)")
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument("--dir", help="folder for the SQLite file and the outputs")
    parser.add_argument("--reuse", action="store_true", help="measure a database already built")
    parser.add_argument("--only-pdf", action="store_true", help="only the single-session PDF")
    parser.add_argument("--only-csv", action="store_true", help="only the CSV's throughput")
    args = parser.parse_args()
    folder = Path(args.dir or tempfile.mkdtemp(prefix="monitor-export-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = args.db or str(folder / "history.db")
    first_day = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
    service = Service.open(db)
    took = None
    if not (args.reuse and count(service.engine, "users")):
        if count(service.engine, "users"):
            raise SystemExit(f"{db} is not empty: name an empty database, or --reuse")
        add_users(service)
        took = build(service, args.sessions, first_day)
        if service.engine.dialect.name == "sqlite":
            with service.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    days = -(-args.sessions // PER_DAY)
    since = first_day - timedelta(hours=1)
    until = first_day + timedelta(days=days)
    result: dict[str, Any] = {
        "backend": service.engine.dialect.name,
        "sessions": count(service.engine, "treatment_sessions"),
        "readings": count(service.engine, "readings"),
        "flags": count(service.engine, "flags"),
    }
    if took is not None:
        result["build_s"] = round(took, 1)
    if args.only_pdf:
        service.close()
        result["pdf_cpu"], rows = pdf_cpu(db, 20, folder, args.pairs)
        emit(result, rows)
        return
    everything = Selection(since=since, until=until)
    a_file, b_file = folder / "baseline.csv", folder / "export.csv"

    # Once, unmeasured: both hold every reading.
    rows_a = baseline(service, since, until, a_file)
    export(service, everything, "csv", b_file, overwrite=True)
    with open(b_file, encoding="utf-8", newline="") as handle:
        rows_b = sum(1 for _ in csv.reader(handle)) - 1
    assert rows_a == rows_b == result["readings"], (rows_a, rows_b, result["readings"])

    def side_a() -> float:
        gc.collect()
        start = time.perf_counter()
        baseline(service, since, until, a_file)
        return time.perf_counter() - start

    def side_b() -> float:
        gc.collect()
        return timed_export(service, everything, "csv", b_file)

    figure = interleave(side_a, side_b, pairs=args.pairs, warmup=2, label="csv")
    figure["throughput_a"] = round(rows_a / (figure["a_ms"] / 1000))
    figure["throughput_b"] = round(rows_b / (figure["b_ms"] / 1000))
    figure["throughput_share"] = round(1 / figure["ratio"], 2)
    result["csv"] = figure
    rows: list[tuple[str, str, str]] = [
        (
            "csv export / raw select + csv module (time)",
            f"{ratio_text(figure)}; {figure['throughput_b']:,} vs {figure['throughput_a']:,} "
            "readings/s",
            "<= 2 (>= 1/2 the throughput)",
        )
    ]

    if args.only_csv:
        service.close()
        emit(result, rows)
        return

    # Peak memory, whole processes.
    run = Runner(folder)
    fifth = Selection(since=since, until=first_day + timedelta(days=days // 5))
    sizes = {"fifth": args.sessions // 5, "all": args.sessions}
    for label, period, fmt in (
        ("csv_fifth", fifth, "csv"),
        ("csv_all", everything, "csv"),
        ("json_all", everything, "json"),
    ):
        argv = [
            MONITOR,
            "--db",
            db,
            "export",
            "--from",
            (period.since or since).isoformat(),
            "--to",
            (period.until or until).isoformat(),
            "--format",
            fmt,
            "--overwrite",
            "-o",
            str(folder / f"{label}.{fmt}"),
        ]
        seconds = [run(label, argv) for _ in range(3)]
        peak = max(run.peaks[label])
        result[f"peak_{label}"] = {
            "sessions": sizes[label.split("_")[1]],
            "mb": round(peak, 1),
            "s": spread(seconds),
        }
        rows.append(
            (
                f"peak RSS, monitor export --format {fmt} ({sizes[label.split('_')[1]]:,} "
                "sessions)",
                f"{peak:.0f} MB ({statistics.median(seconds):.1f} s)",
                "< 150 MB",
            )
        )

    # PDF pages per second.
    ids = tuple(range(1, 21))
    pdf = folder / "records.pdf"
    export(service, Selection(ids=ids), "pdf", pdf, overwrite=True)  # warm-up (imports, fonts)
    rates, pages = [], 0
    for _ in range(5):
        start = time.perf_counter()
        done = export(service, Selection(ids=ids), "pdf", pdf, overwrite=True)
        rates.append(done.items / (time.perf_counter() - start))
        pages = done.items
    one = [timed_export(service, Selection(ids=(7,)), "pdf", folder / "one.pdf") for _ in range(10)]
    result["pdf_pages_per_s"] = spread(rates)
    result["pdf_pages"] = pages
    result["pdf_one_session_ms"] = spread(one, 1000, 0)
    rows.append(
        (
            f"PDF pages/s (20 sessions, {pages} pages)",
            f"{statistics.median(rates):.1f} ({min(rates):.1f}-{max(rates):.1f})",
            "",
        )
    )
    rows.append(
        (
            "one session's PDF (the station's key)",
            f"{statistics.median(one) * 1000:.0f} ms ({min(one) * 1000:.0f}-{max(one) * 1000:.0f})",
            "",
        )
    )
    service.close()
    result["pdf_cpu"], more = pdf_cpu(db, 20, folder, args.pairs)
    emit(result, rows + more)


if __name__ == "__main__":
    main()
