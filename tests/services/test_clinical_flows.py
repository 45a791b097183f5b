"""The clinical rules through the services, on SQLite and PostgreSQL: the worked examples as
``session show --json`` gives them, the unsafe flows refused, and what a session records besides
vitals (events, skips, voids, the infusion end, the discharge's escort, instructions and gate)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from monitor.errors import EntryError, GateNotMet, NotFound, Refused
from monitor.present.json import session_json
from monitor.services import Service
from tests.helpers import at

OK = "120/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0"


def start(service, **kwargs) -> int:
    options = {
        "patient": "P1",
        "protocol": "esketamine-84",
        "by": "ana",
        "age": 52,
        "meds": (),
    } | kwargs
    return service.start_session(**options)


def dosed(service, clock, *, protocol="esketamine-84", patient="P1", baseline=OK) -> int:
    """A session started 40 min before the dose, its baseline recorded, dosed at DOSED."""
    clock.set(at(-40))
    sid = start(service, protocol=protocol, patient=patient)
    clock.set(at(-5))
    service.record_reading(sid, baseline, by="ana")
    clock.set(at(0))
    service.record_dose(sid, by="ana")
    return sid


def record_at(service, clock, sid, minute, entry=OK, by="ana"):
    clock.set(at(minute))
    return service.record_reading(sid, entry, by=by)


def checks(service, sid) -> dict[str, tuple[str, bool]]:
    shown = session_json(service.session(sid))
    return {c["label"]: (c["status"], c["late"]) for c in shown["checks"]}


# -- the worked examples of docs/clinical.md, through session show --json ---------------------


def test_worked_example_esketamine_through_the_services(service, clock):
    sid = dosed(service, clock)
    for minute in (40, 90, 121):
        record_at(service, clock, sid, minute)
    clock.set(at(150))
    assert checks(service, sid) == {
        "baseline": ("done", False),
        "+15 min": ("missed", False),
        "+30 min": ("missed", False),
        "+40 min": ("done", False),
        "+60 min": ("missed", False),
        "+90 min": ("done", False),
        "+120 min": ("done", False),
    }
    alarms = session_json(service.session(sid))["alarms"]
    assert [a["message"] for a in alarms] == [
        "+15 min check missed",
        "+30 min check missed",
        "+60 min check missed",
    ]


def test_worked_example_iv_through_the_services(service, clock):
    sid = dosed(service, clock, protocol="ketamine-iv")
    for minute in (20, 40, 65, 95):
        record_at(service, clock, sid, minute)
    clock.set(at(150))
    got = {k: v[0] for k, v in checks(service, sid).items()}
    assert got == {
        "baseline": "done",
        "+10 min": "missed",
        "+20 min": "done",
        "+30 min": "missed",
        "+40 min": "done",
        "+55 min": "missed",
        "+70 min": "done",
        "+85 min": "missed",
        "+100 min": "done",
    }


# -- the unsafe flows of issue 7 -----------------------------------------------------------


def test_discharge_time_before_the_latest_reading_is_refused(service, clock):
    sid = dosed(service, clock)
    for minute in (40, 90, 118):
        record_at(service, clock, sid, minute)
    record_at(service, clock, sid, 125, "70/40 hr 35 spo2 85 moaas 1")
    clock.set(at(126))
    with pytest.raises(EntryError, match="before the latest reading"):
        service.discharge(sid, by="ana", at=at(121), escort="partner", instructions_given=True)
    with pytest.raises(GateNotMet):
        service.discharge(sid, by="ana", escort="partner", instructions_given=True)


def test_a_reading_timed_ahead_is_judged_by_the_gate_from_its_time(service, clock):
    # revision 3: a reading timed ahead counts only from its time
    sid = dosed(service, clock)
    for minute in (40, 90, 118):
        record_at(service, clock, sid, minute)
    clock.set(at(121))
    assert service.session(sid).gate.ready
    service.record_reading(sid, "70/40 hr 35 spo2 85 moaas 1", by="ana", measured_at=at(122.5))
    assert service.session(sid).gate.ready
    clock.set(at(122.5))
    view = service.session(sid)
    assert not view.gate.ready
    assert any("latest BP 70/40" in r for r in view.gate.reasons)


def test_acknowledged_hr_138_and_rr_7_at_the_end_still_block(service, clock):
    sid = dosed(service, clock)
    for minute in (40, 90):
        record_at(service, clock, sid, minute)
    reading = record_at(service, clock, sid, 118, "120/80 hr 138 spo2 97 rr 7 moaas 5 cadss 0")
    service.acknowledge_many([f.id for f in reading.flags], by="ana", action="noted")
    clock.set(at(125))
    with pytest.raises(GateNotMet) as refused:
        service.discharge(sid, by="ana", escort="partner", instructions_given=True)
    text = " ".join(refused.value.reasons)
    assert "latest HR 138 raises a high flag" in text
    assert "latest RR 7 raises a high flag" in text


def test_a_correction_never_clears_an_alarm(service, clock):
    sid = dosed(service, clock)
    record_at(service, clock, sid, 40)
    high = record_at(service, clock, sid, 90, "188/104 hr 70 spo2 98 moaas 5 cadss 0")
    record_at(service, clock, sid, 118)
    clock.set(at(121))
    service.amend(high.id, "128/80", by="ana", reason="typed wrong")
    view = service.session(sid)
    assert not view.gate.ready
    assert {f.id for f in view.open_flags()} >= {f.id for f in high.flags if f.severity.rank == 3}
    assert "medium/high flags not acknowledged" in " ".join(view.gate.reasons)
    service.acknowledge_many([f.id for f in view.open_flags()], by="ana", action="entered in error")
    assert service.session(sid).gate.ready


def test_dosing_without_a_baseline_or_with_an_open_predose_flag_is_refused(service, clock):
    clock.set(at(-30))
    sid = start(service)
    with pytest.raises(GateNotMet, match="baseline check not done"):
        service.record_dose(sid, by="ana")
    flagged = service.record_reading(sid, "152/92 hr 70 spo2 98 moaas 5 cadss 0", by="ana")
    with pytest.raises(GateNotMet, match="before-dosing flags not acknowledged"):
        service.record_dose(sid, by="ana")
    service.acknowledge_many(
        [f.id for f in flagged.flags], by="sam", action="Dr A: proceed, BP acceptable"
    )
    clock.set(at(0))
    assert service.record_dose(sid, by="ana") == at(0)
    assert service.session(sid).dose_override_reason is None


def test_dosing_override_is_kept_and_explains_the_missed_baseline(service, clock):
    clock.set(at(-30))
    sid = start(service)
    clock.set(at(0))
    service.record_dose(
        sid, by="ana", override_reason="monitor failed, BP by hand on paper", cosign="sam"
    )
    view = service.session(sid)
    assert view.dose_override_reason == "monitor failed, BP by hand on paper"
    assert (view.dose_override_by, view.dose_override_cosigned_by) == ("ana", "sam")
    # revision 3: the override is its own record; the baseline check is judged from the
    # readings alone (missed, an alarm until a nurse records why it was not done)
    baseline = view.checks[0]
    assert (baseline.status.value, baseline.is_alarm) == ("missed", True)
    assert view.skips == {}
    assert service.audit(sid)[-1].reason == "monitor failed, BP by hand on paper"


def test_dosing_time_may_not_be_before_a_saved_reading(service, clock):
    clock.set(at(-30))
    sid = start(service)
    clock.set(at(-5))
    service.record_reading(sid, OK, by="ana", measured_at=at(-10))
    with pytest.raises(EntryError, match="before a reading already saved"):
        service.record_dose(sid, by="ana", at=at(-11))


# -- missed checks, skips and the pre-discharge check --------------------------------------


def test_a_missed_check_is_explained_and_its_alarm_ends(service, clock):
    sid = dosed(service, clock)
    clock.set(at(50))
    with pytest.raises(Refused, match="only an overdue or missed check"):
        service.skip_check(sid, "+40 min", by="ana", reason="asleep")
    with pytest.raises(NotFound, match="no check"):
        service.skip_check(sid, "+41 min", by="ana", reason="asleep")
    skipped = service.skip_check(sid, "+15 min", by="ana", reason="patient asleep")
    assert skipped.skip.reason == "patient asleep"
    view = service.session(sid)
    assert [c.label for c in view.check_alarms()] == ["+30 min"]
    shown = session_json(view)
    fifteen = next(c for c in shown["checks"] if c["label"] == "+15 min")
    assert fifteen["skipped"] == {"by": "ana", "at": at(50).isoformat(), "reason": "patient asleep"}
    with pytest.raises(Refused, match="already explained"):
        service.skip_check(sid, "+15 min", by="bo", reason="again")
    assert service.audit(sid)[-1].action == "check.skip"


def test_a_missed_pre_discharge_check_does_not_force_an_override_for_good(service, clock):
    sid = dosed(service, clock)
    record_at(service, clock, sid, 40)
    clock.set(at(200))
    view = service.session(sid)
    pre = next(c for c in view.checks if c.pre_discharge)
    assert pre.status.value == "overdue"
    record_at(service, clock, sid, 201)
    clock.set(at(202))
    assert service.session(sid).gate.ready
    assert service.discharge(sid, by="ana", escort="partner", instructions_given=True).gate.ready


def test_each_flagged_bp_has_its_own_recheck(service, clock):
    sid = dosed(service, clock)
    record_at(service, clock, sid, 40, "182/96 hr 80 spo2 98 moaas 5 cadss 0")
    record_at(service, clock, sid, 50, "170/96 hr 80")
    clock.set(at(51))
    rechecks = [c for c in service.session(sid).checks if c.kind.value == "recheck"]
    assert [(c.label, c.status.value) for c in rechecks] == [
        ("BP recheck +55 min", "done"),
        ("BP recheck +65 min", "upcoming"),
    ]


# -- void ----------------------------------------------------------------------------------


def test_void_keeps_the_reading_struck_through_and_acknowledges_its_flags(service, clock):
    sid = dosed(service, clock)
    wrong = record_at(service, clock, sid, 40, "85/50 hr 140 spo2 98 moaas 5 cadss 0")
    clock.set(at(42))
    with pytest.raises(Refused, match="did not record"):
        service.void(wrong.id, by="bo", reason="wrong patient")
    voided = service.void(wrong.id, by="ana", reason="entered in error: wrong patient")
    assert voided.voided.reason == "entered in error: wrong patient"
    assert not voided.in_force
    assert all(f.acknowledged for f in voided.flags)
    assert {f.action for f in voided.flags} == {"voided: entered in error: wrong patient"}
    view = service.session(sid)
    assert view.open_flags() == []
    forty = next(c for c in view.checks if c.label == "+40 min")
    assert forty.status.value == "due"  # a voided reading serves no check
    assert view.reading(wrong.id).voided is not None
    with pytest.raises(Refused, match="voided"):
        service.void(wrong.id, by="ana", reason="again")
    with pytest.raises(Refused, match="voided"):
        service.amend(wrong.id, "hr 80", by="ana", reason="x")
    shown = session_json(view)["readings"][1]["voided"]
    assert shown["by"] == "ana" and shown["reason"].startswith("entered in error")


# -- events, infusion end, late entries, one active session ---------------------------------


def test_events_are_recorded_validated_and_shown(service, clock):
    sid = dosed(service, clock)
    clock.set(at(30))
    service.add_event(sid, kind="note", by="ana", text="calm, listening to music")
    service.add_event(
        sid,
        kind="adverse",
        type="nausea",
        severity="moderate",
        by="ana",
        text="nauseous, no vomiting",
        at=at(25),
    )
    service.add_event(
        sid, kind="intervention", type="antiemetic", by="ana", text="ondansetron 4 mg ODT"
    )
    for bad in (
        {"kind": "adverse", "type": "nausea", "text": "x"},  # no severity
        {"kind": "adverse", "type": "sneezing", "severity": "mild", "text": "x"},
        {"kind": "intervention", "type": "oxygen", "severity": "mild", "text": "x"},
        {"kind": "note", "type": "nausea", "text": "x"},
        {"kind": "note", "text": "two\nlines"},
        {"kind": "rumour", "text": "x"},
        {"kind": "note", "text": "x" * 501},
    ):
        with pytest.raises(EntryError):
            service.add_event(sid, by="ana", **bad)
    with pytest.raises(EntryError, match="future"):
        service.add_event(sid, kind="note", by="ana", text="x", at=at(33))
    events = session_json(service.session(sid))["events"]
    assert [(e["kind"], e["type"]) for e in events] == [
        ("adverse", "nausea"),
        ("note", None),
        ("intervention", "antiemetic"),
    ]
    assert events[0]["severity"] == "moderate" and events[0]["serious"] is False
    assert [a.action for a in service.audit(sid)][-3:] == [
        "event.note",
        "event.adverse",
        "event.intervention",
    ]


def test_infusion_end_moves_the_schedule_and_the_minimum(service, clock):
    sid = dosed(service, clock, protocol="ketamine-iv")
    clock.set(at(51))
    other = start(service, patient="P2", protocol="ketamine-im")
    with pytest.raises(Refused, match="no infusion"):
        service.record_infusion_end(other, by="ana")
    service.record_infusion_end(sid, by="ana", at=at(50))
    view = service.session(sid)
    assert view.infusion_ended_at == at(50)
    labels = [c.label for c in view.checks if c.kind.value == "scheduled"]
    assert labels == [
        "+10 min",
        "+20 min",
        "+30 min",
        "+40 min",
        "+50 min",
        "+65 min",
        "+80 min",
        "+95 min",
        "+110 min",
    ]
    assert view.schedule.minimum_observation_min == 110
    with pytest.raises(Refused, match="already recorded"):
        service.record_infusion_end(sid, by="ana")


def test_a_late_entry_is_marked(service, clock):
    sid = dosed(service, clock)
    clock.set(at(52))
    late = service.record_reading(sid, OK, by="ana", measured_at=at(41.9))
    assert late.late_entry
    assert not record_at(service, clock, sid, 60).late_entry
    readings = session_json(service.session(sid))["readings"]
    assert [r["late_entry"] for r in readings] == [False, True, False]


def test_one_active_session_per_patient(service, clock):
    sid = start(service)
    with pytest.raises(Refused, match="already in observation"):
        start(service)
    service.discharge(
        sid,
        by="ana",
        override_reason="left before dosing",
        escort="partner",
        instructions_given=True,
        cosign="sam",
    )
    assert start(service) != sid


def test_start_answers_are_required_and_kept(service, clock):
    with pytest.raises(EntryError, match="age"):
        start(service, age=None)
    with pytest.raises(EntryError, match="medication"):
        start(service, meds=None)
    with pytest.raises(EntryError, match="84 mg dose, not 56 mg"):
        start(service, dose_mg=56)
    sid = start(
        service,
        first_treatment=True,
        dose_number=1,
        meds=("benzodiazepines", "maois"),
        weight_kg=71.5,
    )
    shown = session_json(service.session(sid))
    assert (shown["first_treatment"], shown["dose_number"], shown["meds"]) == (
        True,
        1,
        ["benzodiazepines", "maois"],
    )
    assert shown["weight_kg"] == 71.5
    assert start(service, patient="P9", protocol="ketamine-im", age=None, meds=None)


def test_time_bounds_of_a_session(service, clock):
    clock.set(at(0))
    with pytest.raises(EntryError, match="7 days"):
        start(service, started_at=at(0) - timedelta(days=8))
    sid = start(service, started_at=at(-60))
    with pytest.raises(EntryError, match="2 h before the session began"):
        service.record_reading(sid, OK, by="ana", measured_at=at(-181))
    assert service.record_reading(sid, OK, by="ana", measured_at=at(-180))


# -- discharge: escort, instructions, stored gate, REMS answer -----------------------------


def good_session(service, clock) -> int:
    sid = dosed(service, clock)
    for minute in (15, 30, 40, 60, 90, 118):
        record_at(service, clock, sid, minute)
    return sid


def test_discharge_records_escort_instructions_and_the_confirmed_minute(service, clock):
    sid = good_session(service, clock)
    clock.set(at(121))
    assert service.session(sid).ready_minute_proposed == 40
    view = service.discharge(
        sid, by="ana", escort="husband", instructions_given=True, ready_minute=45
    )
    shown = session_json(view)["discharge"]
    assert (shown["escort"], shown["instructions_given"]) == ("husband", True)
    assert (shown["ready_minute_proposed"], shown["ready_minute"], shown["ready_minute_by"]) == (
        40,
        45,
        "ana",
    )
    stored = shown["gate_at_discharge"]
    assert stored["ready"] is True and stored["reasons"] == []
    assert stored["config"]["protocol"]["minimum_observation_min"] == 120
    assert stored["config"]["discharge"] == {
        "moaas_min": 5,
        "cadss_max": 4,
        "spo2_min": 94,
        "sbp_max": 159,
        "dbp_max": 99,
        "recent_set_min": 30,
    }
    labels = [item["label"] for item in stored["items"]]
    assert labels[-2:] == ["escort recorded", "no-driving instruction given"]


def test_a_discharged_session_is_never_judged_again_under_a_later_configuration(
    db_url, service, clock
):
    sid = good_session(service, clock)
    clock.set(at(121))
    service.discharge(sid, by="ana", escort="partner", instructions_given=True)
    # A later version of the clinic's rules, stricter in every way (docs/configuration.md).
    stricter = """
