"""Attribution everywhere (issue #19, item 9; docs/interface.md, "session show --json",
revision 3): who started, dosed, overrode and co-signed, ended and corrected the infusion,
discharged and signed off, in the JSON, the record story and the session log, on both
databases. The shape of ``session show --json`` is held here as a golden list of keys."""

from __future__ import annotations

from dataclasses import replace

from monitor.core.rules import Severity
from monitor.present.json import session_json
from monitor.present.parts import Role, local_minute, plain
from monitor.present.record import (
    NoteKind,
    ReadingNote,
    clock,
    discharge_lines,
    flag_line,
    note_texts,
    reading_notes,
    recorders,
    review_lines,
    session_facts,
)
from monitor.present.session import EntryKind, session_log
from monitor.services import Service, with_clock
from monitor.views import EventView, FlagView, SessionView
from tests.helpers import at

FULL = "128/80 hr 72 spo2 98 rr 14 moaas 5 cadss 0"
BASELINE = "120/70 hr 70 spo2 98 rr 14 moaas 5 cadss 0"


def attributed_session(service: Service) -> dict[str, int]:
    """An IV ketamine session where each step is someone else's (minutes after the dose):
    started by ana at -30; dosed by bo at 0 by override, co-signed by sam (no baseline yet);
    176/104 at +20; the baseline 120/70 entered late at +25 (measured at -5), which raises
    rise flags on the +20 reading ("raised when the baseline changed"), acknowledged by ana
    at +27; a note by bo at +30; the infusion end recorded by bo (+40) and corrected by sam at +45 (+42); a full
    set at +60; discharged by ana at +70 by override co-signed by sam (observation ended
    early); a reading measured at +65 entered after discharge at +80; signed off by sam at
    +200, reopened at +210 and signed again at +220."""

    def when(minutes: float) -> Service:
        return with_clock(service, lambda: at(minutes))

    ids: dict[str, int] = {}
    sid = when(-30).start_session(
        patient="MRN-ATTR", protocol="ketamine-iv", by="ana", age=45, dose_mg=35, weight_kg=70
    )
    ids["session"] = sid
    when(0).record_dose(
        sid, by="bo", override_reason="baseline cuff failed, prescriber present", cosign="sam"
    )
    ids["risen"] = when(20).record_reading(sid, "176/104 hr 80 spo2 97 rr 14", by="ana").id
    ids["baseline"] = when(25).record_reading(sid, BASELINE, by="ana", measured_at=at(-5)).id
    raised = [f.id for f in when(26).session(sid).open_flags()]
    assert raised, "the late baseline raises rise flags"
    when(27).acknowledge_many(raised, by="ana", action="rechecked, prescriber told")
    when(30).add_event(sid, kind="note", by="bo", text="patient calm")
    when(41).record_infusion_end(sid, by="bo", at=at(40))
    when(45).record_infusion_end(sid, by="sam", at=at(42), reason="pump log says 09:42")
    ids["full"] = when(60).record_reading(sid, FULL, by="ana").id
    when(70).discharge(
        sid,
        by="ana",
        override_reason="transfer to the emergency department",
        escort="partner",
        instructions_given=True,
        cosign="sam",
    )
    ids["after"] = when(80).record_reading(sid, "spo2 96 hr 74", by="ana", measured_at=at(65)).id
    when(200).sign(sid, by="sam", pin="9999")
    when(210).reopen(sid, by="sam", reason="infusion end to check")
    when(220).sign(sid, by="sam", pin="9999")
    return ids


# -- the JSON's shape (golden) -------------------------------------------------------------

