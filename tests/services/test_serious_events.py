"""Serious events' alarms and clinician co-signature at the service level, both backends
(docs/clinical.md, "Serious events"; docs/interface.md, "Who is acting")."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from monitor.core.rules import Severity
from monitor.errors import PermissionDenied, Refused
from monitor.services.alarms import event_alarms
from monitor.store import models as m
from tests.helpers import at

OK = "120/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0"


@pytest.fixture
def dosed(service, clock) -> int:
    """An esketamine session dosed at the test's dose time, the clock at +30."""
    clock.set(at(-20))
    sid = service.start_session(patient="P1", protocol="esketamine-84", by="ana", age=52, meds=())
    clock.set(at(-5))
    service.record_reading(sid, OK, by="ana")
    clock.set(at(0))
    service.record_dose(sid, by="ana")
    clock.set(at(30))
    return sid


def acknowledgements(service) -> list[tuple]:
    with service.engine.connect() as connection:
        return [
            tuple(r)
            for r in connection.execute(
                text("SELECT flag_id, by_id, cosigned_by_id, action FROM acknowledgements")
            )
        ]


def alarms_of(service, sid: int):
    with service._read() as session:
        return event_alarms(session, [sid])


@pytest.mark.parametrize(
    ("kind", "type_", "severity", "serious", "expected"),
    [
        ("adverse", "dizziness", "moderate", True, Severity.HIGH),
        ("adverse", "headache", "severe", False, Severity.HIGH),
        ("adverse", "suicidal-thoughts", "mild", False, Severity.HIGH),
        ("intervention", "oxygen", None, None, Severity.HIGH),
        ("intervention", "antihypertensive", None, None, Severity.MEDIUM),
    ],
)
def test_a_serious_event_is_saved_with_its_alarm(
    service, clock, dosed, kind, type_, severity, serious, expected
):
    event = service.add_event(
        dosed, kind=kind, type=type_, severity=severity, serious=serious, by="ana", text="x"
    )
    alarm = event.alarm
    assert alarm is not None
    assert (alarm.severity, alarm.rule, alarm.measure) == (expected, "serious-event", "event")
    assert (alarm.event_id, alarm.reading_id, alarm.raised_by) == (event.id, None, "event")
    assert alarm.raised_at == at(30)
    assert f"serious event {event.id}" in alarm.message
    assert not alarm.acknowledged
    with service.engine.connect() as connection:
        row = connection.execute(
            select(m.Flag.reading_id, m.Flag.event_id, m.Flag.raised_by, m.Flag.severity).where(
                m.Flag.id == alarm.id
            )
        ).one()
    assert tuple(row) == (None, event.id, "event", expected.value)
    # Audited with its event, in the same transaction.
    [audit] = [a for a in service.audit(dosed) if a.action == f"event.{kind}"]
    assert json.loads(audit.after or "{}")["alarm"]["flag"] == alarm.id
    # Read back by event id.
    assert alarms_of(service, dosed) == {event.id: alarm}


def test_events_that_are_not_serious_open_no_alarm(service, dosed):
    for kwargs in (
        {"kind": "note"},
        {"kind": "adverse", "type": "nausea", "severity": "moderate", "serious": False},
        {"kind": "intervention", "type": "antiemetic"},
        {"kind": "intervention", "type": "other"},
    ):
        assert service.add_event(dosed, by="ana", text="x", **kwargs).alarm is None
    assert alarms_of(service, dosed) == {}
    with service.engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM flags")).scalar_one() == 0


def test_only_a_clinician_acknowledges_a_serious_event(service, clock, dosed):
    service.add_user("kim", "supervisor", "5555", by="sam")
    oxygen = service.add_event(dosed, kind="intervention", type="oxygen", by="ana", text="2 L")
    flag_id = oxygen.alarm.id
    clock.set(at(35))
    refusals = {
        "needs a clinician": {"by": "ana"},
        "the co-signer must be a supervisor, and bo is not": {"by": "ana", "cosign": "bo"},
        "the co-signer must be another user than sam": {"by": "sam", "cosign": "sam"},
        "unknown user 'nobody'": {"by": "ana", "cosign": "nobody"},
    }
    for said, kwargs in refusals.items():
        assert said in _message(service, flag_id, **kwargs)
    assert acknowledgements(service) == []

    done = service.acknowledge(flag_id, by="ana", action="sats 97 on air", cosign="kim")
    assert (done.acknowledged_by, done.cosigned_by, done.action) == ("ana", "kim", "sats 97 on air")
    assert done.event_id == oxygen.id
    alarm = alarms_of(service, dosed)[oxygen.id]
    assert (alarm.acknowledged_by, alarm.cosigned_by, alarm.acknowledged_at) == (
        "ana",
        "kim",
        at(35),
    )
    audit = [a for a in service.audit(dosed) if a.action == "flag.acknowledge"]
    assert json.loads(audit[-1].after or "{}")["cosigned_by"] == "kim"
    assert json.loads(audit[-1].after or "{}")["event"] == oxygen.id


