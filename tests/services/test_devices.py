"""Bedside monitors in the services (docs/devices.md), on both backends: the register of
devices and bays, a device's reading saved at once with its flags but counting for no check
until a nurse validates it, resends, and what is refused with nothing saved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from monitor.errors import EntryError, KeyConflictError, NotFound, PermissionDenied, Refused
from monitor.present.floor import latest_values
from tests.helpers import DOSED, at

HIGH_BP = {"systolic": 185, "diastolic": 100, "heart_rate": 88, "spo2": 97, "resp_rate": 14}
CALM = {"systolic": 128, "diastolic": 84, "heart_rate": 76, "spo2": 97, "resp_rate": 14}


def dosed_in_bay(service, clock, bay="Bay 1", patient="MRN-DEV1") -> int:
    clock.set(DOSED - timedelta(minutes=20))
    sid = service.start_session(patient=patient, protocol="ketamine-im", by="ana", bay=bay, age=40)
    service.record_reading(sid, "128/82 hr 74 spo2 98 rr 14 moaas 5 cadss 0", by="ana")
    clock.set(DOSED)
    service.record_dose(sid, by="ana")
    return sid


def count(service, table: str) -> int:
    with service.engine.connect() as c:
        return c.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_a_supervisor_registers_moves_and_disables_devices_each_audited(service):
    added = service.add_device("MP5-001", bay="Bay 1", by="sam")
    assert (added.name, added.bay) == ("MP5-001", "Bay 1")
    moved = service.move_device("MP5-001", bay="Bay 2", by="sam")
    assert moved.bay == "Bay 2"
    assert service.disable_device("MP5-001", by="sam").bay is None
    assert [(d.name, d.bay) for d in service.devices()] == [("MP5-001", None)]
    with service.engine.connect() as c:
        actions = c.execute(
            text("SELECT action FROM audit_log WHERE entity = 'device' ORDER BY id")
        ).scalars()
        assert list(actions) == ["device.add", "device.move", "device.disable"]


def test_only_a_supervisor_changes_the_register_and_names_are_unique(service):
    with pytest.raises(PermissionDenied, match="supervisors"):
        service.add_device("MP5-001", bay="Bay 1", by="ana")
    service.add_device("MP5-001", bay="Bay 1", by="sam")
    with pytest.raises(EntryError, match="registered already"):
        service.add_device("MP5-001", bay="Bay 3", by="sam")
    with pytest.raises(NotFound, match="no device named"):
        service.move_device("nope", bay="Bay 1", by="sam")
    with pytest.raises(EntryError, match="bay"):
        service.add_device("MP5-002", bay="\x00", by="sam")
    assert count(service, "devices") == 1 and count(service, "device_bays") == 1


def test_a_device_reading_alarms_at_once_and_counts_only_once_validated(service, clock):
    sid = dosed_in_bay(service, clock)
    service.add_device("MP5-001", bay="bay 1", by="sam")  # bays match whatever their case
    clock.set(at(15))
    sent = service.record_from_device(
        "MP5-001", HIGH_BP, measured_at=at(15), message_id="MSG-1", by="ana"
    )
    assert sent.session_id == sid and not sent.again
    reading = sent.recorded.reading
    assert reading.source == "device MP5-001"
    assert any(f.severity.value == "high" for f in reading.flags)  # the alarm, at once
    view = service.session(sid)
    shown = next(r for r in view.readings if r.id == reading.id)
    assert shown.awaits_validation and not shown.in_force and shown.served_check is None
    assert latest_values(view)["bp"].text == "128/82"  # the typed baseline still
    assert any(not f.acknowledged for f in shown.flags)  # the alarm stands meanwhile

    assert service.validate_readings([reading.id], by="ana") == [reading.id]
    view = service.session(sid)
    shown = next(r for r in view.readings if r.id == reading.id)
    assert shown.in_force and shown.validated_by == "ana" and shown.validated_at is not None
    assert latest_values(view)["bp"].text == "185/100"  # it counts now
    with pytest.raises(EntryError, match="validated already"):
        service.validate_readings([reading.id], by="ana")


def test_a_resent_message_saves_nothing_twice_and_another_content_is_refused(service, clock):
    dosed_in_bay(service, clock)
    service.add_device("MP5-001", bay="Bay 1", by="sam")
    clock.set(at(16))
    first = service.record_from_device(
        "MP5-001", CALM, measured_at=at(15), message_id="42", by="ana"
    )
    again = service.record_from_device(
        "MP5-001", CALM, measured_at=at(15), message_id="42", by="ana"
    )
    assert again.again and again.recorded.reading.id == first.recorded.reading.id
    with pytest.raises(KeyConflictError, match="new control id"):
        service.record_from_device(
            "MP5-001", {**CALM, "systolic": 129}, measured_at=at(15), message_id="42", by="ana"
        )
    # Another device may use the same control id.
    service.add_device("MP5-002", bay="Bay 2", by="sam")
    dosed_in_bay(service, clock, bay="Bay 2", patient="MRN-DEV2")
    clock.set(at(16))
    other = service.record_from_device(
        "MP5-002", CALM, measured_at=at(15), message_id="42", by="ana"
    )
    assert other.recorded.reading.id != first.recorded.reading.id


def test_what_a_device_may_not_send_is_refused_with_nothing_saved(service, clock):
    dosed_in_bay(service, clock)
    clock.set(at(16))
    before = count(service, "readings")
    with pytest.raises(NotFound, match="unknown device"):
        service.record_from_device("ghost", CALM, measured_at=at(15), message_id="1", by="ana")
    service.add_device("MP5-001", bay="Bay 9", by="sam")
    with pytest.raises(NotFound, match="no patient in observation in bay Bay 9"):
        service.record_from_device("MP5-001", CALM, measured_at=at(15), message_id="1", by="ana")
    service.move_device("MP5-001", bay="Bay 1", by="sam")
    with pytest.raises(EntryError):  # impossible
        service.record_from_device(
            "MP5-001", {**CALM, "spo2": 150}, measured_at=at(15), message_id="2", by="ana"
        )
    with pytest.raises(EntryError, match="nurse's entry"):
        service.record_from_device(
            "MP5-001", {"moaas": 5}, measured_at=at(15), message_id="3", by="ana"
        )
    with pytest.raises(Refused):  # in the future
        service.record_from_device("MP5-001", CALM, measured_at=at(60), message_id="4", by="ana")
    service.disable_device("MP5-001", by="sam")
    with pytest.raises(Refused, match="disabled"):
        service.record_from_device("MP5-001", CALM, measured_at=at(15), message_id="5", by="ana")
    assert count(service, "readings") == before


def test_only_a_device_reading_awaiting_a_nurse_is_validated(service, clock):
    sid = dosed_in_bay(service, clock)
    service.add_device("MP5-001", bay="Bay 1", by="sam")
    clock.set(at(16))
    typed = service.record_reading(sid, "130/80", by="ana")
    with pytest.raises(EntryError, match="typed by a nurse"):
        service.validate_readings([typed.id], by="ana")
    sent = service.record_from_device(
        "MP5-001", CALM, measured_at=at(15), message_id="9", by="ana"
    ).recorded.reading
    service.void(sent.id, by="ana", reason="artefact: cuff moved")
    with pytest.raises(EntryError, match="voided"):
        service.validate_readings([sent.id], by="ana")
    with pytest.raises(NotFound):
        service.validate_readings([999_999], by="ana")
    assert count(service, "validations") == 0


def test_any_nurse_voids_a_monitors_reading_as_an_artefact(service, clock):
    dosed_in_bay(service, clock)
    service.add_device("MP5-001", bay="Bay 1", by="sam")
    clock.set(at(16))
    sent = service.record_from_device(  # saved as the listener's user, sam
        "MP5-001", HIGH_BP, measured_at=at(15), message_id="A-1", by="sam"
    ).recorded.reading
    voided = service.void(sent.id, by="ana", reason="artefact: the cuff slipped")
    assert voided.voided is not None and voided.voided.by == "ana"


def test_a_message_naming_another_bed_goes_to_the_registered_bay_and_says_so(service, clock):
    """The register's bay wins over PV1-3; the ACK and one log line say when PV1-3 names
    another bay (docs/devices.md, "A device's reading")."""
    from datetime import UTC

    from monitor.hl7 import build_oru, parse_ack
    from monitor.ingest.handler import Handler

    sid = dosed_in_bay(service, clock)
    service.add_device("MP5-001", bay="Bay 1", by="sam")
    clock.set(at(20))
    logs: list[str] = []
    handler = Handler(service, by="ana", local_zone=UTC, log=logs.append)

    def send(bed: str, control: str) -> tuple[str, str]:
        message = build_oru(CALM, device="MP5-001", bay="Bay 1", control_id=control, at=at(15))
        assert "|^^Bay 1\r" in message
        message = message.replace("|^^Bay 1\r", f"|{bed}\r")
        code, _, said = parse_ack(handler.handle(message))
        return code, said

    for n, agreeing in enumerate(("^^Bay 1", "KETAMINE^3^bay1", "1", "KETAMINE^Bay 1^A", "")):
        code, said = send(agreeing, f"same-{n}")
        assert code == "AA" and "the message names" not in said, (agreeing, said)
    assert logs == []
    code, said = send("ICU^^Bay 3", "other")
    assert code == "AA"
    assert said.endswith(
        f"(session {sid}) as reading {said.split('reading ')[1].split(',')[0]}, awaiting a "
        "nurse's validation: no flag; the message names bed ICU/Bay 3, the register says bay "
        "Bay 1"
    ), said
    assert logs == [
        "message other from MP5-001: the message names bed ICU/Bay 3, the register says bay Bay 1"
    ]
    with service.engine.connect() as c:
        sessions = c.execute(text("SELECT session_id FROM readings WHERE device_id IS NOT NULL"))
        assert set(sessions.scalars()) == {sid}  # all saved in the registered bay
    # A resend says it again (the register is read again for each message).
    code, said = send("ICU^^Bay 3", "other")
    assert "(sent before: saved once); the message names bed ICU/Bay 3" in said
