"""A session's record told once (monitor.present.record): its facts, each reading's notes, the
minutes monitored, the discharge and the review, which the PDF, FHIR and the log render."""

from __future__ import annotations

from monitor.present.parts import Role, local_minute, plain
from monitor.present.record import (
    Monitored,
    NoteKind,
    ReadingNote,
    clock,
    discharge_lines,
    instruction_text,
    monitored,
    note_texts,
    reading_notes,
    recorders,
    review_lines,
    session_facts,
)
from monitor.services import Service, with_clock
from monitor.views import ReadingView
from tests.helpers import at
from tests.present.test_sessionlog import FULL, worked_session


def test_the_facts_of_a_worked_session(service):
    ids = worked_session(service)
    view = service.session(ids["session"])
    facts = dict(session_facts(view))
    assert list(facts) == [
        "Patient",
        "Protocol",
        "Dose",
        "Lot",
        "First treatment",
        "Dose number",
        "Age / weight",
        "Bay",
        "Medication",
        "Started",
        "Dosed",
        "Infusion end",
        "Discharged",
        "Monitored",
        "Rules version",
    ]
    assert facts["Patient"] == "MRN-WORK"
    assert facts["Dose"] == "84 mg" and facts["Lot"] == "L42"
    assert (facts["First treatment"], facts["Dose number"]) == ("no", "5")
    assert facts["Age / weight"] == "52 / -" and facts["Medication"] == "none"
    assert facts["Started"] == f"{local_minute(at(-30))} by ana"
    assert facts["Dosed"] == f"{local_minute(at(0))} by ana"
    assert facts["Discharged"] == (
        f"{local_minute(at(110))} by ana (gate overridden, co-signed by sam); "
        "observation ended early"
    )
    # From dosing to the discharge at +110 (revision 3: the baseline before dosing does not count).
    assert facts["Monitored"] == "1 h 50 min"
    assert facts["Rules version"] == "1"
    assert recorders(view) == (
        "started by ana; dosed by ana; readings by ana, bo; flags acknowledged by ana, bo; "
        "events by ana; discharged by ana; discharge override co-signed by sam; "
        "signed off by sam"
    )


#: The worked session's readings (tests.present.test_sessionlog.worked_session).
WORKED_READINGS = ("baseline", "typo", "correction", "wrong", "late", "high")


def worked_readings(service) -> tuple[dict[str, int], dict[str, ReadingView]]:
    """The worked session's ids, and its readings by name."""
    ids = worked_session(service)
    view = service.session(ids["session"])
    readings = {key: view.reading(ids[key]) for key in WORKED_READINGS}
    assert None not in readings.values()
    return ids, {key: r for key, r in readings.items() if r is not None}


def test_each_readings_notes_told_once(service):
    ids, readings = worked_readings(service)

    def notes(key: str) -> tuple[ReadingNote, ...]:
        return reading_notes(readings[key])

    assert [n.kind for n in notes("baseline")] == [NoteKind.BEFORE_DOSING]
    assert notes("typo") == (ReadingNote(NoteKind.SUPERSEDED, other=ids["correction"]),)
    (correction,) = notes("correction")
    assert correction == ReadingNote(NoteKind.CORRECTS, at(62), "ana", "typo: 97", ids["typo"])
    assert notes("wrong") == (ReadingNote(NoteKind.VOIDED, at(72), "bo", "wrong patient"),)
    assert notes("late") == (ReadingNote(NoteKind.LATE, at(105)),)
    assert notes("high") == ()


def test_each_readings_notes_worded_once(service):
    """The command line and the PDF word a reading's notes alike (record.NOTE_TEXT)."""
    ids, readings = worked_readings(service)

    def texts(key: str) -> tuple[str, ...]:
        return note_texts(readings[key])

    assert texts("baseline") == ("before dosing",)
    assert texts("typo") == (f"corrected: superseded by #{ids['correction']}",)
    assert texts("correction") == (f"corrects #{ids['typo']}: typo: 97",)
    assert texts("wrong") == (f"VOIDED by bo {clock(at(72))}: wrong patient",)
    assert texts("late") == (f"LATE ENTRY, saved {clock(at(105))}",)
    assert clock(None) == "-" and clock(at(0)) == at(0).astimezone().strftime("%H:%M")
    assert [instruction_text(g) for g in (True, False, None)] == [
        "given",
        "NOT given",
        "not recorded",
    ]


