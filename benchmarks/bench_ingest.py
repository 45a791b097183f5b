"""Ingest benchmark (issue #24, item 6 and 7): `monitor ingest` saving bedside monitors' HL7
messages, against `record --stdin` on the same machine; prints one JSON line and a table.

- **Sustained ingest**: a real `monitor ingest` process on an SQLite file (or ``--db``), one
  MLLP connection sending ``--messages`` ORU^R01 messages (built as a Philips gateway would,
  each for one of ``--bays`` patients), each sent once the previous one was acknowledged, as
  monitors do: messages per second, and each ACK's latency from the message's last byte sent
  to the ACK's last byte read (p50, p99, max). Interleaved with `monitor record ID --stdin`
  saving as many readings (readings per second, the whole process), ``--runs`` of each, A B
  B A.
- **Memory** (``--memory N``): N messages to one listener, its resident memory (VmRSS) read
  every tenth of them: the first and last tenth, the largest.

Run: ``.venv/bin/python benchmarks/bench_ingest.py`` (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from pairs import child_env, emit, spread  # noqa: E402

PYTHON = sys.executable
MONITOR = str(Path(PYTHON).with_name("monitor"))
PIN = "1234"
USER = "bench"
START, END = b"\x0b", b"\x1c\r"


def build(db: str, bays: int) -> None:
    """A supervisor, a patient dosed in each of ``bays`` bays with a monitor each."""
    from monitor.services import Service

    service = Service.open(db)
    try:
        service.add_user(USER, "supervisor", PIN)
        begun = datetime.now(UTC) - timedelta(minutes=30)
        for bay in range(1, bays + 1):
            sid = service.start_session(
                patient=f"MRN-ING-{bay}",
                protocol="ketamine-iv",
                by=USER,
                bay=f"Bay {bay}",
                started_at=begun,
            )
            # Dosed before any message is measured: each reading is judged after dosing.
            service.record_dose(
                sid, by=USER, at=begun + timedelta(minutes=1), override_reason="benchmark"
            )
            service.add_device(f"MON-{bay}", bay=f"Bay {bay}", by=USER)
    finally:
        service.close()


def messages(count: int, bays: int, run: int) -> list[bytes]:
    from monitor.hl7 import build_oru

    now = datetime.now(UTC)
    return [
        START
        + build_oru(
            {
                "systolic": 110 + n % 50,
                "diastolic": 70 + n % 20,
                "heart_rate": 60 + n % 40,
                "spo2": 95 + n % 5,
                "resp_rate": 12 + n % 6,
            },
            device=f"MON-{1 + n % bays}",
            bay=f"Bay {1 + n % bays}",
            control_id=f"R{run}-{n}",
            at=now - timedelta(milliseconds=count - n),
        ).encode()
        + END
        for n in range(count)
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_ingest(db: str, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [MONITOR, "--db", db, "ingest", "--by", USER, "--port", str(port)],
        env={**env, "MONITOR_PIN": PIN},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith(b"listening"):
        raise SystemExit(f"monitor ingest did not start: {process.stderr.read().decode()[-800:]}")
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    if process.wait(60) != 0:
        raise SystemExit(f"monitor ingest ended {process.returncode}")


async def _send(
    port: int, framed: list[bytes], sample: int, pid: int
) -> tuple[list[float], list[int]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    latencies: list[float] = []
    rss: list[int] = []
    try:
        for n, message in enumerate(framed):
            writer.write(message)
            await writer.drain()
            sent = time.perf_counter()
            ack = await asyncio.wait_for(reader.readuntil(END), 60)
            latencies.append(time.perf_counter() - sent)
            if b"|AA|" not in ack:
                raise SystemExit(f"not accepted: {ack[:300]!r}")
            if sample and n % sample == 0:
                rss.append(vm_rss(pid))
    finally:
        writer.close()
    return latencies, rss


def vm_rss(pid: int) -> int:
    """The process's resident memory, kB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def ingest_run(db: str, env: dict[str, str], count: int, bays: int, run: int) -> dict:
    framed = messages(count, bays, run)
    port = free_port()
    process = start_ingest(db, env, port)
    try:
        start = time.perf_counter()
        latencies, _ = asyncio.run(_send(port, framed, 0, process.pid))
        elapsed = time.perf_counter() - start
    finally:
        stop(process)
    latencies.sort()
    return {
        "per_s": count / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "max_ms": latencies[-1] * 1000,
    }


