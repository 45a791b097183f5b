"""Start-up benchmark (issue #10): whole processes, interleaved pairs; prints one JSON line.

- help_ratio: wall time of ``monitor --help`` (the installed console script) over
  ``python -c pass`` with the same interpreter (target <= 3);
- record_ratio: wall time of ``monitor record ID ENTRY --by USER`` (PIN from MONITOR_PIN) on a
  prepared SQLite file, over a bare script that imports SQLAlchemy, makes an engine on a copy
  of the same kind of file (WAL, synchronous=FULL, foreign keys on), inserts one reading row
  and commits (target <= 1.3);
- pin_check_ms (for reading the record figure): one scrypt PIN check, which every command
  acting as a user pays and the bare script does not;
- batch_readings_per_s: ``monitor record ID --stdin`` saving 2,000 readings into a new
  session, the whole process timed (5 runs; target >= 500 readings/s on SQLite);
- batch_on_busy_disk (issue #23): the same batch while another process keeps the disk busy
  (``dd ... oflag=direct conv=fsync`` in a loop, writing beside the database on the same
  filesystem), interleaved with runs on the quiet disk (``--disk-runs`` of each, alternating
  which goes first); the target, >= 500 readings/s, holds for both;
- imports_ms (for reading both ratios): whole processes that only import, run round-robin
  after a warm-up, each the median of as many rounds as pairs: ``pass``, ``import click``
  (the floor of any click command line), ``import sqlalchemy`` (what the bare script
  imports), ``import sqlalchemy.orm``, ``import monitor.services.recording`` (what ``monitor
  record`` opens: SQLAlchemy Core, the tables, the recording services and the clinical core
  they use) and ``import monitor.services.service`` (the whole services layer, with the ORM).

Each ratio is the median of per-pair ratios B/A, A and B run back to back, alternating which
goes first, after a warm-up (benchmarks/pairs.py).

    .venv/bin/python benchmarks/bench_startup.py [--pairs 21] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from pairs import child_env, emit, import_times, interleave, ratio_text, spread  # noqa: E402

PYTHON = sys.executable
MONITOR = str(Path(PYTHON).with_name("monitor"))
PIN = "1234"
USER = "bench"

#: The bare side of the record ratio: SQLAlchemy Core, one row, one commit, on the same kind
#: of file as the product's (the WAL mode is stored in the file; the rest is per connection).
BARE_RECORD = """
import sys
from datetime import UTC, datetime
from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, Table, create_engine, event

engine = create_engine("sqlite:///" + sys.argv[1])

@event.listens_for(engine, "connect")
def pragmas(connection, _record):
    cursor = connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()

readings = Table(
    "readings",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("session_id", Integer),
    Column("measured_at", DateTime),
    Column("recorded_at", DateTime),
    Column("recorded_by_id", Integer),
    Column("systolic", Integer),
    Column("diastolic", Integer),
    Column("heart_rate", Integer),
    Column("spo2", Integer),
    Column("before_dosing", Boolean),
)
now = datetime.now(UTC).replace(tzinfo=None)
with engine.begin() as connection:
    connection.execute(
        readings.insert(),
        {
            "session_id": int(sys.argv[2]),
            "measured_at": now,
            "recorded_at": now,
            "recorded_by_id": int(sys.argv[3]),
            "systolic": 120,
            "diastolic": 80,
            "heart_rate": 70,
            "spo2": 98,
            "before_dosing": False,
        },
    )