SESSION_KEYS = [
    "id",
    "patient",
    "protocol",
    "treatment",
    "dose_mg",
    "age",
    "bay",
    "lot",
    "started_at",
    "started_by",
    "weight_kg",
    "first_treatment",
    "dose_number",
    "meds",
    "config_version",
    "dosed_at",
    "dosed_by",
    "dose_override_reason",
    "dose_override_by",
    "dose_override_cosigned_by",
    "dosing_refusals",
    "infusion_ended_at",
    "infusion_end",
    "minutes_monitored",
    "status",
    "as_of",
    "readings",
    "checks",
    "alarms",
    "events",
    "discharge",
    "review",
    "unreadable",
]
READING_KEYS = [
    "id",
    "measured_at",
    "recorded_at",
    "recorded_by",
    "systolic",
    "diastolic",
    "heart_rate",
    "spo2",
    "resp_rate",
    "moaas",
    "cadss",
    "before_dosing",
    "superseded_by",
    "corrects",
    "reason",
    "voided",
    "late_entry",
    "entered_after_discharge",
    "served_check",
    "source",
    "validated",
    "flags",
]
FLAG_KEYS = [
    "id",
    "measure",
    "severity",
    "rule",
    "message",
    "acknowledged",
    "acknowledged_by",
    "acknowledged_at",
    "action",
    "cosigned_by",
    "raised_by",
    "raised_at",
    "config_version",
    "unreadable",
]
CHECK_KEYS = [
    "label",
    "kind",
    "due_at",
    "measures",
    "status",
    "late",
    "pre_discharge",
    "done_at",
    "skipped",
    "cancelled",
]
EVENT_KEYS = [
    "id",
    "kind",
    "type",
    "severity",
    "serious",
    "text",
    "at",
    "recorded_at",
    "by",
    "alarm",
]
DISCHARGE_KEYS = [
    "ready",
    "reasons",
    "discharged_at",
    "discharged_by",
    "by",
    "override_reason",
    "override_by",
    "cosigned_by",
    "ended_early",
    "escort",
    "instructions_given",
    "ready_minute_proposed",
    "ready_minute",
    "ready_minute_by",
    "gate_at_discharge",
    "gate_now",
]
REVIEW_KEYS = [
    "signed_by",
    "signed_at",
    "reopened",
    "signoffs",
    "rems_changed_after_discharge",
    "history",  # issue 22
]


def test_session_show_json_has_the_shape_of_revision_3(service):
    ids = attributed_session(service)
    data = session_json(service.session(ids["session"]))
    assert list(data) == SESSION_KEYS
    assert all(list(r) == READING_KEYS for r in data["readings"])
    flags = [f for r in data["readings"] for f in r["flags"]]
    assert flags and all(list(f) == FLAG_KEYS for f in flags)
    assert data["checks"] and all(list(c) == CHECK_KEYS for c in data["checks"])
    assert [list(e) for e in data["events"]] == [EVENT_KEYS]
    assert list(data["discharge"]) == DISCHARGE_KEYS
    assert list(data["review"]) == REVIEW_KEYS
    assert list(data["infusion_end"]) == ["at", "by", "corrections"]
    assert list(data["infusion_end"]["corrections"][0]) == [
        "at",
        "by",
        "reason",
        "previous",
        "ended_at",
    ]
    assert "config_version" in data["discharge"]["gate_at_discharge"]