def _message(service, flag_id: int, **kwargs) -> str:
    with pytest.raises(Refused) as refused:
        service.acknowledge(flag_id, action="x", **kwargs)
    return str(refused.value)


def test_a_supervisor_acknowledges_alone(service, dosed):
    event = service.add_event(
        dosed, kind="adverse", type="suicidal-thoughts", severity="mild", by="ana", text="voiced"
    )
    done = service.acknowledge(event.alarm.id, by="sam", action="assessed, safe to continue")
    assert (done.acknowledged_by, done.cosigned_by) == ("sam", None)
    assert alarms_of(service, dosed)[event.id].acknowledged


def test_a_before_dosing_flag_needs_a_clinician_and_an_after_dosing_one_does_not(service, clock):
    clock.set(at(-20))
    sid = service.start_session(patient="P2", protocol="esketamine-84", by="ana", age=52, meds=())
    clock.set(at(-5))
    high = service.record_reading(sid, "156/96 hr 70 spo2 98 moaas 5 cadss 0", by="ana")
    assert high.before_dosing and high.flags
    message = _message(service, high.flags[0].id, by="ana")
    assert f"flag {high.flags[0].id} (a before-dosing flag) needs a clinician" in message
    assert acknowledgements(service) == []
    done = service.acknowledge_many(
        [f.id for f in high.flags], by="ana", action="reviewed", cosign="sam"
    )
    assert {f.cosigned_by for f in done} == {"sam"}
    view = service.session(sid)
    assert {f.cosigned_by for f in view.readings[0].flags} == {"sam"}
    clock.set(at(0))
    service.record_dose(sid, by="ana")
    clock.set(at(40))
    after = service.record_reading(sid, "85/50 hr 70", by="ana")
    done = service.acknowledge(after.flags[0].id, by="bo", action="legs raised")
    assert (done.acknowledged_by, done.cosigned_by) == ("bo", None)


def test_a_set_with_one_flag_needing_a_clinician_is_refused_whole_naming_it(service, clock, dosed):
    low_bp = service.record_reading(dosed, "85/50 hr 70", by="ana")
    event = service.add_event(
        dosed, kind="adverse", type="other", severity="severe", by="ana", text="chest pain"
    )
    ids = [low_bp.flags[0].id, event.alarm.id]
    with pytest.raises(PermissionDenied, match=f"flag {event.alarm.id} "):
        service.acknowledge_many(ids, by="ana", action="seen")
    assert acknowledgements(service) == []  # the ordinary flag was not acknowledged either
    done = service.acknowledge_many(ids, by="ana", action="seen by Dr K", cosign="sam")
    assert [(f.id, f.cosigned_by) for f in done] == [(i, "sam") for i in ids]


def test_a_disabled_co_signer_is_refused(service, dosed):
    service.add_user("old", "supervisor", "7777", by="sam")
    service.disable_user("old", by="sam")
    event = service.add_event(dosed, kind="intervention", type="oxygen", by="ana", text="2 L")
    with pytest.raises(PermissionDenied, match="disabled"):
        service.acknowledge(event.alarm.id, by="ana", action="x", cosign="old")
    with pytest.raises(Refused, match="name or PIN not accepted"):
        service.authenticate("old", "7777")
    assert acknowledgements(service) == []


def test_the_alarm_cannot_be_rewritten_in_sql(service, dosed):
    event = service.add_event(dosed, kind="intervention", type="oxygen", by="ana", text="2 L")
    service.acknowledge(event.alarm.id, by="ana", action="sats fine", cosign="sam")
    for sql in (
        "UPDATE flags SET severity = 'low' WHERE event_id IS NOT NULL",
        "UPDATE flags SET event_id = NULL",
        "DELETE FROM flags WHERE event_id IS NOT NULL",
        "UPDATE acknowledgements SET cosigned_by_id = NULL",
        "DELETE FROM acknowledgements",
    ):
        with pytest.raises(Exception, match="append-only"), service.engine.begin() as c:
            c.execute(text(sql))
    alarm = alarms_of(service, dosed)[event.id]
    assert (alarm.severity, alarm.cosigned_by) == (Severity.HIGH, "sam")
