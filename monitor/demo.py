"""``monitor demo``: a realistic demo clinic, so a newcomer sees a live floor at once.

Six sessions at different stages, written through the services like any other record: each
action is taken at its own moment in the past (a clock set back), so the record reads as if a
nurse had entered it then; one baseline is entered later from paper and is marked as a late
entry. Esketamine sessions carry the REMS answers (age, medication, first treatment); every
dose follows a complete baseline, as the dosing gate asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from monitor.services import Service, with_clock
from monitor.views import ReadingView

#: (name, role, PIN) of the demo users.
#: The supervisor comes first: the first user of a database is a supervisor, who adds the rest.
DEMO_USERS = (("sam", "supervisor", "9999"), ("ana", "nurse", "1111"), ("ben", "nurse", "2222"))


@dataclass(frozen=True)
class DemoResult:
    """What the demo made, for the message that tells how to open it."""

    #: The sessions in observation.
    sessions: list[int]
    users: tuple[tuple[str, str, str], ...]
    #: Earlier, discharged sessions (review mode, REMS forms, the quality summary).
    earlier: list[int] = field(default_factory=list)


def default_demo_path() -> Path:
    """The demo database: beside the default one, never the same file."""
    from monitor.store.engine import default_db_path

    return default_db_path().with_name("monitor-demo.db")


def build_demo(service: Service) -> DemoResult:
    """Fill ``service``'s database with the demo clinic (users are added once)."""
    if not service.has_users():
        service.mark_demo()
    existing = {u.name for u in service.users()}
    for name, role, pin in DEMO_USERS:
        if name not in existing:
            service.add_user(name, role, pin, by=None if role == "supervisor" else "sam")
    now = service.now()
    sessions: list[int] = []

    def ago(minutes: float) -> datetime:
        return now - timedelta(minutes=minutes)

    def back(minutes: float) -> Service:
        """The services as they were ``minutes`` ago: what is saved then is saved on time."""
        moment = ago(minutes)
        return with_clock(service, lambda: moment)

    def session(
        minutes_ago: float,
        patient: str,
        protocol: str,
        bay: str,
        age: int,
        first: bool,
        number: int,
        **intake,
    ) -> int:
        esketamine = protocol.startswith("esketamine")
        sid = back(minutes_ago).start_session(
            patient=patient,
            protocol=protocol,
            by="ana",
            bay=bay,
            age=age,
            lot="LOT-2611" if esketamine else None,
            first_treatment=first,
            dose_number=number,
            **intake,
        )
        sessions.append(sid)
        return sid

    def record(sid: int, minutes_ago: float, entry: str, by: str = "ana") -> ReadingView:
        return back(minutes_ago).record_reading(sid, entry, by=by, measured_at=ago(minutes_ago))

    def dose(sid: int, minutes_ago: float) -> None:
        back(minutes_ago).record_dose(sid, by="ana")

    def ack_all(reading: ReadingView, minutes_ago: float, action: str, by: str = "ana") -> None:
        ids = [f.id for f in reading.flags if f.severity.needs_action]
        if ids:
            back(minutes_ago).acknowledge_many(ids, by=by, action=action)

    def adverse(sid: int, minutes_ago: float, kind: str, severity: str, text: str) -> None:
        back(minutes_ago).add_event(
            sid, kind="adverse", type=kind, severity=severity, serious=False, by="ana", text=text
        )

    def event(sid: int, minutes_ago: float, kind: str, text: str, type: str | None = None) -> None:
        back(minutes_ago).add_event(sid, kind=kind, type=type, by="ana", text=text)

    # Bay 1: esketamine 84 mg, 2 h 5 min in, every check done: ready to discharge.
    sid = session(135, "MRN-10231", "esketamine-84", "Bay 1", 46, False, 6, meds=())
    record(sid, 131, "128/82 hr 74 spo2 98 rr 14 moaas 5 cadss 0")
    dose(sid, 125)
    record(sid, 110, "moaas 4 spo2 97")
    record(sid, 95, "moaas 5 spo2 97")
    record(sid, 85, "158/92 hr 82 spo2 97 rr 15 moaas 5 cadss 9")
    adverse(sid, 78, "dizziness", "mild", "dizzy on standing, settled lying down")
    record(sid, 65, "moaas 5 spo2 98")
    record(sid, 35, "136/84 hr 76 spo2 98 rr 14 moaas 5 cadss 2")
    record(sid, 6, "130/80 hr 72 spo2 98 rr 14 moaas 5 cadss 0")

    # Bay 2: esketamine 56 mg at the +40 peak, first treatment: nausea treated, and now a
    # severe BP rise not yet acknowledged.
    sid = session(55, "MRN-10407", "esketamine-56", "Bay 2", 67, True, 1, meds=("benzodiazepines",))
    record(sid, 50, "138/86 hr 70 spo2 97 rr 14 moaas 5 cadss 0")
    dose(sid, 42)
    record(sid, 27, "moaas 4 spo2 96")
    adverse(sid, 24, "nausea", "moderate", "nauseated, no vomiting")
    event(sid, 22, "intervention", "ondansetron 4 mg ODT", type="antiemetic")
    record(sid, 12, "moaas 4 spo2 96")
    record(sid, 1, "184/102 hr 92 spo2 96 rr 16 moaas 4 cadss 7")

    # Bay 3: IV ketamine 0.5 mg/kg; the +10 check was missed, the infusion was slowed for a
    # fast heart rate and ended after 48 min instead of 40: the checks after it moved.
    sid = session(60, "MRN-09918", "ketamine-iv", "Bay 3", 38, False, 3, dose_mg=36, weight_kg=72)
    record(sid, 57, "124/78 hr 68 spo2 99 rr 14 moaas 5 cadss 0")
    dose(sid, 52)
    record(sid, 32, "132/84 hr 80 spo2 98 moaas 5")
    fast = record(sid, 22, "146/90 hr 114 spo2 97 moaas 4")
    ack_all(fast, 21, "slowed infusion, prescriber aware")
    record(sid, 12, "142/88 hr 98 spo2 97 moaas 4")
    back(4).record_infusion_end(sid, by="ana")

    # Bay 4: IM ketamine; the baseline was written on paper and entered later (a late entry);
    # the +15 check was not done: overdue.
    sid = session(45, "MRN-10502", "ketamine-im", "Bay 4", 29, False, 2, dose_mg=50)
    back(28).record_reading(
        sid, "118/76 hr 64 spo2 99 rr 12 moaas 5 cadss 0", by="ben", measured_at=ago(40)
    )
    back(28).record_dose(sid, by="ben", at=ago(36))

    # Bay 5: esketamine 84 mg before dosing: baseline BP above the limit, review first.
    sid = session(10, "MRN-10611", "esketamine-84", "Bay 5", 58, False, 4, meds=())
    record(sid, 4, "146/88 hr 78 spo2 98 rr 14 moaas 5 cadss 0")

    # Bay 6: esketamine 84 mg at 1 h 35 min; still a little sedated. The +15 check was not
    # done (explained), and a reading typed for the wrong patient was voided.
    sid = session(
        105, "MRN-10044", "esketamine-84", "Bay 6", 71, False, 9, meds=("psychostimulants",)
    )
    record(sid, 101, "142/84 hr 66 spo2 97 rr 13 moaas 5 cadss 0")
    dose(sid, 95)
    event(sid, 94, "note", "spouse drives home; prefers the lights dimmed")
    record(sid, 64, "moaas 4 spo2 95")
    back(62).skip_check(sid, "+15 min", by="ana", reason="patient in the bathroom")
    record(sid, 55, "162/90 hr 72 spo2 96 rr 12 moaas 4 cadss 6")
    wrong = record(sid, 50, "96/60 hr 58 spo2 97")
    back(49).void(wrong.id, by="ana", reason="entered for the wrong patient (Bay 5)")
    record(sid, 35, "moaas 4 spo2 96")
    record(sid, 5, "148/86 hr 70 spo2 97 rr 12 moaas 4 cadss 3", by="ben")

    # A bedside monitor in each bay (docs/devices.md), sending nothing yet: `monitor ingest`
    # takes their readings, `monitor device send --bay 1 ...` sends one as they would.
    for bay in range(1, 7):
        back(240).add_device(f"MON-{bay}", bay=f"Bay {bay}", by="sam")

    # Earlier sessions for review mode (sam): discharged, with their stories.
    active = len(sessions)

    def observed(sid: int, dosed: float, at_40: str, first: str = "moaas 4 spo2 97") -> None:
        """Baseline, dose and every check of an esketamine session dosed ``dosed`` min ago."""
        record(sid, dosed + 6, "130/80 hr 72 spo2 98 rr 14 moaas 5 cadss 0")
        dose(sid, dosed)
        record(sid, dosed - 15, first)
        record(sid, dosed - 30, "moaas 5 spo2 97")
        flagged = record(sid, dosed - 40, at_40)
        ack_all(flagged, dosed - 48, "rechecked, prescriber informed", by="ben")
        record(sid, dosed - 56, "148/88 hr 80 spo2 98")
        record(sid, dosed - 60, "moaas 5 spo2 98")
        record(sid, dosed - 90, "138/84 hr 74 spo2 98 rr 14 moaas 5 cadss 1")

    yesterday = 24 * 60 + 180  # dosed at about this time of the day before

    # Yesterday: a severe BP rise at +40, acknowledged after 8 min; discharged when the gate
    # was met. Not yet signed off.
    sid = session(yesterday + 10, "MRN-20101", "esketamine-84", "Bay 1", 52, False, 3, meds=())
    observed(sid, yesterday, "186/100 hr 88 spo2 97 rr 15 moaas 5 cadss 8")
    record(sid, yesterday - 120, "130/80 hr 72 spo2 98 rr 14 moaas 5 cadss 0")
    back(yesterday - 122).discharge(sid, by="ben", escort="daughter", instructions_given=True)

    # Yesterday: first treatment, discharged before the 2 h by override (transferred).
    sid = session(
        yesterday + 70, "MRN-20102", "esketamine-56", "Bay 3", 34, True, 1, meds=("maois",)
    )
    observed(sid, yesterday + 60, "176/96 hr 84 spo2 97 rr 14 moaas 5 cadss 3")
    back(yesterday - 45).discharge(
        sid,
        by="ana",
        override_reason="transferred to the emergency department for BP review",
        escort="ambulance crew",
        instructions_given=True,
        cosign="sam",  # a nurse's override needs a clinician's co-signature
    )

    # Four days ago: a quiet session, discharged and signed off by sam.
    days_ago = 4 * 24 * 60
    sid = session(days_ago + 10, "MRN-20103", "esketamine-84", "Bay 2", 61, False, 12, meds=())
    observed(sid, days_ago, "136/84 hr 74 spo2 98 rr 14 moaas 5 cadss 2")
    record(sid, days_ago - 120, "128/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0")
    back(days_ago - 122).discharge(sid, by="ana", escort="husband", instructions_given=True)
    back(days_ago - 1440).sign(sid, by="sam", pin="9999")

    return DemoResult(sessions[:active], DEMO_USERS, sessions[active:])
