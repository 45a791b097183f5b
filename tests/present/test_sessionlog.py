"""The session log (monitor.present.session): one session's story in time order, from the
views the services read, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.present.parts import Part, Role
from monitor.present.session import EntryKind, LogEntry, session_log
from monitor.services import Service, with_clock
from monitor.views import SessionView
from tests.built import remembered
from tests.helpers import DOSED, at

FULL = "138/84 hr 72 spo2 98 rr 14 moaas 5 cadss 0"


def worked_session(
    service: Service, *, reviewed: bool = True, patient: str = "MRN-WORK", day: int = 0
) -> dict[str, int]:
    """:func:`build_worked_session`, built once and copied into each test's database that
    starts as the first did (tests/built.py)."""

    def build() -> dict[str, int]:
        return build_worked_session(service, reviewed=reviewed, patient=patient, day=day)

    return remembered(service, "worked session", build, reviewed, patient, day)


def build_worked_session(
    service: Service, *, reviewed: bool = True, patient: str = "MRN-WORK", day: int = 0
) -> dict[str, int]:
    """An esketamine session with a story worth reviewing (minutes after the dose): a missed
    +15 check explained at +50, nausea at +20, a high BP at +40 acknowledged 12 min after it
    was saved, a typo corrected, a reading of the wrong patient voided, a late entry, and a
    discharge by override at +110. ``reviewed``: then signed off by sam at +200, reopened at
    +210 and signed again at +220. ``day``: so many days after the test dose's day."""

    def when(minutes: float) -> Service:
        return with_clock(service, lambda: at(minutes + day * 24 * 60))

    ids: dict[str, int] = {}
    sid = when(-30).start_session(
        patient=patient,
        protocol="esketamine-84",
        by="ana",
        bay="Bay 2",
        age=52,
        meds=(),
        first_treatment=False,
        dose_number=5,
        lot="L42",
    )
    ids["session"] = sid
    ids["baseline"] = when(-10).record_reading(sid, FULL, by="ana").id
    when(0).record_dose(sid, by="ana")
    when(20).add_event(
        sid, kind="adverse", by="ana", text="nauseous", type="nausea", severity="mild"
    )
    when(30).record_reading(sid, "moaas 5 spo2 97", by="ana")
    high = when(41).record_reading(
        sid, "184/102 hr 92 spo2 96 rr 16 moaas 5 cadss 2", by="ana", measured_at=when(40).now()
    )
    ids["high"] = high.id
    serious = [f.id for f in high.flags if f.severity.needs_action]
    when(53).acknowledge_many(serious, by="ana", action="rechecked, prescriber informed")
    when(50).skip_check(sid, "+15 min", by="ana", reason="patient asleep")
    when(55).record_reading(sid, "136/86 hr 78 spo2 97", by="ana")
    ids["typo"] = when(60).record_reading(sid, "moaas 5 spo2 99", by="ana").id
    ids["correction"] = when(62).amend(ids["typo"], "spo2 97", by="ana", reason="typo: 97").id
    ids["wrong"] = when(70).record_reading(sid, "92/60 hr 70", by="bo").id
    when(72).void(ids["wrong"], by="bo", reason="wrong patient")
    ids["late"] = when(105).record_reading(sid, FULL, by="ana", measured_at=when(90).now()).id
    when(110).discharge(
        sid,
        by="ana",
        override_reason="patient insisted on leaving, husband drives",
        escort="husband",
        instructions_given=True,
        cosign="sam",
    )
    if reviewed:
        when(200).sign(sid, by="sam", pin="9999")
        when(210).reopen(sid, by="sam", reason="SpO2 correction to check")
        when(220).sign(sid, by="sam", pin="9999")
    return ids


def _log(service: Service, sid: int) -> tuple[SessionView, list[LogEntry]]:
    view = service.session(sid)
    return view, session_log(view, service.audit(sid))


def _find(entries: list[LogEntry], kind: EntryKind, text: str) -> LogEntry:
    found = [e for e in entries if e.kind is kind and text in e.text]
    assert len(found) == 1, (kind, text, [e.text for e in entries])
    return found[0]


def _reading(entries: list[LogEntry], reading_id: int) -> LogEntry:
    found = [e for e in entries if e.kind is EntryKind.READING and e.reading_id == reading_id]
    assert len(found) == 1, reading_id
    return found[0]


def test_the_log_tells_a_worked_session_in_time_order(service):
    ids = worked_session(service)
    _, entries = _log(service, ids["session"])
    moments = [e.at for e in entries]
    assert moments == sorted(moments)
    kinds = [e.kind for e in entries]
    # The story's outline, in order.
    assert kinds[0] is EntryKind.SESSION
    assert kinds[-3:] == [EntryKind.SIGN, EntryKind.REOPEN, EntryKind.SIGN]
    dose = _find(entries, EntryKind.DOSE, "Dose given")
    assert dose.at == DOSED and dose.by == "ana" and "dosing gate met" in dose.text
    baseline = _reading(entries, ids["baseline"])
    assert "before dosing" in baseline.text
    assert entries.index(baseline) < entries.index(dose)
    headlines = [e.headline for e in entries]
    assert headlines.index("Adverse event: nausea (mild): nauseous") < headlines.index(
        f"#{ids['high']} 184/102 hr 92 spo2 96 rr 16 moaas 5 cadss 2"
    )


def test_the_high_flag_says_how_many_minutes_it_waited(service):
    ids = worked_session(service)
    _, entries = _log(service, ids["session"])
    reading = _reading(entries, ids["high"])
    assert reading.at == at(40)
    assert "!!! SBP 184" in reading.text
    assert "acknowledged by ana 09:53, after 12 min: " in reading.text
    acks = [e for e in entries if e.kind is EntryKind.ACK and e.reading_id == ids["high"]]
    assert acks and all(e.at == at(53) for e in acks)
    assert all("Acknowledged after 12 min: rechecked, prescriber informed" in e.text for e in acks)
    assert any("!!! SBP 184" in e.text for e in acks)


