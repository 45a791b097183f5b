"""The station while a listener saves (issue #24, item 6): one JSON line and a table.

One station (the installed console script's code, a subclass with a 5 ms probe timer, as in
``bench_station.py``'s delay mode) runs in a pseudo-terminal of 80x24 drawn on a ``pyte``
screen, on a database with 40 active sessions (SQLite in a temporary folder, or ``--db URL``,
an empty database it fills), signed in through its keys and showing the floor. A real
``monitor ingest`` process listens beside it; 38 monitors are registered to the bays of 38 of
the floor's sessions (a full floor, every bed with its monitor), and one more to the bay of
the session that sorts first on the floor.
After a settling time, windows of ``--window`` seconds (and 1 s after each, measured with it)
run in four conditions, a round of the four in turn forward and backward, the first
``--warmup`` rounds not measured:

- quiet: no message (the listener is up and idle, as a clinic's always is);
- clinic: one message every 1-3 s, all for the pinned session (20 monitors each sending once
  a minute make 0.33 a second);
- paced: one MLLP connection sends ORU^R01 messages for the 38 bays at ``--rate`` a second (20
  by default; the listener acknowledges about 200 a second alone, fewer beside a station),
  each sent once the previous one was acknowledged, as monitors do (``bench_ingest.py``);
- flood: the same, as fast as the listener acknowledges them.

In the last two, a marker message (a unique BP, for the session pinned at the top of the floor)
goes out every 0.5-1.5 s among the others; in clinic every message is one. A marker's latency
is from the moment its ACK was read (the listener acknowledges after its commit) until the
station's screen shows that BP.

Measured per window, from the probe's samples (the probe's clock and this script's are the same
monotonic clock): the worst event-loop delay (what a key press would wait), the 99th percentile
of the probe's delays, the station's CPU (utime + stime, % of one core), the ACK latencies; and,
timed inside the station without a profiler, each repaint (Textual's compositor refresh),
each floor load taken in (``StationApp._loaded``, the table's update included), each read of
the refresh worker (in its thread) and each full collection of the garbage collector (any
thread's: it holds the interpreter's lock); the objects the collector tracks at the end.
Per condition:
the median (min-max) over the rounds, durations and marker latencies pooled. Targets: the worst
delay < 50 ms, as ``bench_station.py``'s delay mode holds the station to alone (over 100 ms a
key press visibly waits); a device reading on screen within 250 ms on SQLite and 1 s on
PostgreSQL at a clinic's pace, as a reading saved at another station (``bench_station.py``'s
visible mode), and within a second under a stream (the issue's alarm "within a second": the
station then reloads at most four times a second, docs/station.md). The machine has two
cores: the station, the listener and this script (sender and terminal screen) share them, as
a station and a listener on one machine would. The streamed sessions grow by about 90
readings a flood window: by the last round they hold about 600 each, more than a two-hour
observation (480 with a reading every 15 s), so the last rounds are the hardest.

    .venv/bin/python benchmarks/bench_station_ingest.py [--db URL] [--rounds 5] [--rate 20]

Diagnosis: ``--profile FILE`` runs it with cProfile on the station's event loop (main thread)
and, into ``FILE.worker``, on each floor read of the refresh worker (its thread), and prints
where their time went (the delays are then inflated by the profiler).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_ingest import END, START, free_port, messages, start_ingest, stop  # noqa: E402
from bench_station import PINNED, PYTHON, USER, Terminal, open_station, pump  # noqa: E402
from bench_station import build as build_floor  # noqa: E402
from pairs import child_env, emit, spread  # noqa: E402

#: The bays the stream writes to: "Bay 1" .. "Bay 38", sessions MRN-0001 .. MRN-0038.
BAYS = 38
#: The pinned session's bay and its monitor (the markers).
PINNED_BAY, PINNED_DEVICE = "Bay P", "MON-P"
CONDITIONS = ("quiet", "clinic", "paced", "flood")
#: After each window, measured with it: the last saves reach the screen.
TAIL = 1.0
#: The most a flood window builds messages for, per second (the listener does about 200).
FLOOD_PER_S = 600

#: The station with a 5 ms probe timer; on SIGUSR1 writes (moment, delay) of every tick to
#: argv[2] (and with argv[3], cProfile's statistics of the event loop to that file).
PROBE = """
import array, asyncio, json, os, signal, sys, time
from monitor.services import Service
from tui.app import StationApp

