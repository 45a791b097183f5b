"""Station benchmark (issue #10): the real station in a real pseudo-terminal; one JSON line.

Every station here is the installed console script (``.venv/bin/monitor --db FILE``) running
in a pty of 80x24 whose output is fed to a ``pyte`` terminal screen, on a database with 40
active sessions (SQLite in a temporary folder, or ``--db URL``, an empty database it fills).

- startup: wall time from process start until the station's first screen, the sign-in, is
  drawn (the floor is read only once someone has signed in: issue #20), over a bare Textual
  app showing one DataTable of 40 rows (until 5 of its rows are on the screen); interleaved pairs;
  target ratio <= 2 (moonshot 1.3). For reading it: whole processes that only import what
  each imports before its first frame (the bare app: Textual's App and DataTable; the
  station: ``tui.app``, and ``monitor.services`` alone), round-robin, medians;
- signin: the time from the Enter after the PIN until the floor's rows are on the screen (a
  nurse, who lands on the floor), the keys typed as soon as the sign-in is drawn (the services
  are still being imported: issue #23) and 2 s after it (a nurse's usual pace), ``--signin-runs``
  stations each; and for scale the first load alone, in-process (``active_sessions``);
- idle: signed in (through the keys, as a nurse does), no input, CPU time of the station
  process (utime + stime of /proc/PID/stat, all its threads) over ``--idle-seconds``, as % of
  one core (target <= 0.5 %), the bytes it wrote to the terminal meanwhile, and its peak RSS
  (VmHWM; the earlier target < 250 MB), and the clock ticks of the event loop (the main
  thread) and of each other thread; then the bare DataTable app the same way, for scale;
- delay: the worst event-loop delay seen by a 5 ms timer inside the station (a subclass, in
  the same pty, signed in through the keys) over 12 s from mount, first load included: what a
  key press would wait (target < 50 ms); ``--delay-runs`` runs;
- visible: two stations on one database, signed in; a reading is saved through the service
  layer (a third party, as a third station would) with a unique BP on the session pinned at the
  top of the floor, and the time from its commit until the second station's screen shows
  it is measured, ``--events`` times at random moments; target: every one within 250 ms on
  SQLite (issue #23), 1 s on PostgreSQL.

    .venv/bin/python benchmarks/bench_station.py [--db URL] [--pairs 15] [--only startup,idle]

The startup ratio is the median of per-pair ratios (benchmarks/pairs.py).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import random
import re
import select
import shutil
import signal
import struct
import sys
import tempfile
import termios
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import pyte  # noqa: E402  (the bench extra: pip install -e ".[bench]")
from pairs import child_env, emit, import_times, interleave, ratio_text, spread  # noqa: E402

PYTHON = sys.executable
MONITOR = str(Path(PYTHON).with_name("monitor"))
COLUMNS, LINES = 80, 24
PIN = "1234"
USER = "bench"
#: A nurse: she lands on the floor after signing in (a supervisor lands in review mode).
NURSE = "nurse"
#: The session created first, never dosed, with an unacknowledged high flag: it sorts first on
#: the floor (high alarm, no due time), so a new reading of it is always on screen.
PINNED = "MRN-TOP1"
#: Lines with a patient id that prove the floor's rows are drawn (the sign-in dialog covers
#: the middle of the floor; 10 rows stay visible around it at 80x24).
ROWS_SHOWN = 5
TIMEOUT = 60.0

BARE = """
from textual.app import App
from textual.widgets import DataTable

class Bare(App):
    def compose(self):
        yield DataTable(cursor_type="row")

    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("", "Bay", "Patient", "Proto", "Dose+", "Next check", "BP", "HR",
                          "SpO2", "RR", "M", "C", "")
        for n in range(40):
            table.add_row("!!!", f"Bay {n}", f"ROW-{n:04d}", "esk84", "1:23", "+15 missed",
                          "151/84", "79", "97", "-", "5", "2", "")

Bare().run()
"""

#: The station with a 5 ms probe timer; writes the worst delay to argv[2] and exits after 12 s.
PROBE = """
import json, sys, time
from monitor.services import Service
from tui.app import StationApp