def test_session_show_json_says_who_did_what(service):
    ids = attributed_session(service)
    data = session_json(service.session(ids["session"]))
    assert data["config_version"] == 1
    assert (data["started_by"], data["dosed_by"]) == ("ana", "bo")
    assert (data["dose_override_by"], data["dose_override_cosigned_by"]) == ("bo", "sam")
    assert data["dose_override_reason"] == "baseline cuff failed, prescriber present"
    # The override is its own field: it never marks the baseline check as skipped.
    baseline = next(c for c in data["checks"] if c["kind"] == "baseline")
    assert baseline["skipped"] is None
    assert data["infusion_ended_at"] == at(42).isoformat()
    assert data["infusion_end"] == {
        "at": at(42).isoformat(),
        "by": "bo",
        "corrections": [
            {
                "at": at(45).isoformat(),
                "by": "sam",
                "reason": "pump log says 09:42",
                "previous": at(40).isoformat(),
                "ended_at": at(42).isoformat(),
            }
        ],
    }
    assert data["minutes_monitored"] == 70
    discharge = data["discharge"]
    assert discharge["discharged_at"] == at(70).isoformat()
    assert (discharge["by"], discharge["discharged_by"]) == ("ana", "ana")
    assert (discharge["override_by"], discharge["cosigned_by"]) == ("ana", "sam")
    assert discharge["override_reason"] == "transfer to the emergency department"
    assert (discharge["escort"], discharge["instructions_given"]) == ("partner", True)
    assert discharge["ended_early"] is True
    assert discharge["gate_at_discharge"]["config_version"] == 1
    # A reading entered after discharge: the gate judged again on the record beside it.
    assert discharge["gate_now"] is not None and discharge["gate_now"]["ready"] is False
    readings = {r["id"]: r for r in data["readings"]}
    after = readings[ids["after"]]
    assert after["entered_after_discharge"] is True and after["late_entry"] is True
    assert not any(readings[ids[k]]["entered_after_discharge"] for k in ("risen", "full"))
    for r in data["readings"]:
        assert r["source"] == "typed"
        assert r["validated"] == {"by": r["recorded_by"], "at": r["recorded_at"]}
        assert "served_check" in r
    risen = readings[ids["risen"]]["flags"]
    assert {f["raised_by"] for f in risen} == {"baseline change"}
    assert {f["raised_at"] for f in risen} == {at(25).isoformat()}
    assert {(f["acknowledged_by"], f["cosigned_by"]) for f in risen} == {("ana", None)}
    review = data["review"]
    assert review["signoffs"] == [
        {"by": "sam", "at": at(200).isoformat()},
        {"by": "sam", "at": at(220).isoformat()},
    ]
    assert review["reopened"] == [
        {"by": "sam", "at": at(210).isoformat(), "reason": "infusion end to check"}
    ]
    assert (review["signed_by"], review["signed_at"]) == ("sam", at(220).isoformat())
    assert review["rems_changed_after_discharge"] == []


def test_an_active_session_has_nobody_yet_where_nothing_was_done(service):
    sid = with_clock(service, lambda: at(-5)).start_session(
        patient="MRN-NEW", protocol="ketamine-im", by="ana", age=40
    )
    data = session_json(service.session(sid))
    assert data["started_by"] == "ana"
    assert [data[k] for k in ("dosed_by", "dose_override_by", "dose_override_cosigned_by")] == [
        None,
        None,
        None,
    ]
    assert data["infusion_end"] is None and data["minutes_monitored"] is None
    discharge = data["discharge"]
    assert [discharge[k] for k in ("by", "override_by", "cosigned_by", "gate_now")] == [None] * 4
    assert discharge["ended_early"] is False and discharge["gate_at_discharge"] is None
    assert data["review"]["signoffs"] == [] and data["review"]["rems_changed_after_discharge"] == []


def _with_alarm_and_cancelled(view: SessionView) -> SessionView:
    alarm = FlagView(
        99,
        None,
        "event",
        Severity.HIGH,
        "event.serious",
        "serious adverse event: chest pain",
        acknowledged_at=at(50),
        acknowledged_by="ana",
        action="prescriber examined",
        cosigned_by="sam",
        raised_by="event",
        raised_at=at(30),
        event_id=7,
    )
    event = EventView(
        7,
        view.id,
        "adverse",
        "chest pain",
        "severe",
        True,
        "chest pain",
        at(30),
        at(30),
        "bo",
        alarm=alarm,
    )
    checks = list(view.checks)
    first = checks[1]
    checks[1] = replace(first, cancelled="the reading was corrected")
    return replace(view, events=(event,), checks=tuple(checks))


