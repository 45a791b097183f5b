"""``monitor demo``: a realistic demo clinic, so a newcomer sees a live floor at once.

Six sessions at different stages, some flagged, one ready to discharge, written through the
services like any other record (back-dated measurement times, never future ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from monitor.services import Service

#: (name, role, PIN) of the demo users.
DEMO_USERS = (("ana", "nurse", "1111"), ("ben", "nurse", "2222"), ("sam", "supervisor", "9999"))


@dataclass(frozen=True)
class DemoResult:
    """What the demo made, for the message that tells how to open it."""

    sessions: list[int]
    users: tuple[tuple[str, str, str], ...]


def default_demo_path() -> Path:
    """The demo database: beside the default one, never the same file."""
    from monitor.store.engine import default_db_path

    return default_db_path().with_name("monitor-demo.db")


def build_demo(service: Service) -> DemoResult:
    """Fill ``service``'s database with the demo clinic (users are added once)."""
    existing = {u.name for u in service.users()}
    for name, role, pin in DEMO_USERS:
        if name not in existing:
            service.add_user(name, role, pin)
    now = service.now()

    def ago(minutes: float) -> datetime:
        return now - timedelta(minutes=minutes)

    sessions: list[int] = []

    def session(patient: str, protocol: str, bay: str, age: int, dosed: float | None) -> int:
        sid = service.start_session(
            patient=patient,
            protocol=protocol,
            by="ana",
            bay=bay,
            age=age,
            lot="LOT-2611" if protocol.startswith("esketamine") else None,
        )
        sessions.append(sid)
        return sid

    def record(sid: int, minutes_ago: float, entry: str, by: str = "ana"):
        return service.record_reading(sid, entry, by=by, measured_at=ago(minutes_ago))

    def dose(sid: int, minutes_ago: float) -> None:
        service.record_dose(sid, by="ana", at=ago(minutes_ago))

    def ack_all(reading, action: str, by: str = "ana") -> None:
        ids = [f.id for f in reading.flags if f.severity.needs_action]
        if ids:
            service.acknowledge_many(ids, by=by, action=action)

    # Bay 1: esketamine 84 mg, 2 h 5 min in, every check done: ready to discharge.
    sid = session("MRN-10231", "esketamine-84", "Bay 1", 46, dosed=125)
    record(sid, 131, "128/82 hr 74 spo2 98 rr 14 moaas 5 cadss 0")
    dose(sid, 125)
    record(sid, 110, "moaas 4 spo2 97")
    record(sid, 95, "moaas 5 spo2 97")
    ack_all(record(sid, 85, "158/92 hr 82 spo2 97 rr 15 moaas 5 cadss 9"), "observed, reassured")
    record(sid, 65, "moaas 5 spo2 98")
    record(sid, 35, "136/84 hr 76 spo2 98 rr 14 moaas 5 cadss 2")
    record(sid, 6, "130/80 hr 72 spo2 98 rr 14 moaas 5 cadss 0")

    # Bay 2: esketamine 56 mg at the +40 peak: a severe BP rise, not yet acknowledged.
    sid = session("MRN-10407", "esketamine-56", "Bay 2", 67, dosed=42)
    record(sid, 50, "138/86 hr 70 spo2 97 rr 14 moaas 5 cadss 0")
    dose(sid, 42)
    record(sid, 27, "moaas 4 spo2 96")
    record(sid, 12, "moaas 4 spo2 96")
    record(sid, 1, "184/102 hr 92 spo2 96 rr 16 moaas 4 cadss 7")

    # Bay 3: IV ketamine, end of infusion passed; a fast heart rate acknowledged.
    sid = session("MRN-09918", "ketamine-iv", "Bay 3", 38, dosed=56)
    record(sid, 60, "124/78 hr 68 spo2 99 rr 14 moaas 5 cadss 0")
    dose(sid, 56)
    record(sid, 46, "132/84 hr 80 spo2 98 moaas 5")
    record(sid, 36, "140/88 hr 96 spo2 98 moaas 4")
    ack_all(record(sid, 26, "146/90 hr 114 spo2 97 moaas 4"), "slowed infusion, prescriber aware")
    record(sid, 16, "142/88 hr 98 spo2 97 moaas 4 cadss 5")

    # Bay 4: IM ketamine; the +15 check was not done: overdue.
    sid = session("MRN-10502", "ketamine-im", "Bay 4", 29, dosed=36)
    record(sid, 40, "118/76 hr 64 spo2 99 rr 12 moaas 5 cadss 0")
    dose(sid, 36)

    # Bay 5: esketamine 84 mg before dosing: baseline BP above the limit, review first.
    sid = session("MRN-10611", "esketamine-84", "Bay 5", 58, dosed=None)
    record(sid, 4, "146/88 hr 78 spo2 98 rr 14 moaas 5 cadss 0")

    # Bay 6: esketamine 84 mg at 1 h 35 min; still a little sedated.
    sid = session("MRN-10044", "esketamine-84", "Bay 6", 71, dosed=95)
    record(sid, 101, "142/84 hr 66 spo2 97 rr 13 moaas 5 cadss 0")
    dose(sid, 95)
    record(sid, 80, "moaas 4 spo2 96")
    record(sid, 64, "moaas 4 spo2 95")
    record(sid, 55, "162/90 hr 72 spo2 96 rr 12 moaas 4 cadss 6")
    record(sid, 35, "moaas 4 spo2 96")
    record(sid, 5, "148/86 hr 70 spo2 97 rr 12 moaas 4 cadss 3", by="ben")

    return DemoResult(sessions, DEMO_USERS)