class Probe(StationApp):
    def on_mount(self):  # Textual also runs StationApp.on_mount (handlers follow the MRO)
        self.started = self.last = time.perf_counter()
        self.delays = []
        self.set_interval(0.005, self.probe)
        self.set_timer(12.0, self.done)

    def probe(self):
        now = time.perf_counter()
        self.delays.append((now - self.started, now - self.last - 0.005))
        self.last = now

    def done(self):
        worst = max(d for _, d in self.delays)
        steady = max((d for t, d in self.delays if t >= 6.0), default=0.0)
        with open(sys.argv[2], "w") as out:
            json.dump({"worst_ms": worst * 1000, "worst_after_6s_ms": steady * 1000,
                       "signed_in": self.user is not None, "rows": len(self.rows)}, out)
        self.exit()

Probe(Service.open(sys.argv[1]), bell=False).run()
"""


class Terminal:
    """A process in a pseudo-terminal of 80x24, its output drawn on a pyte screen."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child: size the terminal before anything can ask for it
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
            try:
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.screen = pyte.Screen(COLUMNS, LINES)
        self.stream = pyte.ByteStream(self.screen)
        self.written = 0
        self.closed = False

    def read(self) -> None:
        try:
            data = os.read(self.fd, 1 << 16)
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return
        self.written += len(data)
        self.stream.feed(data)

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def lines_with(self, pattern: str) -> int:
        return sum(1 for line in self.screen.display if pattern in line)

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def cpu_seconds(self) -> float:
        """utime + stime of the process, all threads, in seconds."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def thread_ticks(self) -> dict[int, int]:
        """utime + stime of each live thread, in clock ticks, by thread id."""
        ticks = {}
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                ticks[int(task.name)] = int(fields[11]) + int(fields[12])
        return ticks

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


def pump(terminals: list[Terminal], seconds: float) -> None:
    """Read every terminal's output for ``seconds`` (a terminal not read would block)."""
    end = time.perf_counter() + seconds
    while (left := end - time.perf_counter()) > 0:
        open_fds = {t.fd: t for t in terminals if not t.closed}
        if not open_fds:
            time.sleep(left)
            return
        ready, _, _ = select.select(list(open_fds), [], [], left)
        for fd in ready:
            open_fds[fd].read()


def wait_for(
    terminal: Terminal,
    seen: Callable[[Terminal], bool],
    what: str,
    others: tuple[Terminal, ...] = (),
    timeout: float = TIMEOUT,
) -> float:
    """Read until ``seen`` holds; the moment it first did, from ``time.perf_counter``."""
    end = time.perf_counter() + timeout
    everyone = [terminal, *others]
    while not seen(terminal):
        if terminal.closed:
            raise SystemExit(f"the process ended before {what}:\n{terminal.text()}")
        left = end - time.perf_counter()
        if left <= 0:
            raise SystemExit(f"no {what} within {timeout:.0f} s:\n{terminal.text()}")
        ready, _, _ = select.select([t.fd for t in everyone if not t.closed], [], [], left)
        for t in everyone:
            if t.fd in ready:
                t.read()
    return time.perf_counter()


def floor_shown(terminal: Terminal) -> bool:
    return terminal.lines_with("MRN-") >= ROWS_SHOWN


def sign_in_shown(terminal: Terminal) -> bool:
    return "Sign in:" in terminal.text() and "PIN" in terminal.text()


def signed_in(terminal: Terminal) -> bool:
    return f"recording as {USER}" in terminal.text()


def open_station(db: str, env: dict[str, str], argv: list[str] | None = None) -> Terminal:
    """A station (the console script, or ``argv``) signed in through its keys, floor shown."""
    terminal = Terminal(argv or [MONITOR, "--db", db], env)
    # The floor is read only once someone signs in (docs/station.md): the sign-in comes first.
    wait_for(terminal, sign_in_shown, "sign-in")
    pump([terminal], 0.3)
    terminal.send(USER + "\r")  # the name, typed, on to the PIN
    pump([terminal], 0.3)
    terminal.send(PIN + "\r")
    wait_for(terminal, signed_in, "signed-in header")
    # The user is a supervisor (the fixture's dosing overrides need one), who lands in review
    # mode: Esc goes back to the floor, which is what is measured.
    wait_for(terminal, lambda t: "monitor: review" in t.text(), "review mode")
    terminal.send("\x1b")
    wait_for(terminal, lambda t: floor_shown(t) and "monitor: review" not in t.text(), "floor")
    return terminal