def test_event_alarms_and_cancelled_rechecks_in_the_json(service):
    """An event's alarm and a cancelled recheck are told when the view carries them (the
    services of other branches fill them)."""
    ids = attributed_session(service)
    view = _with_alarm_and_cancelled(service.session(ids["session"]))
    data = session_json(view)
    assert data["events"][0]["alarm"] == {
        "id": 99,
        "severity": "high",
        "acknowledged": True,
        "by": "ana",
        "cosigned_by": "sam",
        "at": at(50).isoformat(),
        "action": "prescriber examined",
    }
    assert data["checks"][1]["cancelled"] == {"reason": "the reading was corrected"}
    assert all(c["cancelled"] is None for i, c in enumerate(data["checks"]) if i != 1)
    # The story and the log tell the alarm, who acknowledged it and who co-signed.
    entries = session_log(view)
    (event,) = [e for e in entries if e.kind is EntryKind.EVENT]
    assert (
        "alarm: !!! serious adverse event: chest pain  acknowledged by ana, co-signed by sam"
        in (event.text)
    )
    (ack,) = [e for e in entries if e.kind is EntryKind.ACK and e.reading_id is None]
    assert ack.at == at(50) and ack.by == "ana, co-signed by sam"
    assert ack.headline == "Alarm acknowledged (co-signed by sam) after 20 min: prescriber examined"
    assert "acknowledgements co-signed by sam" in recorders(view)


# -- the record story ----------------------------------------------------------------------


def test_the_facts_say_who_started_dosed_overrode_ended_and_discharged(service):
    ids = attributed_session(service)
    view = service.session(ids["session"])
    facts = dict(session_facts(view))
    assert facts["Started"] == f"{local_minute(at(-30))} by ana"
    assert facts["Dosed"] == (
        f"{local_minute(at(0))} by bo (dosing gate overridden by bo, co-signed by sam: "
        "baseline cuff failed, prescriber present)"
    )
    assert facts["Infusion end"] == (
        f"{local_minute(at(42))} (42 min) by bo; corrected by sam {local_minute(at(45))} "
        f"(was {clock(at(40))}): pump log says 09:42"
    )
    assert facts["Discharged"] == (
        f"{local_minute(at(70))} by ana (gate overridden, co-signed by sam); "
        "observation ended early"
    )
    assert facts["Rules version"] == "1"
    assert recorders(view) == (
        "started by ana; dosed by bo; dosing override co-signed by sam; readings by ana; "
        "flags acknowledged by ana; events by bo; infusion end by bo; infusion end corrected by sam; "
        "discharged by ana; discharge override co-signed by sam; signed off by sam"
    )


def test_marks_for_an_entry_after_discharge_and_a_flag_raised_when_the_baseline_changed(service):
    ids = attributed_session(service)
    view = service.session(ids["session"])
    after = view.reading(ids["after"])
    assert after is not None
    assert reading_notes(after) == (
        ReadingNote(NoteKind.LATE, at(80)),
        ReadingNote(NoteKind.AFTER_DISCHARGE, at(80), "ana"),
    )
    assert note_texts(after)[1] == f"ENTERED AFTER DISCHARGE by ana {clock(at(80))}"
    risen = view.reading(ids["risen"])
    assert risen is not None and risen.flags
    line = flag_line(risen.flags[0], risen.recorded_at)
    # The wait counts from when the flag was raised (+25), not from the reading's save (+20).
    assert plain(line).endswith(
        f"(raised when the baseline changed) at {clock(at(25))}  acknowledged by ana "
        f"{clock(at(27))}, after 2 min: rechecked, prescriber told"
    )
    assert line[1].role is Role.WARN
    # A flag whose message does not say it, and a co-signed acknowledgement.
    bare = replace(risen.flags[0], message="SBP 176 is 56 above baseline", cosigned_by="sam")
    assert plain(flag_line(bare, risen.recorded_at)) == (
        f"!! SBP 176 is 56 above baseline (raised when the baseline changed at {clock(at(25))})"
        f"  acknowledged by ana, co-signed by sam {clock(at(27))}, after 2 min: "
        "rechecked, prescriber told"
    )


