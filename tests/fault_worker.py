"""A recording process for the fault tests: records readings through the service layer and
reports each one only after its transaction committed.

    python -m tests.fault_worker DB_URL SESSION_ID WORKER COUNT [--ready]
    python -m tests.fault_worker --fork DB_URL SESSION_ID

With ``--ready`` the worker opens the database, says ``ready`` and waits for a line on its
standard input before its first reading, so that workers started one after another all write
at once (a start costs more than their readings: without the wait they would hardly overlap).

With ``--fork`` it is a parent that has imported the services once: for each line ``go COUNT``
on its standard input it forks a child, which says ``child PID`` and records like a worker 0;
once the child has ended (or been killed) the parent says ``end PID SIGNAL`` (0 when it was not
killed). A killed child is a writer killed mid-flight, like a killed worker process, without
the start of a new interpreter for every kill (docs/architecture.md, "Cheap set-ups").
"""

from __future__ import annotations

import os
import sys

from monitor.core.vitals import Vitals
from monitor.services import Service


def record(url: str, session_id: int, worker: int, count: int, *, ready: bool = False) -> None:
    """Record ``count`` readings, printing ``ok ID WORKER SEQ`` after each commit."""
    service = Service.open(url)
    if ready:
        print("ready", flush=True)
        sys.stdin.readline()
    for seq in range(count):
        # (spo2, heart rate) tells which worker and which step wrote the reading.
        vitals = Vitals(spo2=50 + worker, heart_rate=20 + seq)
        reading = service.record_reading(session_id, vitals, by="ana")
        # One write of the whole line: print() writes the text and its newline apart, and a
        # writer killed between the two left "ok ..." without its end, joined to the next line.
        sys.stdout.write(f"ok {reading.id} {worker} {seq}\n")
        sys.stdout.flush()
    service.close()


def forking(url: str, session_id: int) -> None:
    """A child per ``go COUNT`` line, each waited for and its end said."""
    for line in sys.stdin:
        count = int(line.split()[1])
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                print(f"child {os.getpid()}", flush=True)
                record(url, session_id, 0, count)
            except BaseException as error:  # told on stderr, the exit status says it failed
                print(f"error: {error!r}", file=sys.stderr, flush=True)
                status = 1
            os._exit(status)
        _, status = os.waitpid(pid, 0)
        signal = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
        print(f"end {pid} {signal} {os.waitstatus_to_exitcode(status)}", flush=True)


def main() -> None:
    args = sys.argv[1:]
    if args[0] == "--fork":
        forking(args[1], int(args[2]))
        return
    ready = "--ready" in args
    url, session_id, worker, count = [a for a in args if a != "--ready"]
    record(url, int(session_id), int(worker), int(count), ready=ready)


if __name__ == "__main__":
    main()