# -- the database ----------------------------------------------------------------------


def build(db: str) -> None:
    """40 active sessions: the pinned one (not dosed, SBP 190 unacknowledged) and 39 dosed
    5-83 min ago with 10 readings each (some flagged), like a busy floor."""
    from monitor.services import Service, with_clock

    service = Service.open(db)
    service.add_user(USER, "supervisor", PIN)
    service.add_user(NURSE, "nurse", PIN, by=USER)
    now = service.now()
    pinned = with_clock(service, lambda: now - timedelta(minutes=20)).start_session(
        patient=PINNED, protocol="esketamine-84", by=USER, bay="Bay P", age=50, meds=()
    )
    with_clock(service, lambda: now - timedelta(minutes=19)).record_reading(
        pinned, "190/84 hr 80 spo2 97 moaas 5 cadss 0", by=USER
    )
    for n in range(39):
        dosed = now - timedelta(minutes=5 + 2 * n)
        at = with_clock(service, lambda t=dosed: t)
        sid = at.start_session(
            patient=f"MRN-{n:04d}",
            protocol="esketamine-84",
            by=USER,
            bay=f"Bay {n}",
            age=50,
            meds=(),
            dosed_at=dosed,
            dose_override_reason="benchmark: no baseline",
        )
        for k in range(10):
            moment = dosed + timedelta(minutes=k)
            with_clock(service, lambda t=moment: t).record_reading(
                sid, f"{130 + (k * 9) % 60}/84 hr {70 + k} spo2 97 moaas 5 cadss 2", by=USER
            )
    service.close()


# -- the measurements ------------------------------------------------------------------


def startup(db: str, env: dict[str, str], pairs: int, warmup: int, verbose: bool) -> dict:
    sign_in_after: list[float] = []

    def bare() -> float:
        terminal = Terminal([PYTHON, "-c", BARE], env)
        try:
            shown = wait_for(terminal, lambda t: t.lines_with("ROW-") >= ROWS_SHOWN, "rows")
        finally:
            terminal.kill()
        return shown - terminal.started

    def station() -> float:
        terminal = Terminal([MONITOR, "--db", db], env)
        try:
            # The station's first screen is the sign-in: no floor before a user signs in.
            shown = dialog = wait_for(terminal, sign_in_shown, "sign-in dialog")
        finally:
            terminal.kill()
        sign_in_after.append(dialog - terminal.started)
        return shown - terminal.started

    figure = interleave(
        bare, station, pairs=pairs, warmup=warmup, label="startup" if verbose else ""
    )
    figure["station_sign_in_ms"] = spread(sign_in_after[-pairs:], scale=1000, digits=1)
    figure["imports_ms"] = import_times(IMPORTS, env, pairs, warmup)
    return figure


def signin(db: str, env: dict[str, str], runs: int) -> dict:
    """From the PIN's Enter to the floor's rows, keys typed at once and after 2 s."""
    figures: dict = {}
    for name, wait in (("typed_at_once", 0.0), ("typed_after_2s", 2.0)):
        took = []
        for _ in range(runs):
            terminal = Terminal([MONITOR, "--db", db], env)
            try:
                wait_for(terminal, sign_in_shown, "sign-in dialog")
                pump([terminal], wait)
                terminal.send(NURSE + "\r" + PIN + "\r")  # in one burst, as a fast typist
                entered = time.perf_counter()
                shown = wait_for(terminal, floor_shown, "the floor's rows")
            finally:
                terminal.kill()
            took.append(shown - entered)
        figures[name] = spread(took, scale=1000, digits=0)
    from monitor.services import Service

    service = Service.open(db)
    try:
        loads = []
        for _ in range(runs):
            start = time.perf_counter()
            service.active_sessions()
            loads.append(time.perf_counter() - start)
    finally:
        service.close()
    figures["first_load_in_process"] = spread(loads, scale=1000, digits=1)
    return figures


#: What each side imports before its first frame, alone in a process.
IMPORTS = {
    "bare_app": "from textual.app import App; from textual.widgets import DataTable",
    "station": "import tui.app",
    "services": "import monitor.services",
}


