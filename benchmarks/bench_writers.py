"""SQLite write fairness (issue 10, deliverable 5): prints one JSON line.

N writer processes (8, and 4) each record K readings back to back through the service layer
(``Service.record_reading``) into one fresh SQLite file, all starting at the same moment. Per
save: the latency of the whole call (median, p99, max over every save of the run) and the
throughput of the run (saves over the time from the first start to the last end).

Two ways are measured, interleaved in one run (old, new, old, new, ...) after a warm-up round
that is not counted: ``old``, SQLite's own busy handler alone (``make_engine(...,
fair_writes=False)``, the write path before this issue); ``new``, writers queue on the lock
file beside the database (:mod:`monitor.store.writelock`). Each figure is the median over the
rounds with its min and max. Target: with 8 writers, p99 < 250 ms and no save over 1 s.

    python benchmarks/bench_writers.py [--writers 8 4] [--readings 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES = ("old", "new")
TARGET_P99_MS = 250.0
TARGET_MAX_MS = 1000.0


def worker(url: str, session_id: int, count: int, mode: str) -> None:
    """One writer process: open, save one reading untimed (statement caches warm), say
    ``ready``, wait for ``go`` on stdin, then save ``count`` readings, timing each; print the
    latencies (ms) and the first start and last end (monotonic clock, shared by processes)."""
    from monitor.services import Service
    from monitor.store.engine import make_engine

    service = Service(make_engine(url, fair_writes=mode == "new"))
    service.record_reading(session_id, "120/80 hr 70 spo2 97", by="bench")
    print("ready", flush=True)
    sys.stdin.readline()
    latencies = []
    began = time.monotonic()
    for seq in range(count):
        start = time.perf_counter()
        service.record_reading(session_id, f"{100 + seq % 60}/70 hr {50 + seq % 40}", by="bench")
        latencies.append(round((time.perf_counter() - start) * 1000, 3))
    ended = time.monotonic()
    service.close()
    print(json.dumps({"latencies_ms": latencies, "began": began, "ended": ended}), flush=True)


def template(folder: Path, writers: int) -> tuple[Path, list[int]]:
    """A migrated SQLite file with a user and one session per writer, checkpointed."""
    from monitor.services import Service

    path = folder / "template.db"
    service = Service.open(str(path))
    service.add_user("bench", "supervisor", "1234")
    sessions = [
        service.start_session(patient=f"WRITER-{n}", protocol="ketamine-iv", by="bench")
        for n in range(writers)
    ]
    with service.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    service.close()
    return path, sessions


def run(template_db: Path, sessions: list[int], writers: int, count: int, mode: str) -> dict:
    """One run: a fresh copy of the template, ``writers`` processes at once."""
    folder = Path(tempfile.mkdtemp(prefix="monitor-writers-"))
    try:
        db = folder / "bench.db"
        shutil.copy(template_db, db)
        db.chmod(0o600)
        url = f"sqlite:///{db}"
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--worker", url, str(sid), str(count), mode],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            for sid in sessions[:writers]
        ]
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.strip() != "ready":
                raise SystemExit(f"a writer failed to start: {line!r}")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports = []
        for proc in procs:
            out, _ = proc.communicate(timeout=600)
            if proc.returncode != 0:
                raise SystemExit(f"a writer failed (exit {proc.returncode})")
            reports.append(json.loads(out))
        stored = check_stored(url, sessions[:writers], count + 1)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    latencies = sorted(ms for report in reports for ms in report["latencies_ms"])
    elapsed = max(r["ended"] for r in reports) - min(r["began"] for r in reports)
    return {
        "median_ms": statistics.median(latencies),
        "p99_ms": statistics.quantiles(latencies, n=100)[98],
        "max_ms": latencies[-1],
        "saves_per_s": len(latencies) / elapsed,
        "stored": stored,
    }


def check_stored(url: str, sessions: list[int], each: int) -> int:
    """Every save present exactly once: ``each`` readings in each writer's session."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        counts = dict(
            connection.execute(
                text("SELECT session_id, count(*) FROM readings GROUP BY session_id")
            ).all()
        )
    engine.dispose()
    if any(counts.get(sid) != each for sid in sessions):
        raise SystemExit(f"readings lost or duplicated: {counts}, expected {each} each")
    return sum(counts.values())


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(samples), 1),
        "min": round(min(samples), 1),
        "max": round(max(samples), 1),
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        url, sid, count, mode = sys.argv[2:6]
        worker(url, int(sid), int(count), mode)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, nargs="+", default=[8, 4])
    parser.add_argument("--readings", type=int, default=100, help="timed saves per writer")
    parser.add_argument("--rounds", type=int, default=5, help="counted rounds after a warm-up")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="monitor-writers-template-"))
    try:
        template_db, sessions = template(folder, max(args.writers))
        results: dict[int, dict[str, list[dict]]] = {
            n: {mode: [] for mode in MODES} for n in args.writers
        }
        for round_ in range(args.rounds + 1):
            for n in args.writers:
                for mode in MODES:
                    outcome = run(template_db, sessions, n, args.readings, mode)
                    print(f"round {round_} writers {n} {mode}: {outcome}", file=sys.stderr)
                    if round_ > 0:  # round 0 is the warm-up
                        results[n][mode].append(outcome)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report: dict[str, object] = {
        "readings_per_writer": args.readings,
        "rounds": args.rounds,
        "target": {"writers": 8, "p99_ms_below": TARGET_P99_MS, "max_ms_below": TARGET_MAX_MS},
    }
    for n in args.writers:
        report[f"writers_{n}"] = {
            mode: {
                figure: summary([outcome[figure] for outcome in results[n][mode]])
                for figure in ("median_ms", "p99_ms", "max_ms", "saves_per_s")
            }
            for mode in MODES
        }
    if 8 in results:
        new = results[8]["new"]
        report["target_met"] = all(
            o["p99_ms"] < TARGET_P99_MS and o["max_ms"] < TARGET_MAX_MS for o in new
        )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