def test_a_correction_strikes_the_original_and_says_who_when_why(service):
    ids = worked_session(service)
    _, entries = _log(service, ids["session"])
    original = _reading(entries, ids["typo"])
    correction = _reading(entries, ids["correction"])
    assert not original.in_force and correction.in_force
    assert Part("spo2 99 moaas 5", Role.STRUCK) in original.lines[0]
    assert f"corrected by #{ids['correction']}" in original.text
    assert Part("spo2 97 moaas 5", Role.STRONG) in correction.lines[0]
    assert f"correction of #{ids['typo']} by ana at 10:02: typo: 97" in correction.text
    # The correction follows its original at once (both at the measurement's time).
    assert entries.index(correction) == entries.index(original) + 1


def test_a_void_and_a_late_entry_are_marked(service):
    ids = worked_session(service)
    _, entries = _log(service, ids["session"])
    wrong = _reading(entries, ids["wrong"])
    assert Part("92/60 hr 70", Role.STRUCK) in wrong.lines[0]
    assert "VOIDED by bo at 10:12: wrong patient" in wrong.text
    assert not wrong.in_force
    late = _reading(entries, ids["late"])
    assert late.at == at(90)
    assert "LATE ENTRY: saved 10:45, 15 min after it was measured" in late.text


def test_checks_missed_with_their_reason_and_done_late(service):
    ids = worked_session(service)
    _, entries = _log(service, ids["session"])
    missed = _find(entries, EntryKind.CHECK, "Check +15 min")
    assert missed.at == at(15)
    assert "Check +15 min: missed, due 09:15" in missed.text
    assert "not done: patient asleep (ana, 09:50)" in missed.text
    done = _find(entries, EntryKind.CHECK, "Check +30 min")
    assert "Check +30 min: done, due 09:30" in done.text
    assert _find(entries, EntryKind.CHECK, "Baseline check").at == at(-10)
    # Discharged by override at +110, before the minimum observation and before the +120
    # check was due (its window opens at +115): the observation ended early.
    never = _find(entries, EntryKind.CHECK, "Check +120 min")
    assert "Check +120 min: observation ended early (override), due 11:00" in never.text
    assert "discharged before it was due" not in never.text
    assert never.at == at(110)


def test_the_discharge_by_override_with_its_stored_gate_escort_and_instructions(service):
    ids = worked_session(service)
    _, entries = _log(service, ids["session"])
    out = _find(entries, EntryKind.DISCHARGE, "Discharged")
    assert out.at == at(110) and out.by == "ana"
    text = out.text
    assert (
        "gate NOT met, OVERRIDDEN by ana, co-signed by sam: patient insisted on leaving, "
        "husband drives" in text
    )
    assert "OBSERVATION ENDED EARLY: before the minimum observation" in text
    assert "escort: husband" in text
    assert "no-driving instruction given: yes" in text
    assert "gate stored at discharge: not ready" in text
    assert "[ ] " in text  # the failing conditions, as stored


def test_every_sign_off_and_reopening_with_name_time_and_meaning(service):
    ids = worked_session(service)
    _, entries = _log(service, ids["session"])
    signs = [e for e in entries if e.kind is EntryKind.SIGN]
    assert [e.text for e in signs] == [
        "Signed off: reviewed by sam at 12:20",
        "Signed off: reviewed by sam at 12:40",
    ]
    reopen = _find(entries, EntryKind.REOPEN, "reopened")
    assert reopen.by == "sam" and "SpO2 correction to check" in reopen.text


def test_without_the_audit_who_did_what_comes_from_the_view(service):
    """Revision 3: the view carries every sign-off and who dosed, so the log tells them
    without the audit rows."""
    ids = worked_session(service)
    view = service.session(ids["session"])
    entries = session_log(view)
    signs = [e.text for e in entries if e.kind is EntryKind.SIGN]
    assert signs == [
        "Signed off: reviewed by sam at 12:20",
        "Signed off: reviewed by sam at 12:40",
    ]
    assert _find(entries, EntryKind.DOSE, "Dose given").by == "ana"


def test_a_dose_given_by_override_names_the_reason_and_the_unmet_conditions(service):
    when = with_clock(service, lambda: at(-20))
    sid = when.start_session(patient="MRN-OVR", protocol="ketamine-im", by="ana", age=40)
    with_clock(service, lambda: at(0)).record_dose(
        sid, by="bo", override_reason="agitated, prescriber dosed without baseline", cosign="sam"
    )
    _, entries = _log(service, sid)
    dose = _find(entries, EntryKind.DOSE, "Dose given")
    assert dose.by == "bo"  # who gave the dose, not who started the session
    assert (
        "dosing gate OVERRIDDEN by bo, co-signed by sam: agitated, prescriber dosed without "
        "baseline" in dose.text
    )
    assert "[ ] " in dose.text  # why the gate was not met, as audited
    # The override is its own fact: it never marks the baseline check (issue #19, item 9).
    baseline = _find(entries, EntryKind.CHECK, "Baseline check")
    assert "agitated" not in baseline.text and baseline.by != "ana"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_active_session_has_a_log_too(service):
    sid = with_clock(service, lambda: at(-5)).start_session(
        patient="MRN-NEW", protocol="ketamine-im", by="ana", age=40
    )
    _, entries = _log(service, sid)
    assert [e.kind for e in entries] == [EntryKind.SESSION]
    assert "Session opened for MRN-NEW" in entries[0].text
    assert entries[0].at == DOSED - timedelta(minutes=5)