def idle(db: str, env: dict[str, str], seconds: float, settle: float) -> dict:
    """The station signed in and left alone, then the bare DataTable app the same way."""
    station = _idle(open_station(db, env), "MRN-", seconds, settle)
    bare = Terminal([PYTHON, "-c", BARE], env)
    wait_for(bare, lambda t: t.lines_with("ROW-") >= ROWS_SHOWN, "rows")
    station["bare_datatable"] = _idle(bare, "ROW-", seconds, settle)
    return station


def _idle(terminal: Terminal, marker: str, seconds: float, settle: float) -> dict:
    try:
        pump([terminal], settle)  # the sign-in toast goes, the first refreshes pass
        cpu, written, start = terminal.cpu_seconds(), terminal.written, time.perf_counter()
        threads = terminal.thread_ticks()
        pump([terminal], seconds)
        cpu = terminal.cpu_seconds() - cpu
        after = terminal.thread_ticks()
        elapsed = time.perf_counter() - start
        written = terminal.written - written
        shown = terminal.lines_with(marker)
        rss = terminal.peak_rss_mb()
    finally:
        terminal.kill()
    return {
        "seconds": round(elapsed, 1),
        "cpu_seconds": round(cpu, 3),
        "cpu_percent": round(100 * cpu / elapsed, 2),
        "terminal_bytes_per_s": round(written / elapsed),
        "rows_on_screen": shown,
        "peak_rss_mb": round(rss, 1),
        # Where the idle time went: the event loop (the main thread) and each other thread,
        # largest first, in clock ticks over the same seconds.
        "ticks_event_loop": after.get(terminal.pid, 0) - threads.get(terminal.pid, 0),
        "ticks_other_threads": sorted(
            (t - threads.get(tid, 0) for tid, t in after.items() if tid != terminal.pid),
            reverse=True,
        ),
        "clock_ticks_per_s": os.sysconf("SC_CLK_TCK"),
    }


def delay(db: str, env: dict[str, str], runs: int, folder: Path) -> dict:
    worst, steady = [], []
    for run in range(runs):
        out = folder / f"probe-{run}.json"
        terminal = open_station(db, env, [PYTHON, "-c", PROBE, db, str(out)])
        try:
            wait_for(terminal, lambda t: t.closed, "probe end", timeout=40)
        finally:
            terminal.kill()
        probe = json.loads(out.read_text())
        if not probe["signed_in"]:
            raise SystemExit("the probe station was not signed in")
        worst.append(probe["worst_ms"])
        steady.append(probe["worst_after_6s_ms"])
    return {
        "worst_ms": spread(worst, digits=1),
        "worst_after_6s_ms": spread(steady, digits=1),
    }