[discharge]
spo2_min = 99
[protocols.esketamine-84]
minimum_observation_min = 180
checks = [{at = 40, measures = ["bp"]}, {at = 175, measures = ["bp"], pre_discharge = true}]
"""
    version = service.load_config(stricter, source="stricter.toml", by="sam", reason="audit")
    assert version.number == 2
    later = Service(service.engine, clock=clock)
    assert later.rules_in_force()[0] == 2
    view = later.session(sid)
    assert view.gate.ready
    assert [c.label for c in view.checks if c.kind.value == "scheduled"][-1] == "+120 min"
    assert view.stored_gate is not None and json.dumps(dict(view.stored_gate.record))


def test_an_override_keeps_the_unmet_reasons_in_the_stored_gate(service, clock):
    sid = dosed(service, clock)
    clock.set(at(30))
    view = service.discharge(
        sid, by="ana", override_reason="transferred to ED", escort="none", cosign="sam"
    )
    stored = view.stored_gate
    assert stored is not None and stored.ready is False and stored.reasons
    assert view.escort == "none"
    assert view.instructions_given is None  # not recorded
    assert any(r.startswith("no-driving instruction not given") for r in stored.reasons)
    assert view.discharge_cosigned_by == "sam"


def test_a_signed_session_takes_no_new_records(service, clock):
    sid = good_session(service, clock)
    clock.set(at(121))
    service.discharge(sid, by="ana", escort="partner", instructions_given=True)
    service.sign(sid, by="sam", pin="9999")
    reading = service.session(sid).readings[-1]
    with pytest.raises(Refused, match="signed off"):
        service.add_event(sid, kind="note", by="ana", text="late note")
    with pytest.raises(Refused, match="signed off"):
        service.void(reading.id, by="sam", reason="x")
    with pytest.raises(Refused, match="signed off"):
        service.skip_check(sid, "+15 min", by="sam", reason="x")


@pytest.mark.postgres
def test_postgres_now_is_the_database_clock(pg_template):
    from tests.conftest import drop_pg_database, new_pg_database

    url, name = new_pg_database(pg_template)
    try:
        service = Service.open(url)
        assert service._server_clock
        offset = service.clock_offset(service.clock())
        assert offset is not None and abs(offset) < 5
        assert abs(service.clock_offset(service.clock() - timedelta(seconds=60)) - 60) < 5
        service.add_user("sam", "supervisor", "9999")
        sid = service.start_session(patient="P", protocol="ketamine-im", by="sam")
        reading = service.record_reading(sid, "120/80", by="sam")  # timed by the server
        assert abs((reading.measured_at - service.database_now()).total_seconds()) < 5
        assert reading.recorded_at == reading.measured_at
        service.close()
    finally:
        drop_pg_database(name)


def test_sqlite_has_no_other_clock(tmp_path):
    service = Service.open(str(tmp_path / "x.db"))
    assert service.clock_offset(service.clock()) is None
    service.close()


def test_a_skip_reason_stays_once_a_late_reading_completes_the_check(service, clock):
    sid = dosed(service, clock)
    record_at(service, clock, sid, 40)  # +40 done: at +54 only +30's late window is open
    clock.set(at(41))
    service.skip_check(sid, "+30 min", by="ana", reason="asleep")
    clock.set(at(54))
    service.record_reading(sid, "moaas 5 spo2 98", by="ana")
    check = next(c for c in service.session(sid).checks if c.label == "+30 min")
    assert check.status.value == "done" and check.skip.reason == "asleep"


def test_a_correction_may_not_move_a_reading_across_the_dosing_time(service, clock):
    sid = dosed(service, clock)
    baseline = service.session(sid).readings[0]
    after = record_at(service, clock, sid, 40)
    with pytest.raises(EntryError, match="across the dosing time"):
        service.amend(after.id, "hr 71", by="ana", reason="time", at=at(-1))
    with pytest.raises(EntryError, match="across the dosing time"):
        service.amend(baseline.id, "hr 71", by="ana", reason="time", at=at(1))
    assert service.amend(after.id, "hr 71", by="ana", reason="time", at=at(39)).measured_at == at(
        39
    )


def test_given_but_empty_values_are_refused(service, clock):
    sid = dosed(service, clock)
    clock.set(at(30))
    with pytest.raises(EntryError, match="empty"):
        service.discharge(
            sid, by="ana", override_reason="x", escort="  ", instructions_given=True, cosign="sam"
        )
    with pytest.raises(EntryError, match="empty"):
        service.discharge(
            sid,
            by="ana",
            override_reason="",
            escort="partner",
            instructions_given=True,
            cosign="sam",
        )
    with pytest.raises(EntryError, match="twice"):
        start(service, patient="P7", meds=("maois", "maois"))


@pytest.mark.parametrize("minute", [122, 0, -1])
def test_the_ready_minute_is_between_1_and_the_minutes_monitored(service, clock, minute):
    # revision 3: an answer is between 1 and the minutes monitored
    sid = good_session(service, clock)
    clock.set(at(121))
    with pytest.raises(EntryError, match=r"accepted 1 to the minutes monitored \(121\)"):
        service.discharge(
            sid, by="ana", ready_minute=minute, escort="partner", instructions_given=True
        )
    assert (
        service.discharge(
            sid, by="ana", ready_minute=121, escort="partner", instructions_given=True
        ).ready_minute
        == 121
    )


def test_a_judgement_stands_until_the_next_change_the_station_waits_for(service, clock):
    """The station reuses a session's judgement until `next_change`: judging again at any
    moment before it gives the same checks and gate."""
    from monitor.judge import next_change, rejudge

    sid = dosed(service, clock, protocol="ketamine-iv")
    for minute, entry in ((20, OK), (40, "182/96 hr 80 spo2 98 moaas 5 cadss 0"), (65, OK)):
        record_at(service, clock, sid, minute, entry)
    clock.set(at(66))
    view = service.session(sid)
    config = service.config
    moment = at(66)
    judged = rejudge(view, moment, config)
    until = next_change(judged, config.windows)
    while moment < at(260):
        moment += timedelta(seconds=7)
        fresh = rejudge(view, moment, config)
        if until is not None and moment >= until:
            judged, until = fresh, next_change(fresh, config.windows)
            continue
        assert (fresh.checks, fresh.gate) == (judged.checks, judged.gate), moment
