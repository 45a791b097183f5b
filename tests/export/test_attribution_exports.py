"""Attribution in the exports (issue #19, item 9) on both backends: the CSV's new columns
(who acknowledged and co-signed each flag, how it was raised, entries after discharge; who
overrode a gate and who co-signed), a correction's late-entry mark as ``session show --json``
gives it, FHIR notes that say who and still validate, and the PDF telling who did what."""

from __future__ import annotations

from dataclasses import replace

from monitor.export import Selection, export
from monitor.export.csv_out import EVENT_COLUMNS, READING_COLUMNS
from monitor.export.fhir import bundle, flag_note, validate
from monitor.present.json import session_json
from monitor.services import Service, with_clock
from tests.export.test_export import expected_reading_rows, outdir, pdf_pages, read_csv
from tests.helpers import at
from tests.present.test_attribution import FULL, attributed_session

__all__ = ["outdir"]  # the fixture, used here by name

#: The columns revision 3 adds at the end of each CSV (docs/exports.md).
NEW_READING_COLUMNS = (
    "entered_after_discharge",
    "flags_acknowledged_by",
    "flags_cosigned_by",
    "flags_raised_by",
)


#: The columns issue 24 adds after them (tests/export/test_device_readings_export.py).
DEVICE_READING_COLUMNS = ("source", "validated_by", "validated_at")


def test_csv_columns_are_only_added_at_the_end():
    before_devices = READING_COLUMNS[: -len(DEVICE_READING_COLUMNS)]
    assert before_devices[: -len(NEW_READING_COLUMNS)][-3:] == (
        "highest_flag",
        "flags",
        "acknowledgements",
    )
    assert before_devices[-len(NEW_READING_COLUMNS) :] == NEW_READING_COLUMNS
    assert READING_COLUMNS[-len(DEVICE_READING_COLUMNS) :] == DEVICE_READING_COLUMNS
    assert EVENT_COLUMNS[15:17] == ("check", "cosigned_by")  # issue 22 adds flag_severity after


def test_csv_of_readings_says_who_and_marks_entries_after_discharge(service, outdir):
    ids = attributed_session(service)
    out = outdir / "readings.csv"
    export(service, Selection(ids=(ids["session"],)), "csv", out)
    rows = read_csv(out)
    shown = session_json(service.session(ids["session"]))
    assert rows == expected_reading_rows(shown)
    by_id = {int(r["reading_id"]): r for r in rows}
    after = by_id[ids["after"]]
    assert (after["entered_after_discharge"], after["late_entry"]) == ("yes", "yes")
    assert by_id[ids["full"]]["entered_after_discharge"] == "no"
    risen = by_id[ids["risen"]]
    assert risen["flags_raised_by"] == "baseline change\nbaseline change"
    assert risen["flags_acknowledged_by"] == "ana\nana"
    assert risen["flags_cosigned_by"] == "\n"
    assert by_id[ids["full"]]["flags_raised_by"] == ""


def test_a_correction_is_a_late_entry_in_the_csv_only_when_it_adds_a_measure(service, outdir):
    """The streamed CSV judges it from the rows as ReadingView.late_entry does: saved more
    than 10 min after the measurement, and for a correction only when it adds a measure its
    original lacked (docs/clinical.md, "Times")."""

    def when(minutes: float) -> Service:
        return with_clock(service, lambda: at(minutes))

    sid = when(-20).start_session(patient="MRN-FIX", protocol="ketamine-im", by="ana", age=40)
    when(-5).record_reading(sid, FULL, by="ana")
    when(0).record_dose(sid, by="ana")
    typo = when(20).record_reading(sid, "spo2 99 hr 80", by="ana")
    fixed = when(40).amend(typo.id, "spo2 97", by="ana", reason="typo")
    short = when(50).record_reading(sid, "spo2 97", by="ana")
    added = when(70).amend(short.id, "spo2 97 hr 75", by="ana", reason="pulse taken too")
    out = outdir / "fix.csv"
    export(service, Selection(ids=(sid,)), "csv", out)
    rows = read_csv(out)
    assert rows == expected_reading_rows(session_json(service.session(sid)))
    late = {int(r["reading_id"]): r["late_entry"] for r in rows}
    assert (late[fixed.id], late[added.id]) == ("no", "yes")


def test_csv_of_events_says_who_overrode_and_who_cosigned(service, outdir):
    ids = attributed_session(service)
    out = outdir / "events.csv"
    export(service, Selection(ids=(ids["session"],)), "csv", out, what="events")
    rows = read_csv(out)
    assert tuple(rows[0]) == EVENT_COLUMNS
    (dosing,) = [r for r in rows if r["kind"] == "dosing override"]
    assert (dosing["by"], dosing["cosigned_by"], dosing["text"]) == (
        "bo",
        "sam",
        "baseline cuff failed, prescriber present",
    )
    (discharge,) = [r for r in rows if r["kind"] == "discharge override"]
    assert (discharge["by"], discharge["cosigned_by"]) == ("ana", "sam")
    acks = [r for r in rows if r["kind"] == "acknowledgement"]
    assert acks and {(r["by"], r["cosigned_by"]) for r in acks} == {("ana", "")}
    assert {r["by"] for r in rows if r["kind"] == "note"} == {"bo"}


def test_fhir_says_who_and_still_validates(service):
    ids = attributed_session(service)
    view = service.session(ids["session"])
    data = bundle(view, at(300))
    validate(data)
    resources = {e["resource"]["id"]: e["resource"] for e in data["entry"]}
    after = resources[f"reading-{ids['after']}-spo2"]
    assert after["performer"] == [{"display": "ana"}]
    notes = [n["text"] for n in after["note"]]
    assert f"entered after discharge: saved {at(80).isoformat()} by ana" in notes
    risen = resources[f"reading-{ids['risen']}-bp"]
    assert any(
        n["text"].endswith(f"raised when the baseline changed at {at(25).isoformat()}")
        for n in risen["note"]
    )
    # A co-signed acknowledgement names the clinician; the bundle stays valid with it.
    reading = view.reading(ids["risen"])
    assert reading is not None
    signed = replace(reading, flags=tuple(replace(f, cosigned_by="sam") for f in reading.flags))
    assert "; co-signed by sam" in flag_note(signed.flags[0])
    readings = tuple(signed if r.id == signed.id else r for r in view.readings)
    validate(bundle(replace(view, readings=readings), at(300)))


def test_the_pdf_says_who_did_what(service, outdir):
    ids = attributed_session(service)
    out = outdir / "record.pdf"
    export(service, Selection(ids=(ids["session"],)), "pdf", out, clinic="Clinic")
    # The facts' cells wrap: each phrase below fits one line of its cell.
    whole = " ".join(" ".join(page.split()) for page in pdf_pages(out))
    for words in (
        "09:00 by bo (dosing gate",
        "overridden by bo, co-signed by sam:",
        "corrected by sam 2026-11-27 09:45",
        "pump log says 09:42",
        "overridden, co-signed by sam);",
        "Observation ended early",
        "Gate judged again on the record as it is now: NOT met",
        "Gate overridden by ana, co-signed by sam: transfer to the emergency department",
        "ENTERED AFTER DISCHARGE by ana",
        "(raised when the baseline changed) at",
        "meaning: reviewed (withdrawn)",
        "Sign-off withdrawn by sam",
        "dosing override co-signed by sam",
    ):
        assert words in whole, words