def visible(db: str, env: dict[str, str], events: int) -> dict:
    from monitor.services import Service

    first = open_station(db, env)
    second = open_station(db, env, [MONITOR, "--db", db])
    both = [first, second]
    writer = Service.open(db)
    try:
        pinned = next(s.id for s in writer.active_sessions() if s.patient == PINNED)
        pump(both, 3.0)
        rng = random.Random(10)
        latencies: list[float] = []
        missed = 0
        for i in range(events):
            pump(both, rng.uniform(0.3, 2.3))  # a random moment against the 2 s refresh
            bp = f"{101 + i}/61"
            writer.record_reading(pinned, f"{bp} hr 80 spo2 97", by=USER)
            committed = time.perf_counter()
            pattern = re.compile(rf"{PINNED}.*{bp}")
            try:
                seen = wait_for(
                    second,
                    lambda t, p=pattern: bool(p.search(t.text())),
                    f"BP {bp} on the second station",
                    others=(first,),
                    timeout=10,
                )
            except SystemExit:
                missed += 1
                continue
            latencies.append(seen - committed)
    finally:
        writer.close()
        for terminal in both:
            terminal.kill()
    return {
        "latency_ms": spread(latencies, scale=1000, digits=0) if latencies else None,
        "worst_ms": round(max(latencies) * 1000) if latencies else None,
        "events": events,
        "not_seen_in_10s": missed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an empty database's URL (default: a temporary SQLite file)")
    parser.add_argument("--pairs", type=int, default=21)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=6.0, help="after sign-in, before idle")
    parser.add_argument("--delay-runs", type=int, default=3)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--signin-runs", type=int, default=9)
    parser.add_argument(
        "--only",
        default="startup,signin,idle,delay,visible",
        help="comma list of: startup, signin, idle, delay, visible",
    )
    parser.add_argument("--verbose", action="store_true", help="each pair on stderr")
    args = parser.parse_args()
    modes = set(args.only.split(","))
    folder = Path(tempfile.mkdtemp(prefix="monitor-bench-station-"))
    db = args.db or str(folder / "station.db")
    try:
        result, rows = measure(args, modes, db, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    emit(result, rows)


def measure(
    args: argparse.Namespace, modes: set[str], db: str, folder: Path
) -> tuple[dict, list[tuple[str, str, str]]]:
    build(db)
    env = child_env(TERM="xterm-256color")
    backend = "postgresql" if db.startswith("postgres") else "sqlite"
    result: dict = {"benchmark": "station", "backend": backend, "active_sessions": 40}
    rows: list[tuple[str, str, str]] = [("figure", "median (min-max)", "target")]
    if "startup" in modes:
        s = startup(db, env, args.pairs, args.warmup, args.verbose)
        result["startup"] = s
        result["startup_ratio"] = s["ratio"]
        rows += [
            ("bare DataTable app, rows on screen, ms", f"{s['a_ms']}", ""),
            ("station, floor rows on screen, ms", f"{s['b_ms']}", ""),
            ("startup ratio", ratio_text(s), "<= 2 (moonshot 1.3)"),
            ("station, sign-in dialog drawn, ms", f"{s['station_sign_in_ms']['median']}", ""),
            *(
                (f"a process that imports {name}'s modules, ms", _spread_text(figure), "")
                for name, figure in s["imports_ms"].items()
            ),
        ]
    if "signin" in modes:
        g = signin(db, env, args.signin_runs)
        result["signin"] = g
        rows += [
            ("sign-in to floor rows, keys at once, ms", _spread_text(g["typed_at_once"]), ""),
            ("sign-in to floor rows, keys after 2 s, ms", _spread_text(g["typed_after_2s"]), ""),
            (
                "the floor's load alone (40 sessions), ms",
                _spread_text(g["first_load_in_process"]),
                "",
            ),
        ]
    if "idle" in modes:
        i = idle(db, env, args.idle_seconds, args.settle)
        result["idle"] = i
        result["idle_cpu_percent"] = i["cpu_percent"]
        result["peak_rss_mb"] = i["peak_rss_mb"]
        rows += [
            (f"idle CPU over {i['seconds']} s, % of a core", f"{i['cpu_percent']}", "<= 0.5"),
            ("idle output to the terminal, bytes/s", f"{i['terminal_bytes_per_s']}", ""),
            ("peak RSS, MB", f"{i['peak_rss_mb']}", "< 250"),
            (
                "idle ticks: event loop / other threads",
                f"{i['ticks_event_loop']} / {i['ticks_other_threads']}",
                "",
            ),
            ("bare DataTable app idle CPU, %", f"{i['bare_datatable']['cpu_percent']}", ""),
            (
                "bare app idle ticks: event loop / other threads",
                f"{i['bare_datatable']['ticks_event_loop']} / "
                f"{i['bare_datatable']['ticks_other_threads']}",
                "",
            ),
            ("bare DataTable app peak RSS, MB", f"{i['bare_datatable']['peak_rss_mb']}", ""),
        ]
    if "delay" in modes:
        d = delay(db, env, args.delay_runs, folder)
        result["delay"] = d
        result["worst_input_delay_ms"] = d["worst_ms"]["median"]
        w, s6 = d["worst_ms"], d["worst_after_6s_ms"]
        rows += [
            (f"worst event-loop delay, {w['n']} runs, ms", _spread_text(w), "< 50"),
            ("... after the first 6 s, ms", _spread_text(s6), ""),
        ]
    if "visible" in modes:
        v = visible(db, env, args.events)
        result["visible"] = v
        result["visible_worst_ms"] = v["worst_ms"]
        target = "<= 1000" if backend == "postgresql" else "<= 250"
        lat = v["latency_ms"]
        rows += [
            (
                f"second station shows a reading, {v['events']} saves, ms",
                _spread_text(lat) if lat else "never",
                f"{target} (worst)",
            ),
        ]
    return result, rows


def _spread_text(figure: dict) -> str:
    return f"{figure['median']:g} ({figure['min']:g}-{figure['max']:g})"


if __name__ == "__main__":
    main()