PROFILE = sys.argv[3] if len(sys.argv) > 3 else None
if PROFILE:
    import cProfile
    profiler = cProfile.Profile()

# Where the loop's time goes, without a profiler: (start, duration) of each call of these.
from textual.screen import Screen
TIMED = {"paint": (Screen, "_compositor_refresh"), "load": (StationApp, "_loaded")}
spans = {name: array.array("d") for name in TIMED}

def timing(name, original):
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spans[name].extend((start, time.perf_counter() - start))
    return timed

for name, (cls, attr) in TIMED.items():
    setattr(cls, attr, timing(name, getattr(cls, attr)))

# The refresh worker's read (in its thread): timed as "read"; with a profile, profiled apart
# (cProfile sees one thread) into PROFILE + ".worker".
import threading
import tui.app
spans["read"] = array.array("d")
worker_stats, worker_lock = [], threading.Lock()

def read_floor(*args, _original=tui.app.load_floor, **kwargs):
    start = time.perf_counter()
    profiler_here = cProfile.Profile() if PROFILE and profiling else None
    try:
        if profiler_here is None:
            return _original(*args, **kwargs)
        return profiler_here.runcall(_original, *args, **kwargs)
    finally:
        spans["read"].extend((start, time.perf_counter() - start))
        if profiler_here is not None:
            with worker_lock:
                worker_stats.append(profiler_here)

tui.app.load_floor = read_floor
profiling = False

# The garbage collector's full collections (any thread's: they hold the GIL), timed as "gc".
import gc
spans["gc"] = array.array("d")
gc_started = [0.0]

def gc_timed(phase, info):
    if info["generation"] != 2:
        return
    if phase == "start":
        gc_started[0] = time.perf_counter()
    else:
        spans["gc"].extend((gc_started[0], time.perf_counter() - gc_started[0]))

gc.callbacks.append(gc_timed)

def full_collection_ms():
    start = time.perf_counter()
    gc.collect()
    return round((time.perf_counter() - start) * 1000, 1)

class Probe(StationApp):
    def on_mount(self):  # Textual also runs StationApp.on_mount (handlers follow the MRO)
        self.last = time.perf_counter()
        self.moments, self.delays = array.array("d"), array.array("d")
        self.set_interval(0.005, self.probe)
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, self.dump)
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR2, self.profile)

    def probe(self):
        now = time.perf_counter()
        self.moments.append(now)
        self.delays.append(now - self.last - 0.005)
        self.last = now

    def profile(self):
        global profiling
        if PROFILE:
            profiling = True
            profiler.enable()

    def dump(self):
        if PROFILE:
            profiler.disable()
            profiler.dump_stats(PROFILE)
            with worker_lock:
                if worker_stats:
                    import pstats
                    pstats.Stats(*worker_stats).dump_stats(PROFILE + ".worker")
        with open(sys.argv[2] + ".part", "w") as out:
            json.dump({"moments": list(self.moments), "delays": list(self.delays),
                       "spans": {k: list(v) for k, v in spans.items()},
                       "signed_in": self.user is not None,
                       "gc_tracked": len(gc.get_objects()),
                       "gc_frozen": gc.get_freeze_count(),
                       "gc_full_ms": full_collection_ms(),
                       "gc_top": __import__("collections").Counter(
                           type(o).__name__ for o in gc.get_objects()).most_common(15)}, out)
        os.replace(sys.argv[2] + ".part", sys.argv[2])