def test_minutes_monitored_count_from_dosing(service, clock):
    """One figure (core.gate.minutes_monitored) for the PDF, the story and the REMS form, from
    dosing (revision 3): no reading before dosing, voided or in force, counts."""

    def when(minutes: float) -> Service:
        return with_clock(service, lambda: at(minutes))

    sid = when(-40).start_session(patient="P1", protocol="esketamine-56", by="ana", age=40, meds=())
    wrong = when(-30).record_reading(sid, FULL, by="ana")
    when(-29).void(wrong.id, by="ana", reason="wrong patient")
    assert monitored(when(-20).session(sid)) == Monitored(None, True)
    assert monitored(when(-20).session(sid)).text == "-"
    when(-10.5).record_reading(sid, FULL, by="ana")
    when(0).record_dose(sid, by="ana")
    assert monitored(when(-5).session(sid)) == Monitored(None, True)  # baseline, not dosed
    ongoing = monitored(when(30).session(sid))
    assert ongoing == Monitored(30, True) and ongoing.text == "30 min so far"
    when(124).discharge(
        sid,
        by="ana",
        override_reason="left early",
        escort="son",
        instructions_given=True,
        cosign="sam",
    )
    done = monitored(service.session(sid))
    assert done == Monitored(124, False) and done.text == "2 h 04 min"
    rems = service.rems(sid)
    assert rems.minutes_monitored == done.minutes


def test_the_discharge_and_review_lines(service):
    ids = worked_session(service)
    view = service.session(ids["session"])
    lines = discharge_lines(view)
    texts = [plain(line) for line in lines]
    assert texts[0] == f"Discharged {local_minute(at(110))} by ana."
    # Overridden before the 120-min minimum: the observation ended early.
    assert texts[1] == "Observation ended early (before the minimum observation)."
    assert texts[2] == "Gate at discharge: NOT met:" and lines[2][0].role is Role.ALERT
    assert view.stored_gate is not None
    reasons = [f"  - {r}" for r in view.stored_gate.reasons]
    assert texts[3 : 3 + len(reasons)] == reasons
    minute = view.ready_minute
    assert minute is not None
    assert texts[3 + len(reasons) :] == [
        "Gate overridden by ana, co-signed by sam: patient insisted on leaving, husband drives",
        "Escort: husband",
        "No-driving instruction: given",
        # revision 3: from the BP back to normal at +55 (the acknowledgement at +53 and the
        # void at +72 do not move it)
        "REMS ready to leave at: minute 55 by ana (proposed: minute 55)",
    ]
    review = [plain(line) for line in review_lines(view)]
    # Every sign-off, the withdrawn one too, then the one in force (last, the verdict).
    assert review == [
        f"Signed by sam at {local_minute(at(200))}; meaning: reviewed (withdrawn)",
        f"Sign-off withdrawn by sam at {local_minute(at(210))}: SpO2 correction to check",
        f"Signed by sam at {local_minute(at(220))}; meaning: reviewed",
    ]


def test_an_active_session_is_not_yet_reviewed_and_its_gate_is_as_of_now(service):
    ids = worked_session(service, reviewed=False, patient="MRN-OPEN")
    view = service.session(ids["session"])
    (verdict,) = review_lines(view)
    assert plain(verdict) == "NOT YET REVIEWED" and verdict[0].role is Role.ALERT
    sid = service.start_session(patient="P2", protocol="ketamine-iv", by="ana", dose_mg=36)
    first = plain(discharge_lines(service.session(sid))[0])
    assert first.startswith("Not discharged. Gate as of ") and first.endswith("not ready:")