print("saved")
"""


def run(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Wall time of one whole process (it must succeed)."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return elapsed


def prepare(folder: Path) -> tuple[Path, Path, int, int]:
    """An SQLite file with a user and an active session, and a copy of it for the bare side."""
    from monitor.services import Service

    db = folder / "record.db"
    service = Service.open(str(db))
    service.add_user(USER, "supervisor", PIN)
    sid = service.start_session(patient="MRN-START", protocol="ketamine-iv", by=USER)
    service.record_dose(sid, by=USER, override_reason="benchmark: no baseline")
    user_id = service.users()[0].id
    service.close()  # the last connection checkpoints the WAL into the file
    copy = folder / "bare.db"
    shutil.copy(db, copy)
    os.chmod(copy, 0o600)
    return db, copy, sid, user_id


def pin_check_seconds(samples: int = 5) -> list[float]:
    from monitor.pins import hash_pin, verify_pin

    stored = hash_pin(PIN)
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        verify_pin(PIN, stored)
        times.append(time.perf_counter() - start)
    return times


def new_session(db: Path) -> int:
    """A new session, dosed, for one batch (each batch fills a session of its own, so that
    every run saves the same: 2,000 readings into a session)."""
    from monitor.services import Service

    service = Service.open(str(db))
    try:
        sid = service.start_session(
            patient=f"MRN-BATCH-{time.monotonic_ns()}", protocol="ketamine-iv", by=USER
        )
        service.record_dose(sid, by=USER, override_reason="benchmark: no baseline")
        return sid
    finally:
        service.close()


def batch_rates(db: Path, env: dict[str, str], lines: int, runs: int) -> list[float]:
    """Readings per second of ``monitor record ID --stdin`` saving ``lines`` readings into a
    new session, the whole process included (start-up, PIN check, the groups' transactions,
    an audit row per line)."""
    text = "".join(
        f"{110 + n % 50}/{70 + n % 20} hr {60 + n % 40} spo2 {95 + n % 5}\n" for n in range(lines)
    ).encode()
    rates = []
    for _ in range(runs):
        sid = new_session(db)
        start = time.perf_counter()
        done = subprocess.run(
            [MONITOR, "--db", str(db), "record", str(sid), "--stdin", "--by", USER],
            input=text,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"record --stdin failed: {done.stderr.decode()[-500:]}")
        rates.append(lines / elapsed)
    return rates


#: The busy disk: a writer that bypasses the page cache and syncs, again and again.
DISK_WRITER = (
    "while :; do dd if=/dev/zero of={file} bs=1M count=64 oflag=direct conv=fsync status=none; done"
)


@contextlib.contextmanager
def busy_disk(folder: Path) -> Iterator[None]:
    """Another process writing to the disk under ``folder`` (the database's filesystem) for
    as long as the block runs; stopped (its own process group) after it."""
    writer = subprocess.Popen(
        ["sh", "-c", DISK_WRITER.format(file=folder / "disk-load.bin")], start_new_session=True
    )
    try:
        time.sleep(1.0)  # let it reach the disk
        yield
    finally:
        os.killpg(writer.pid, signal.SIGTERM)
        writer.wait()
        (folder / "disk-load.bin").unlink(missing_ok=True)


def batch_on_busy_disk(
    folder: Path, db: Path, env: dict[str, str], lines: int, runs: int
) -> dict[str, dict[str, float]]:
    """Readings per second of the batch on the quiet disk and on the busy one, ``runs`` of
    each, interleaved (alternating which goes first)."""
    quiet: list[float] = []
    busy: list[float] = []
    for i in range(runs):
        for loaded in (False, True) if i % 2 == 0 else (True, False):
            if loaded:
                with busy_disk(folder):
                    busy += batch_rates(db, env, lines, 1)
            else:
                quiet += batch_rates(db, env, lines, 1)
    return {
        "quiet": spread(quiet, scale=1, digits=0),
        "busy": spread(busy, scale=1, digits=0),
    }


#: What a process imports, alone: the parts of the two ratios' difference.
IMPORTS = {
    "pass": "pass",
    "click": "import click",
    "sqlalchemy": "import sqlalchemy",
    "sqlalchemy_orm": "import sqlalchemy.orm",
    "monitor_recording": "import monitor.services.recording",
    "monitor_services": "import monitor.services.service",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=21)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--dir", default=None, help="where the SQLite files go (default: the temp folder, /tmp)"
    )
    parser.add_argument("--verbose", action="store_true", help="each pair on stderr")
    parser.add_argument("--batch-lines", type=int, default=2000, help="lines per record --stdin")
    parser.add_argument(
        "--disk-runs", type=int, default=5, help="batches on the busy disk (and quiet), 0: none"
    )
    args = parser.parse_args()
    if not Path(MONITOR).exists():
        raise SystemExit(f"no console script at {MONITOR}: pip install -e . in this venv")
    folder = Path(tempfile.mkdtemp(prefix="monitor-bench-startup-", dir=args.dir))
    try:
        db, copy, sid, user_id = prepare(folder)
        env = child_env(MONITOR_PIN=PIN)
        label = "help" if args.verbose else ""
        help_figure = interleave(
            lambda: run([PYTHON, "-c", "pass"], env),
            lambda: run([MONITOR, "--help"], env),
            pairs=args.pairs,
            warmup=args.warmup,
            label=label,
        )
        entry = "120/80 hr 70 spo2 98"
        record_figure = interleave(
            lambda: run([PYTHON, "-c", BARE_RECORD, str(copy), str(sid), str(user_id)], env),
            lambda: run([MONITOR, "--db", str(db), "record", str(sid), entry, "--by", USER], env),
            pairs=args.pairs,
            warmup=args.warmup,
            label="record" if args.verbose else "",
        )
        pin = spread(pin_check_seconds(), scale=1000, digits=1)
        batch = spread(batch_rates(db, env, args.batch_lines, 5), scale=1, digits=0)
        load_before = os.getloadavg()
        disk = (
            batch_on_busy_disk(folder, db, env, args.batch_lines, args.disk_runs)
            if args.disk_runs
            else None
        )
        imports = import_times(IMPORTS, env, args.pairs, args.warmup)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result = {
        "benchmark": "startup",
        "python": sys.version.split()[0],
        "help": help_figure,
        "help_ratio": help_figure["ratio"],
        "record": record_figure,
        "record_ratio": record_figure["ratio"],
        "pin_check_ms": pin["median"],
        "batch_readings_per_s": batch,
        "batch_on_busy_disk": disk,
        "imports_ms": imports,
        "load_average": [round(x, 2) for x in load_before],
    }
    emit(
        result,
        [
            ("figure", "median (min-max)", "target"),
            ("python -c pass, ms", f"{help_figure['a_ms']}", ""),
            ("monitor --help, ms", f"{help_figure['b_ms']}", ""),
            ("help ratio", ratio_text(help_figure), "<= 3"),
            ("bare Core insert script, ms", f"{record_figure['a_ms']}", ""),
            ("monitor record, ms", f"{record_figure['b_ms']}", ""),
            ("record ratio", ratio_text(record_figure), "<= 1.3"),
            ("one scrypt PIN check, ms", f"{pin['median']}", ""),
            (
                f"record --stdin, {args.batch_lines} lines, readings/s",
                f"{batch['median']} ({batch['min']}-{batch['max']})",
                ">= 500",
            ),
            *(
                (
                    f"  interleaved, {kind} disk, readings/s",
                    _spread_text(figure),
                    ">= 500",
                )
                for kind, figure in (disk or {}).items()
            ),
            ("load average (1, 5, 15 min) before the batches", str(result["load_average"]), ""),
            *(
                (f"a process that runs `{IMPORTS[name]}`, ms", _spread_text(figure), "")
                for name, figure in imports.items()
            ),
        ],
    )


def _spread_text(figure: dict) -> str:
    return f"{figure['median']} ({figure['min']}-{figure['max']})"


if __name__ == "__main__":
    main()