def test_discharge_lines_tell_the_override_the_early_end_and_the_gate_judged_again(service):
    ids = attributed_session(service)
    view = service.session(ids["session"])
    texts = [plain(line) for line in discharge_lines(view)]
    assert texts[:2] == [
        f"Discharged {local_minute(at(70))} by ana.",
        "Observation ended early (before the minimum observation).",
    ]
    assert "Gate at discharge: NOT met:" in texts
    assert "Gate judged again on the record as it is now: NOT met:" in texts
    assert texts.index("Gate at discharge: NOT met:") < texts.index(
        "Gate judged again on the record as it is now: NOT met:"
    )
    assert "Gate overridden by ana, co-signed by sam: transfer to the emergency department" in texts
    changed = replace(view, rems_changed_after_discharge=("ready_minute",))
    assert plain(discharge_lines(changed)[-1]) == (
        "REMS answers changed after discharge: ready_minute"
    )


def test_review_lines_tell_every_sign_off_and_end_with_the_verdict(service):
    ids = attributed_session(service)
    view = service.session(ids["session"])
    assert [plain(line) for line in review_lines(view)] == [
        f"Signed by sam at {local_minute(at(200))}; meaning: reviewed (withdrawn)",
        f"Sign-off withdrawn by sam at {local_minute(at(210))}: infusion end to check",
        f"Signed by sam at {local_minute(at(220))}; meaning: reviewed",
    ]
    with_clock(service, lambda: at(230)).reopen(ids["session"], by="sam", reason="again")
    reopened = [plain(line) for line in review_lines(service.session(ids["session"]))]
    assert reopened[-1] == "NOT YET REVIEWED"
    assert (
        reopened.count(f"Signed by sam at {local_minute(at(220))}; meaning: reviewed (withdrawn)")
        == 1
    )


# -- the session log -----------------------------------------------------------------------


def test_the_log_says_who_did_each_thing(service):
    ids = attributed_session(service)
    view = service.session(ids["session"])
    entries = session_log(view)  # without the audit: every name comes from the view
    by_kind = {(e.kind, e.headline.split(":")[0]): e for e in entries}
    dose = by_kind[(EntryKind.DOSE, "Dose given")]
    assert dose.by == "bo"
    assert (
        "dosing gate OVERRIDDEN by bo, co-signed by sam: baseline cuff failed, prescriber "
        "present" in dose.text
    )
    ended = [e for e in entries if e.kind is EntryKind.INFUSION_END]
    assert [(e.at, e.by) for e in ended] == [(at(42), "bo"), (at(45), "sam")]
    assert f"corrected: first recorded as {clock(at(40))}" in ended[0].text
    assert ended[1].text == (
        f"Infusion end corrected: {clock(at(42))}, was {clock(at(40))}: pump log says 09:42"
    )
    out = by_kind[(EntryKind.DISCHARGE, "Discharged")]
    assert out.by == "ana"
    assert out.headline == (
        "Discharged: gate NOT met, OVERRIDDEN by ana, co-signed by sam: "
        "transfer to the emergency department"
    )
    assert "OBSERVATION ENDED EARLY" in out.text
    assert "gate stored at discharge: not ready" in out.text
    assert "gate judged again on the record as it is now: not ready" in out.text
    after = next(e for e in entries if e.reading_id == ids["after"])
    assert f"ENTERED AFTER DISCHARGE by ana: saved {clock(at(80))}" in after.text
    risen = next(e for e in entries if e.kind is EntryKind.READING and e.reading_id == ids["risen"])
    assert f"(raised when the baseline changed) at {clock(at(25))}" in risen.text
    acks = [e for e in entries if e.kind is EntryKind.ACK]
    assert acks and all(e.headline.startswith("Acknowledged after 2 min") for e in acks)
    signs = [(e.at, e.by) for e in entries if e.kind is EntryKind.SIGN]
    assert signs == [(at(200), "sam"), (at(220), "sam")]
