"""The exports word the notes the story tells (monitor.present.record.reading_notes), in its
order: the PDF's notes cell and FHIR's Observation notes say the same things of a reading, and
the PDF words an event written late as it does a late reading."""

from __future__ import annotations

from monitor.export.fhir import observations
from monitor.export.pdf_text import notes_cell
from monitor.present.record import clock as hm
from monitor.services import Service, with_clock
from tests.helpers import at
from tests.present.test_sessionlog import FULL


def test_a_late_correction_later_voided(service):
    """A correction saved 15 min after the measurement is no late entry (revision 3: it
    carries its own who, when and why); one that adds a measure its original lacked is."""

    def when(minutes: float) -> Service:
        return with_clock(service, lambda: at(minutes))

    sid = when(-30).start_session(patient="P1", protocol="esketamine-56", by="ana", age=40, meds=())
    first = when(-20).record_reading(sid, FULL, by="ana")
    when(0).record_dose(sid, by="ana")
    typo = when(30).record_reading(sid, "spo2 99", by="ana")
    fixed = when(45).amend(typo.id, "spo2 97", by="ana", reason="typo")
    when(50).void(fixed.id, by="sam", reason="wrong patient")
    view = service.session(sid)
    reading = view.reading(fixed.id)
    assert reading is not None
    assert notes_cell(reading) == (
        f"corrects #{typo.id}: typo; VOIDED by sam {hm(at(50))}: wrong patient"
    )
    (spo2,) = observations(view, reading)
    assert [n["text"] for n in spo2["note"]] == [
        f"corrects reading {typo.id}: typo",
        f"voided (entered in error) by sam at {at(50).isoformat()}: wrong patient",
    ]
    baseline = view.reading(first.id)
    assert baseline is not None and notes_cell(baseline) == "before dosing"
    assert "note" not in observations(view, baseline)[0]
    other = when(60).record_reading(sid, "spo2 98", by="ana")
    adds = when(75).amend(other.id, "spo2 98 hr 70", by="ana", reason="pulse was taken too")
    added = service.session(sid).reading(adds.id)
    assert added is not None and added.late_entry
    assert notes_cell(added).startswith(f"LATE ENTRY, saved {hm(at(75))}; corrects #{other.id}")


def test_a_correction_that_adds_a_measure_is_a_late_entry(service):
    """Revision 3: a correction that adds a measure its original lacked is a late entry."""

    def when(minutes: float) -> Service:
        return with_clock(service, lambda: at(minutes))

    sid = when(-30).start_session(patient="P1", protocol="esketamine-56", by="ana", age=40, meds=())
    when(-20).record_reading(sid, FULL, by="ana")
    when(0).record_dose(sid, by="ana")
    typo = when(30).record_reading(sid, "spo2 99", by="ana")
    fixed = when(45).amend(typo.id, "spo2 97 hr 70", by="ana", reason="HR was on paper")
    reading = service.session(sid).reading(fixed.id)
    assert reading is not None
    assert (
        notes_cell(reading)
        == f"LATE ENTRY, saved {hm(at(45))}; corrects #{typo.id}: HR was on paper"
    )


def test_an_event_written_late_says_so_as_a_late_reading_does(service):
    """The PDF's events: a note written more than 10 min after it happened carries the late
    entry's note in the readings' words; one written within 10 min carries none."""
    from monitor.export.pdf_text import event_cell

    sid = with_clock(service, lambda: at(-30)).start_session(
        patient="P2", protocol="ketamine-im", by="ana"
    )
    late = with_clock(service, lambda: at(25)).add_event(
        sid, kind="note", by="ana", text="patient asleep", at=at(10)
    )
    prompt = with_clock(service, lambda: at(30)).add_event(
        sid, kind="note", by="ana", text="awake", at=at(20)
    )
    assert event_cell(late) == f"patient asleep [LATE ENTRY, saved {hm(at(25))}]"
    assert event_cell(prompt) == "awake"
