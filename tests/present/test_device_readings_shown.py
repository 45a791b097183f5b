"""A bedside monitor's reading as the station words it (docs/devices.md, "Validation"): on the
floor marked ``?`` with its flag while it awaits a nurse, the row saying there is something to
validate (``m?``); in the session log "from monitor NAME, not validated", then "validated by";
and, validated, shown as any reading."""

from __future__ import annotations

from datetime import timedelta

from monitor.core.rules import Severity
from monitor.present.floor import (
    awaiting_validation,
    floor_row,
    latest_values,
    pending_line,
    shown_values,
    source_words,
)
from monitor.present.parts import Role
from monitor.present.session import session_log
from tests.helpers import DOSED, at

HIGH_BP = {"systolic": 185, "diastolic": 100, "heart_rate": 88, "spo2": 97, "resp_rate": 14}


def dosed_with_device_reading(service, clock):
    clock.set(DOSED - timedelta(minutes=20))
    sid = service.start_session(
        patient="MRN-DEV1", protocol="ketamine-im", by="ana", bay="Bay 1", age=40
    )
    service.record_reading(sid, "128/82 hr 74 spo2 98 rr 14 moaas 5 cadss 0", by="ana")
    clock.set(DOSED)
    service.record_dose(sid, by="ana")
    service.add_device("MP5-001", bay="Bay 1", by="sam")
    clock.set(at(15))
    sent = service.record_from_device(
        "MP5-001", HIGH_BP, measured_at=at(15), message_id="MSG-1", by="ana"
    )
    return sid, sent.recorded.reading.id


def test_a_pending_reading_shows_marked_with_its_alarm_and_the_row_says_validate(service, clock):
    sid, reading_id = dosed_with_device_reading(service, clock)
    view = service.session(sid)
    cells = shown_values(view)
    assert cells["bp"].shown == "185/100?" and cells["bp"].severity is Severity.HIGH
    assert cells["hr"].shown == "88?" and cells["rr"].shown == "14?"
    assert cells["moaas"].shown == "5" and not cells["moaas"].pending  # the nurse's, typed
    assert latest_values(view)["bp"].text == "128/82"  # what counts: the typed baseline
    row = floor_row(view, at(16))
    assert row.alarm is Severity.HIGH and row.marked and row.to_validate == 1
    assert row.ready_part.text == "m?" and row.ready_part.role is Role.WARN
    (pending,) = awaiting_validation(view)
    assert pending.id == reading_id
    assert pending_line(pending).endswith("185/100 hr 88 spo2 97 rr 14  (MP5-001)")
    assert source_words(pending) == "from monitor MP5-001, not validated"
    entry = next(e for e in session_log(view) if e.reading_id == reading_id)
    assert "from monitor MP5-001, not validated" in entry.text
    assert entry.lines[0][1].role is Role.STRONG  # not struck: it stands, not counted yet


def test_validated_it_shows_as_any_reading_and_says_who_validated(service, clock):
    sid, reading_id = dosed_with_device_reading(service, clock)
    service.validate_readings([reading_id], by="ana")
    view = service.session(sid)
    cells = shown_values(view)
    assert cells["bp"].shown == "185/100" and not cells["bp"].pending
    row = floor_row(view, at(16))
    assert not row.marked and row.to_validate == 0 and row.ready_part.text != "m?"
    reading = view.reading(reading_id)
    assert reading is not None
    words = source_words(reading)
    assert words is not None and words.startswith("from monitor MP5-001, validated by ana ")
    entry = next(e for e in session_log(view) if e.reading_id == reading_id)
    assert words in entry.text


def test_a_rejected_reading_leaves_the_floor_and_a_typed_one_has_no_source_words(service, clock):
    sid, reading_id = dosed_with_device_reading(service, clock)
    service.void(reading_id, by="ana", reason="artefact: cuff moved")
    view = service.session(sid)
    assert shown_values(view)["bp"].shown == "128/82"
    assert not awaiting_validation(view)
    typed = next(r for r in view.readings if r.id != reading_id)
    assert source_words(typed) is None