def batch_run(db: str, env: dict[str, str], count: int) -> float:
    from monitor.services import Service

    service = Service.open(db)
    try:
        sid = service.start_session(
            patient=f"MRN-BATCH-{time.monotonic_ns()}", protocol="ketamine-iv", by=USER
        )
        service.record_dose(sid, by=USER, override_reason="benchmark: no baseline")
    finally:
        service.close()
    text = "".join(
        f"{110 + n % 50}/{70 + n % 20} hr {60 + n % 40} spo2 {95 + n % 5}\n" for n in range(count)
    ).encode()
    start = time.perf_counter()
    done = subprocess.run(
        [MONITOR, "--db", db, "record", str(sid), "--stdin", "--by", USER],
        input=text,
        env={**env, "MONITOR_PIN": PIN},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if done.returncode != 0:
        raise SystemExit(f"record --stdin failed: {done.stderr.decode()[-500:]}")
    return count / (time.perf_counter() - start)


def memory_run(db: str, env: dict[str, str], count: int, bays: int) -> dict:
    port = free_port()
    process = start_ingest(db, env, port)
    sample = max(1, count // 10)
    try:
        rss: list[int] = []
        done = 0
        chunk = 10_000  # messages built a chunk at a time: the sender's memory stays small
        start = time.perf_counter()
        while done < count:
            n = min(chunk, count - done)
            framed = messages(n, bays, 1000 + done)
            _, seen = asyncio.run(_send(port, framed, sample if n >= sample else n, process.pid))
            rss += seen
            done += n
        elapsed = time.perf_counter() - start
    finally:
        stop(process)
    return {
        "messages": count,
        "per_s": round(count / elapsed, 1),
        "rss_kb_first": rss[0] if rss else None,
        "rss_kb_last": rss[-1] if rss else None,
        "rss_kb_max": max(rss) if rss else None,
        "samples": len(rss),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an empty database's URL (default: a new SQLite file)")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--bays", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5, help="of each side, interleaved")
    parser.add_argument("--memory", type=int, default=0, help="messages for the memory run")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="monitor-bench-ingest-"))
    os.chmod(folder, 0o700)
    db = args.db or str(folder / "ingest.db")
    env = child_env()
    build(db, args.bays)
    load = list(os.getloadavg())
    ingest_run(db, env, 200, args.bays, 0)  # warm-up
    batch_run(db, env, 200)
    ingests: list[dict] = []
    batches: list[float] = []
    for run in range(1, args.runs + 1):
        if run % 2:
            ingests.append(ingest_run(db, env, args.messages, args.bays, run))
            batches.append(batch_run(db, env, args.messages))
        else:
            batches.append(batch_run(db, env, args.messages))
            ingests.append(ingest_run(db, env, args.messages, args.bays, run))
    result: dict = {
        "benchmark": "ingest",
        "backend": "postgresql" if db.startswith("postgresql") else "sqlite",
        "messages": args.messages,
        "ingest_per_s": spread([r["per_s"] for r in ingests], digits=1),
        "ack_p50_ms": spread([r["p50_ms"] for r in ingests], digits=1),
        "ack_p99_ms": spread([r["p99_ms"] for r in ingests], digits=1),
        "ack_max_ms": spread([r["max_ms"] for r in ingests], digits=1),
        "record_stdin_per_s": spread(batches, digits=1),
        "load_average": load,
    }
    rows = [
        ("figure", "median (min-max)", "target"),
        ("ingest, messages/s (ACK awaited each)", _text(result["ingest_per_s"]), ">= 200"),
        ("ACK latency p50, ms", _text(result["ack_p50_ms"]), ""),
        ("ACK latency p99, ms", _text(result["ack_p99_ms"]), "< 100"),
        ("ACK latency max, ms", _text(result["ack_max_ms"]), ""),
        ("record --stdin, readings/s (whole process)", _text(result["record_stdin_per_s"]), ""),
    ]
    if args.memory:
        memory = memory_run(db, env, args.memory, args.bays)
        result["memory"] = memory
        rows.append(
            (
                f"ingest RSS over {args.memory:,} messages, MB: first / last / max",
                f"{memory['rss_kb_first'] / 1024:.1f} / {memory['rss_kb_last'] / 1024:.1f} / "
                f"{memory['rss_kb_max'] / 1024:.1f}",
                "bounded",
            )
        )
    emit(result, rows)


def _text(figure: dict) -> str:
    return f"{figure['median']} ({figure['min']}-{figure['max']})"


if __name__ == "__main__":
    main()
