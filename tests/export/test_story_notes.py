"""The exports word the notes the story tells (monitor.present.record.reading_notes), in its
order: the PDF's notes cell and FHIR's Observation notes say the same things of a reading."""

from __future__ import annotations

from monitor.export.fhir import observations
from monitor.export.pdf_text import hm, notes_cell
from monitor.services import Service, with_clock
from tests.helpers import at
from tests.present.test_sessionlog import FULL


def test_a_late_correction_later_voided(service):
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
        f"LATE ENTRY, saved {hm(at(45))}; corrects #{typo.id}: typo; "
        f"VOIDED by sam {hm(at(50))}: wrong patient"
    )
    (spo2,) = observations(view, reading)
    assert [n["text"] for n in spo2["note"]] == [
        f"late entry: saved {at(45).isoformat()}",
        f"corrects reading {typo.id}: typo",
        f"voided (entered in error) by sam at {at(50).isoformat()}: wrong patient",
    ]
    baseline = view.reading(first.id)
    assert baseline is not None and notes_cell(baseline) == "before dosing"
    assert "note" not in observations(view, baseline)[0]