Probe(Service.open(sys.argv[1]), bell=False).run()
"""


def add_devices(db: str) -> None:
    """A monitor in each of the stream's bays and one in the pinned session's bay."""
    from monitor.services import Service

    service = Service.open(db)
    try:
        for bay in range(1, BAYS + 1):
            service.add_device(f"MON-{bay}", bay=f"Bay {bay}", by=USER)
        service.add_device(PINNED_DEVICE, bay=PINNED_BAY, by=USER)
    finally:
        service.close()


class Markers:
    """Marker readings on the pinned session and when the screen showed each."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self.count = 0
        self.pending: dict[int, tuple[re.Pattern[str], float]] = {}
        self.latencies: dict[str, list[float]] = {c: [] for c in CONDITIONS}
        self.unseen: dict[str, int] = dict.fromkeys(CONDITIONS, 0)
        self.condition = "quiet"

    def frame(self) -> bytes:
        """The next marker message: a BP no other marker has."""
        from monitor.hl7 import build_oru

        n = self.count
        self.count += 1
        systolic, diastolic = 100 + n % 80, 50 + (n // 80) % 30
        if self.pending.pop(n - 1, None):  # the one before, still unseen, is overwritten now
            self.unseen[self.condition] += 1
        text = build_oru(
            {"systolic": systolic, "diastolic": diastolic, "heart_rate": 80, "spo2": 97},
            device=PINNED_DEVICE,
            bay=PINNED_BAY,
            control_id=f"MARK-{n}",
            at=datetime.now(UTC),
        )
        self._next = (n, re.compile(rf"{PINNED}.*\b{systolic}/{diastolic}\b"))
        return START + text.encode() + END

    def acknowledged(self, at: float) -> None:
        n, pattern = self._next
        self.pending[n] = (pattern, at)
        self._look()

    def readable(self) -> None:
        self.terminal.read()
        if self.pending:
            self._look()

    def _look(self) -> None:
        text = self.terminal.text()
        now = time.perf_counter()
        for n, (pattern, acked) in list(self.pending.items()):
            if pattern.search(text):
                self.latencies[self.condition].append(now - acked)
                del self.pending[n]

    def close_window(self) -> None:
        self.unseen[self.condition] += len(self.pending)
        self.pending.clear()


async def window(
    condition: str,
    seconds: float,
    rate: float,
    run: int,
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    markers: Markers,
    rng: random.Random,
) -> list[float]:
    """One window's messages (none when quiet): each one's ACK latency, seconds."""
    if condition == "quiet":
        await asyncio.sleep(seconds)
        return []
    clinic = condition == "clinic"
    if clinic:  # every message a marker (built as it goes), one every 1-3 s
        framed = [b""] * math.ceil(seconds)
        dues = list(itertools.accumulate(rng.uniform(1.0, 3.0) for _ in framed))
    else:
        per_s = rate if condition == "paced" else FLOOD_PER_S
        framed = messages(math.ceil(per_s * seconds), BAYS, run)
        dues = [n / rate if condition == "paced" else 0.0 for n in range(len(framed))]
    reader, writer = connection
    start = time.perf_counter()
    next_marker = start + rng.uniform(0.5, 1.5)
    acks: list[float] = []
    for message, after in zip(framed, dues, strict=True):
        due = start + after
        if max(due, now := time.perf_counter()) >= start + seconds:
            break
        if due > now:
            await asyncio.sleep(due - now)
        marker = clinic or time.perf_counter() >= next_marker
        if marker:
            message = markers.frame()
            next_marker += rng.uniform(0.5, 1.5)
        writer.write(message)
        await writer.drain()
        sent = time.perf_counter()
        ack = await asyncio.wait_for(reader.readuntil(END), 60)
        acked = time.perf_counter()
        if marker:
            markers.acknowledged(acked)
        if b"|AA|" not in ack:
            raise SystemExit(f"not accepted: {ack[:300]!r}")
        acks.append(acked - sent)
    elapsed = time.perf_counter() - start
    if elapsed < seconds:
        await asyncio.sleep(seconds - elapsed)
    return acks


async def run_windows(
    terminal: Terminal, port: int, plan: list[str], seconds: float, rate: float
) -> tuple[list[dict], Markers]:
    loop = asyncio.get_running_loop()
    markers = Markers(terminal)
    loop.add_reader(terminal.fd, markers.readable)
    connection = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random(24)
    windows: list[dict] = []
    try:
        for run, condition in enumerate(plan):
            markers.condition = condition
            cpu, start = terminal.cpu_seconds(), time.perf_counter()
            own = sum(os.times()[:2])
            acks = await window(condition, seconds, rate, 500 + run, connection, markers, rng)
            await asyncio.sleep(TAIL)
            markers.close_window()
            end = time.perf_counter()
            windows.append(
                {
                    "condition": condition,
                    "start": start,
                    "end": end,
                    "messages_per_s": len(acks) / seconds,
                    "acks": acks,
                    "station_cpu_percent": 100 * (terminal.cpu_seconds() - cpu) / (end - start),
                    "bench_cpu_percent": 100 * (sum(os.times()[:2]) - own) / (end - start),
                }
            )
    finally:
        loop.remove_reader(terminal.fd)
        connection[1].close()
    return windows, markers


def the_plan(rounds: int, warmup: int) -> list[str]:
    """Each round the three conditions, forward then backward."""
    return [
        c for r in range(warmup + rounds) for c in (CONDITIONS if r % 2 == 0 else CONDITIONS[::-1])
    ]


def measure(args: argparse.Namespace, db: str, folder: Path) -> tuple[dict, list]:
    build_floor(db)
    add_devices(db)
    env = child_env(TERM="xterm-256color")
    out = folder / "probe.json"
    argv = [PYTHON, "-c", PROBE, db, str(out)]
    if args.profile:
        argv.append(str(Path(args.profile).resolve()))
    terminal = open_station(db, env, argv)
    port = free_port()
    ingest = start_ingest(db, env, port)
    plan = the_plan(args.rounds, args.warmup)
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    try:
        pump([terminal], args.settle)  # the sign-in's toast goes, the first refreshes pass
        if args.profile:
            os.kill(terminal.pid, signal.SIGUSR2)
        windows, markers = asyncio.run(run_windows(terminal, port, plan, args.window, args.rate))
        load_after = Path("/proc/loadavg").read_text().split()[:3]
        os.kill(terminal.pid, signal.SIGUSR1)
        end = time.perf_counter() + 60
        while not out.exists() and time.perf_counter() < end:
            pump([terminal], 0.1)
    finally:
        terminal.kill()
        stop(ingest)
    probe = json.loads(out.read_text())
    print(
        f"objects the collector tracks at the end: {probe['gc_tracked']} "
        f"(frozen: {probe['gc_frozen']}; a full collection then: {probe['gc_full_ms']} ms)",
        file=sys.stderr,
    )
    print(f"of which: {probe['gc_top']}", file=sys.stderr)
    if not probe["signed_in"]:
        raise SystemExit("the probe station was not signed in")
    measured = windows[args.warmup * len(CONDITIONS) :]
    backend = "postgresql" if db.startswith("postgres") else "sqlite"
    result = summarise(measured, probe, markers, args)
    result = {
        "benchmark": "station_ingest",
        "backend": backend,
        "active_sessions": 40,
        **result,
        "load_average_before": [float(x) for x in load_before],
        "load_average_after": [float(x) for x in load_after],
    }
    if args.profile:
        print_profile(args.profile)
    return result, table(result, backend)


def summarise(windows: list[dict], probe: dict, markers: Markers, args: argparse.Namespace) -> dict:
    moments, delays = probe["moments"], probe["delays"]
    figures: dict = {"window_s": args.window + TAIL, "rounds": args.rounds, "rate": args.rate}
    for condition in CONDITIONS:
        mine = [w for w in windows if w["condition"] == condition]
        worst, p99, paints_per_s = [], [], []
        paint: list[float] = []
        load: list[float] = []
        read: list[float] = []
        collected: list[float] = []
        for w in mine:
            inside = sorted(
                d for t, d in zip(moments, delays, strict=True) if w["start"] <= t <= w["end"]
            )
            worst.append(inside[-1] * 1000)
            p99.append(_percentile(inside, 0.99) * 1000)
            painted = _spans(probe["spans"]["paint"], w)
            paint += painted
            load += _spans(probe["spans"]["load"], w)
            read += _spans(probe["spans"]["read"], w)
            collected += _spans(probe["spans"]["gc"], w)
            paints_per_s.append(len(painted) / (w["end"] - w["start"]))
        acks = sorted(a for w in mine for a in w["acks"])
        figure = {
            "worst_ms": spread(worst, digits=1),
            "p99_ms": spread(p99, digits=1),
            "station_cpu_percent": spread([w["station_cpu_percent"] for w in mine], digits=1),
            "bench_cpu_percent": spread([w["bench_cpu_percent"] for w in mine], digits=1),
            "messages_per_s": spread([w["messages_per_s"] for w in mine], digits=1),
            "ack_p50_ms": round(_percentile(acks, 0.5) * 1000, 1) if acks else None,
            "ack_p99_ms": round(_percentile(acks, 0.99) * 1000, 1) if acks else None,
            # The loop's own work, timed inside the station: repaints (Textual's compositor)
            # and the floor's loads taken in (FloorTable.draw and the rest of _loaded).
            "paints_per_s": spread(paints_per_s, digits=1),
            "paint_ms": _pooled(paint),
            "load_ms": _pooled(load),
            "read_ms": _pooled(read),
            "gc_ms": _pooled(collected),
            "reads_per_s": round(len(read) / sum(w["end"] - w["start"] for w in mine), 1),
        }
        seen = markers.latencies[condition]
        if condition != "quiet":
            figure["to_screen_ms"] = (
                {
                    "p50": round(statistics.median(seen) * 1000, 1),
                    "max": round(max(seen) * 1000, 1),
                    "n": len(seen),
                }
                if seen
                else None
            )
            figure["markers_not_seen"] = markers.unseen[condition]
        figures[condition] = figure
    return figures


def _spans(flat: list[float], w: dict) -> list[float]:
    """The durations of the (start, duration) pairs that started within the window."""
    return [flat[i + 1] for i in range(0, len(flat), 2) if w["start"] <= flat[i] <= w["end"]]


def _pooled(durations: list[float]) -> dict | None:
    if not durations:
        return None
    ordered = sorted(durations)
    return {
        "p50": round(_percentile(ordered, 0.5) * 1000, 1),
        "max": round(ordered[-1] * 1000, 1),
        "n": len(ordered),
    }


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def table(result: dict, backend: str) -> list[tuple[str, str, str]]:
    # At a clinic's pace as a save at another station; under a stream, the issue's "within a
    # second" (the station then reads at most four times a second: docs/station.md).
    clinic_target = "<= 1000 (max)" if backend == "postgresql" else "<= 250 (max)"
    rows = [("figure, per window: median (min-max)", " / ".join(CONDITIONS), "target")]

    def each(key: str) -> str:
        return " / ".join(_text(result[c][key]) for c in CONDITIONS)

    def pooled(key: str) -> str:
        return " / ".join(
            f"{p['p50']:g}, {p['max']:g}" if (p := result[c][key]) else "-" for c in CONDITIONS
        )

    rows += [
        ("messages saved per second", each("messages_per_s"), ""),
        ("worst event-loop delay, ms", each("worst_ms"), "< 50"),
        ("p99 of the probe's delays, ms", each("p99_ms"), ""),
        ("station CPU, % of a core", each("station_cpu_percent"), ""),
        ("this script's CPU (sender, screen), %", each("bench_cpu_percent"), ""),
        ("repaints per second", each("paints_per_s"), ""),
        ("one repaint, ms: p50, max (pooled)", pooled("paint_ms"), ""),
        ("one load taken in, ms: p50, max (pooled)", pooled("load_ms"), ""),
        (
            "floor reads per second (refresh worker)",
            " / ".join(f"{result[c]['reads_per_s']:g}" for c in CONDITIONS),
            "",
        ),
        ("one read in the worker, ms: p50, max (pooled)", pooled("read_ms"), ""),
        ("one full garbage collection, ms: p50, max (pooled)", pooled("gc_ms"), ""),
        (
            "ACK latency p50 / p99, ms (clinic; paced; flood)",
            "; ".join(
                f"{result[c]['ack_p50_ms']} / {result[c]['ack_p99_ms']}" for c in CONDITIONS[1:]
            ),
            "",
        ),
    ]
    for c in CONDITIONS[1:]:
        s = result[c]["to_screen_ms"]
        rows.append(
            (
                f"{c}: ACK to screen, p50 / max, ms (n)",
                f"{s['p50']} / {s['max']} ({s['n']}, {result[c]['markers_not_seen']} unseen)"
                if s
                else "never",
                clinic_target if c == "clinic" else "<= 1000 (max)",
            )
        )
    return rows


def _text(figure: dict) -> str:
    return f"{figure['median']:g} ({figure['min']:g}-{figure['max']:g})"


def print_profile(path: str) -> None:
    import pstats

    for name in (path, path + ".worker"):
        if not Path(name).exists():
            continue
        print(f"== {name}", file=sys.stderr)
        stats = pstats.Stats(name, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an empty database's URL (default: a temporary SQLite file)")
    parser.add_argument("--rounds", type=int, default=5, help="measured, after the warm-up")
    parser.add_argument("--warmup", type=int, default=1, help="rounds not measured")
    parser.add_argument("--window", type=float, default=10.0, help="seconds of each window")
    parser.add_argument("--rate", type=float, default=20.0, help="paced messages per second")
    parser.add_argument("--settle", type=float, default=6.0, help="after sign-in, before all")
    parser.add_argument("--profile", help="cProfile the station's event loop into this file")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="monitor-bench-station-ingest-"))
    os.chmod(folder, 0o700)
    db = args.db or str(folder / "station.db")
    try:
        result, rows = measure(args, db, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    emit(result, rows)


if __name__ == "__main__":
    main()
