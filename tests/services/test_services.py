"""The services on real SQLite and PostgreSQL: one transaction per action, with its audit row."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select, text

from monitor.errors import EntryError, GateNotMet, NotFound, PermissionDenied, Refused
from monitor.present.json import session_json
from monitor.store import models as m
from tests.helpers import DOSED, at

OK = "120/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0"


def counts(service) -> dict[str, int]:
    with service.engine.connect() as connection:
        return {
            table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
            for table in (
                "readings",
                "flags",
                "acknowledgements",
                "audit_log",
                "treatment_sessions",
            )
        }


def start(service, **kwargs) -> int:
    options = {
        "patient": "P1",
        "protocol": "esketamine-84",
        "by": "ana",
        "age": 52,
        "meds": (),
    } | kwargs
    if "dosed_at" in kwargs:  # dosed at the start (from paper): no baseline, so overridden
        options.setdefault("dose_override_reason", "entered from paper")
        options.setdefault("cosign", "sam")  # revision 3: an override needs a clinician
    return service.start_session(**options)


def test_record_reading_saves_reading_flags_and_audit_together(service, clock):
    sid = start(service)
    clock.set(at(-10))
    reading = service.record_reading(sid, "185/95 hr 80", by="ana")
    assert reading.recorded_by == "ana"
    assert reading.measured_at == at(-10)
    assert reading.measured_at.tzinfo is not None
    assert reading.before_dosing
    assert {f.rule for f in reading.flags} == {
        "systolic.high.above",
        "bp.predose.systolic",
        "bp.predose.diastolic",
    }
    trail = service.audit(sid)
    assert [a.action for a in trail] == ["session.start", "reading.record"]
    assert trail[-1].user == "ana"


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s, sid: s.record_reading(sid, "hr 400", by="ana"), EntryError),
        (lambda s, sid: s.record_reading(sid, "pulse 80", by="ana"), EntryError),
        (lambda s, sid: s.record_reading(sid, OK, by="nobody"), NotFound),
        (lambda s, sid: s.record_reading(sid + 99, OK, by="ana"), NotFound),
        (
            lambda s, sid: s.record_reading(
                sid, OK, by="ana", measured_at=s.now() + timedelta(minutes=3)
            ),
            EntryError,
        ),
        (lambda s, sid: s.acknowledge(999, by="ana", action="x"), NotFound),
        (lambda s, sid: s.amend(999, "hr 80", by="ana", reason="typo"), NotFound),
        (
            lambda s, sid: s.discharge(sid, by="ana", escort="partner", instructions_given=True),
            GateNotMet,
        ),
        (lambda s, sid: s.sign(sid, by="sam", pin="9999"), Refused),
        (lambda s, sid: s.start_session(patient="P2", protocol="nope", by="ana"), Refused),
    ],
)
def test_refusals_save_nothing(service, call, error):
    sid = start(service)
    before = counts(service)
    with pytest.raises(error):
        call(service, sid)
    assert counts(service) == before


def test_measurement_two_minutes_ahead_is_accepted(service, clock):
    sid = start(service)
    reading = service.record_reading(sid, OK, by="ana", measured_at=clock() + timedelta(minutes=2))
    assert reading.measured_at == clock() + timedelta(minutes=2)


def test_reading_saved_before_the_dose_is_recorded_is_before_dosing(service, clock):
    sid = start(service)
    clock.set(at(5))
    early = service.record_reading(sid, "150/80", by="ana", measured_at=at(-3))
    assert early.before_dosing
    assert {f.rule for f in early.flags} == {"bp.predose.systolic"}
    service.record_dose(sid, by="ana", at=at(0), override_reason="reviewed by Dr A", cosign="sam")
    later = service.record_reading(sid, "150/80", by="ana", measured_at=at(4))
    assert not later.before_dosing
    assert later.flags == ()  # rise vs baseline 150 is 0


def test_rise_is_against_the_latest_pre_dose_value(service, clock):
    sid = start(service)
    clock.set(at(-20))
    service.record_reading(sid, "118/70", by="ana", measured_at=at(-25))
    service.record_reading(sid, "124/78", by="ana", measured_at=at(-20))
    clock.set(at(0))
    service.record_dose(sid, by="ana", override_reason="baseline BP only", cosign="sam")
    clock.set(at(40))
    reading = service.record_reading(sid, "164/103 hr 80", by="ana")
    assert {f.rule for f in reading.flags} == {"bp.rise.systolic", "bp.rise.diastolic"}


def test_dose_twice_or_after_discharge_is_refused(service, clock):
    sid = start(service, dosed_at=at(-30))
    with pytest.raises(Refused, match="already dosed"):
        service.record_dose(sid, by="ana")


def test_amend_keeps_the_original_and_links_the_correction(service, clock):
    sid = start(service)
    original = service.record_reading(sid, "182/90 hr 70", by="ana")
    fixed = service.amend(original.id, "128/90", by="ana", reason="typed 182 for 128")
    assert fixed.corrects == original.id
    assert fixed.vitals.systolic == 128
    assert fixed.vitals.heart_rate == 70  # unnamed measures keep their values
    assert fixed.reason == "typed 182 for 128"
    view = service.session(sid)
    old = next(r for r in view.readings if r.id == original.id)
    assert old.superseded_by == fixed.id
    assert old.vitals.systolic == 182
    assert [f.rule for f in old.flags] == ["systolic.high.above", "bp.predose.systolic"]
    # A correction never clears an alarm: the original's flags stay open until acknowledged.
    assert [f.id for f in view.open_flags()] == [f.id for f in old.flags]
    amend = service.audit(sid)[-1]
    assert (amend.action, amend.reason) == ("reading.amend", "typed 182 for 128")
    assert '"systolic": 182' in amend.before and '"systolic": 128' in amend.after
    with pytest.raises(Refused, match="already corrected"):
        service.amend(original.id, "hr 71", by="ana", reason="again")


def test_nurse_amends_only_her_own_readings_and_nobody_after_sign_off(service, clock):
    sid = start(service, dosed_at=at(-30))
    reading = service.record_reading(sid, OK, by="ana")
    with pytest.raises(PermissionDenied):
        service.amend(reading.id, "hr 72", by="bo", reason="x")
    by_super = service.amend(reading.id, "hr 72", by="sam", reason="device said 72")
    assert by_super.recorded_by == "sam"
    mine = service.record_reading(sid, OK, by="ana")
    service.discharge(
        sid,
        by="ana",
        override_reason="test",
        escort="partner",
        instructions_given=True,
        cosign="sam",
    )
    # After discharge a supervisor corrects or voids (revision 3), the nurse no longer.
    with pytest.raises(PermissionDenied, match="discharged: a supervisor corrects"):
        service.amend(mine.id, "hr 75", by="ana", reason="x")
    service.sign(sid, by="sam", pin="9999")
    with pytest.raises(Refused, match="signed off"):
        service.amend(mine.id, "hr 75", by="sam", reason="x")


def test_acknowledge_records_who_when_and_what(service, clock):
    sid = start(service)
    reading = service.record_reading(sid, "85/50", by="ana")
    [flag] = [f for f in reading.flags if f.severity.value == "high"]
    clock.advance(2)
    done = service.acknowledge(flag.id, by="bo", action="legs raised, fluids", cosign="sam")
    assert (done.acknowledged_by, done.action, done.acknowledged_at, done.cosigned_by) == (
        "bo",
        "legs raised, fluids",
        clock(),
        "sam",
    )
    with pytest.raises(Refused, match="already acknowledged"):
        service.acknowledge(flag.id, by="ana", action="again")
    with pytest.raises(EntryError):
        service.acknowledge(reading.flags[-1].id, by="ana", action="  ")


def full_session(service, clock) -> int:
    sid = start(service)
    clock.set(at(-5))
    service.record_reading(sid, OK, by="ana")
    clock.set(at(0))
    service.record_dose(sid, by="ana")
    clock.set(at(40))
    high = service.record_reading(sid, "182/96 hr 84 spo2 97 moaas 4 cadss 6", by="ana")
    clock.set(at(43))
    for f in high.flags:
        if f.severity.needs_action:
            service.acknowledge(f.id, by="ana", action="rechecked, informed prescriber")
    clock.set(at(55))
    service.record_reading(sid, "150/88 hr 76", by="ana")
    clock.set(at(90))
    service.record_reading(sid, OK, by="ana")
    clock.set(at(118))
    service.record_reading(sid, OK, by="ana")
    return sid


def test_discharge_when_gate_met_stores_rems_minute(service, clock):
    sid = full_session(service, clock)
    clock.set(at(119))
    with pytest.raises(GateNotMet) as refused:
        service.discharge(sid, by="ana", escort="partner", instructions_given=True)
    assert refused.value.reasons == [
        "minimum observation of 120 min after dosing not reached (119 min since dosing)"
    ]
    clock.set(at(121))
    view = service.discharge(sid, by="ana", escort="partner", instructions_given=True)
    assert view.status == "discharged"
    assert view.override_reason is None
    # From +90 on, every condition but the minimum and the pre-discharge check held.
    assert (view.ready_minute_proposed, view.ready_minute, view.ready_minute_by) == (90, 90, "ana")
    assert view.stored_gate is not None and view.stored_gate.ready is True
    assert service.session(sid).discharged_at == at(121)
    # revision 3: after discharge, only a reading measured before it is taken (marked)
    clock.set(at(125))
    with pytest.raises(EntryError, match="after the discharge"):
        service.record_reading(sid, OK, by="ana")
    late = service.record_reading(sid, OK, by="ana", measured_at=at(120))
    assert late.measured_at == at(120)
    shown = next(r for r in service.session(sid).readings if r.id == late.id)
    assert shown.entered_after_discharge


def test_override_needs_a_reason_and_stays_visible(service, clock):
    sid = start(service, dosed_at=at(-30))
    with pytest.raises(EntryError, match="empty"):
        service.discharge(
            sid,
            by="ana",
            override_reason="   ",
            escort="partner",
            instructions_given=True,
            cosign="sam",
        )
    view = service.discharge(
        sid,
        by="ana",
        override_reason="patient left against advice",
        escort="partner",
        instructions_given=True,
        cosign="sam",
    )
    assert view.override_reason == "patient left against advice"
    assert view.gate.reasons  # the unmet conditions stay on the record
    entry = service.audit(sid)[-1]
    assert (entry.action, entry.reason) == ("session.discharge", "patient left against advice")
    shown = session_json(service.session(sid))["discharge"]
    assert shown["override_reason"] == "patient left against advice"


def test_sign_off_supervisors_only_with_their_pin(service, clock):
    sid = start(service, dosed_at=at(-30))
    service.discharge(
        sid,
        by="ana",
        override_reason="test",
        escort="partner",
        instructions_given=True,
        cosign="sam",
    )
    with pytest.raises(PermissionDenied, match="only a supervisor"):
        service.sign(sid, by="ana", pin="1234")
    with pytest.raises(PermissionDenied, match="name or PIN not accepted"):
        service.sign(sid, by="sam", pin="0000")
    view = service.sign(sid, by="sam", pin="9999")
    assert (view.signed_by, view.signed_at) == ("sam", clock())
    with pytest.raises(Refused, match="already signed"):
        service.sign(sid, by="sam", pin="9999")


def test_users_pin_is_hashed_and_checked(service):
    with service.engine.connect() as connection:
        stored = connection.execute(select(m.User.pin_hash).where(m.User.name == "ana")).scalar()
    # SQLite: scrypt under the clinic's secret; PostgreSQL: kept where only it reads (`*`).
    expected = "scrypt-hmac$" if service.engine.dialect.name == "sqlite" else "*"
    assert stored.startswith(expected) and "1234" not in stored
    assert service.authenticate("ana", "1234").role == "nurse"
    with pytest.raises(PermissionDenied):
        service.authenticate("ana", "4321")
    with pytest.raises(Refused, match="already exists"):
        service.add_user("ana", "nurse", "1111", by="sam")
    with pytest.raises(EntryError, match="4 to 12 digits"):
        service.add_user("cy", "nurse", "12", by="sam")


def test_session_json_has_the_interface_shape(service, clock):
    sid = full_session(service, clock)
    data = session_json(service.session(sid))
    assert set(data) >= {
        "id",
        "patient",
        "protocol",
        "dose_mg",
        "age",
        "dosed_at",
        "status",
        "readings",
        "checks",
        "discharge",
        "review",
    }
    assert data["dose_mg"] == 84 and data["protocol"] == "esketamine-84"
    assert data["dosed_at"] == DOSED.isoformat()
    reading = data["readings"][1]
    assert set(reading) >= {
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
        "superseded_by",
        "flags",
    }
    assert reading["measured_at"].endswith("+00:00")
    flag = reading["flags"][0]
    assert set(flag) >= {"id", "measure", "severity", "rule", "message", "acknowledged"}
    check = data["checks"][0]
    assert set(check) >= {"label", "due_at", "measures", "status", "late"}
    assert data["discharge"]["ready"] is False
    assert data["review"] == {
        "signed_by": None,
        "signed_at": None,
        "reopened": [],
        "signoffs": [],
        "rems_changed_after_discharge": [],
        "history": [],
    }


def test_active_sessions_and_list(service, clock):
    first = start(service, patient="A")
    second = start(service, patient="B", protocol="ketamine-iv", dosed_at=at(-30))
    service.discharge(
        first,
        by="ana",
        override_reason="left",
        escort="partner",
        instructions_given=True,
        cosign="sam",
    )
    assert [v.id for v in service.active_sessions()] == [second]
    listed = service.list_sessions()
    assert [(s.id, s.status) for s in listed] == [(second, "active"), (first, "discharged")]


def test_times_come_back_aware_utc(service, clock):
    sid = start(service)
    view = service.session(sid)
    assert view.started_at.tzinfo is not None
    assert view.started_at.utcoffset() == timedelta(0)
    assert view.started_at == clock().astimezone(UTC)


APPEND_ONLY_SQL = [
    "UPDATE readings SET systolic = 100",
    "DELETE FROM readings",
    "UPDATE flags SET severity = 'low'",
    "DELETE FROM flags",
    "UPDATE acknowledgements SET action = 'x'",
    "DELETE FROM acknowledgements",
    "UPDATE audit_log SET action = 'x'",
    "DELETE FROM audit_log",
]


@pytest.mark.parametrize("sql", APPEND_ONLY_SQL)
def test_database_itself_refuses_changing_the_record(service, clock, sql):
    sid = start(service)
    reading = service.record_reading(sid, "85/50", by="ana")
    service.acknowledge(reading.flags[0].id, by="sam", action="fluids")
    before = counts(service)
    with pytest.raises(Exception, match="append-only"), service.engine.begin() as connection:
        connection.execute(text(sql))
    assert counts(service) == before
    with service.engine.connect() as connection:
        assert connection.execute(select(func.max(m.Reading.systolic))).scalar() == 85
