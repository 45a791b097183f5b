"""Who is acting: the PIN on every action, one refusal for every cause, each refusal audited,
the lockout, user management, and a signed session closed until reopened (both backends)."""

from __future__ import annotations

import json

import pytest

from monitor.errors import EntryError, PermissionDenied, Refused
from monitor.present.json import session_json
from monitor.services import Service
from tests.helpers import at

OK = "120/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0"
NOT_ACCEPTED = "name or PIN not accepted"


def refusals(service) -> list[str]:
    return [a.after for a in service.audit() if a.action == "auth.refused"]


def test_unknown_user_and_wrong_pin_get_the_same_refusal_and_both_are_audited(service):
    with pytest.raises(PermissionDenied) as unknown:
        service.authenticate("nobody", "1234")
    with pytest.raises(PermissionDenied) as wrong:
        service.authenticate("ana", "0000")
    assert str(unknown.value) == str(wrong.value) == NOT_ACCEPTED
    assert len(refusals(service)) == 2
    assert service.authenticate("ana", "1234").name == "ana"


def test_five_refusals_in_a_row_lock_until_unlocked_or_expired(service, clock):
    for _ in range(5):
        with pytest.raises(PermissionDenied, match=NOT_ACCEPTED):
            service.authenticate("ana", "0000")
    with pytest.raises(PermissionDenied, match=NOT_ACCEPTED):
        service.authenticate("ana", "1234")  # the right PIN, but locked
    assert len(refusals(service)) == 6
    service.unlock_user("ana", by="sam")
    assert service.authenticate("ana", "1234").name == "ana"
    for _ in range(5):
        with pytest.raises(PermissionDenied):
            service.authenticate("ana", "0000")
    clock.advance(14.9)
    with pytest.raises(PermissionDenied):
        service.authenticate("ana", "1234")
    clock.advance(0.2)
    assert service.authenticate("ana", "1234").name == "ana"


def test_a_success_resets_the_count(service):
    for _ in range(4):
        with pytest.raises(PermissionDenied):
            service.authenticate("ana", "0000")
    service.authenticate("ana", "1234")
    for _ in range(4):
        with pytest.raises(PermissionDenied):
            service.authenticate("ana", "0000")
    assert service.authenticate("ana", "1234").name == "ana"


def test_the_first_user_is_a_supervisor_and_only_supervisors_add_users(db_url, clock):
    fresh = Service.open(db_url, clock=clock)
    try:
        if fresh.has_users():
            pytest.skip("the fixture database already has users")
        with pytest.raises(PermissionDenied, match="first user"):
            fresh.add_user("ana", "nurse", "1234")
        fresh.add_user("sam", "supervisor", "9999")
        with pytest.raises(PermissionDenied, match="supervisor"):
            fresh.add_user("ana", "nurse", "1234")
        fresh.add_user("ana", "nurse", "1234", by="sam")
        with pytest.raises(PermissionDenied, match="may not add users"):
            fresh.add_user("bo", "supervisor", "2345", by="ana")
    finally:
        fresh.close()


def test_a_disabled_user_cannot_sign_in_or_act(service, clock):
    service.disable_user("bo", by="sam")
    with pytest.raises(PermissionDenied, match=NOT_ACCEPTED):
        service.authenticate("bo", "2345")
    with pytest.raises(PermissionDenied, match="disabled"):
        service.start_session(patient="P", protocol="ketamine-im", by="bo")
    assert "bo" not in {u.name for u in service.users()}
    with pytest.raises(PermissionDenied, match="not a supervisor"):
        service.disable_user("sam", by="ana")


def test_set_pin_own_or_by_a_supervisor(service):
    service.set_pin("ana", "4321", by="ana")
    assert service.authenticate("ana", "4321")
    with pytest.raises(PermissionDenied, match="own PIN"):
        service.set_pin("bo", "1111", by="ana")
    service.set_pin("bo", "1111", by="sam")
    assert service.authenticate("bo", "1111")
    with pytest.raises(EntryError, match="4 to 12 digits"):
        service.set_pin("ana", "12", by="ana")


def test_a_wrong_pin_at_sign_off_is_refused_counted_and_audited(service, clock):
    sid = service.start_session(patient="P", protocol="ketamine-im", by="ana")
    service.discharge(
        sid,
        by="ana",
        override_reason="left",
        escort="partner",
        instructions_given=True,
        cosign="sam",
    )
    with pytest.raises(PermissionDenied, match=NOT_ACCEPTED):
        service.sign(sid, by="sam", pin="0000")
    with pytest.raises(PermissionDenied, match=NOT_ACCEPTED):
        service.sign(sid, by="nobody", pin="0000")
    with pytest.raises(PermissionDenied, match="only a supervisor"):
        service.sign(sid, by="ana", pin="1234")
    assert len(refusals(service)) == 2


def test_a_signed_session_is_closed_until_a_supervisor_reopens_it(service, clock):
    clock.set(at(-40))
    sid = service.start_session(patient="P", protocol="ketamine-im", by="ana")
    clock.set(at(-5))
    reading = service.record_reading(sid, "85/50 hr 95", by="ana")  # SBP high, HR low
    high, flag = sorted(reading.flags, key=lambda f: -f.severity.rank)
    clock.set(at(0))
    service.discharge(
        sid,
        by="ana",
        override_reason="left",
        escort="partner",
        instructions_given=True,
        cosign="sam",
    )
    # revision 3: sign-off waits for every medium or high flag (a low one does not hold it)
    with pytest.raises(Refused, match="1 unacknowledged alarm"):
        service.sign(sid, by="sam", pin="9999")
    # a before-dosing flag: its acknowledgement is a clinician's review (revision 3)
    service.acknowledge(high.id, by="ana", action="rechecked by hand, 110/70", cosign="sam")
    service.sign(sid, by="sam", pin="9999")
    for attempt in (
        lambda: service.acknowledge(flag.id, by="ana", action="x"),
        lambda: service.amend(reading.id, "hr 71", by="sam", reason="x"),
        lambda: service.void(reading.id, by="sam", reason="x"),
        lambda: service.add_event(sid, kind="note", by="ana", text="x"),
    ):
        with pytest.raises(Refused, match="signed off"):
            attempt()
    with pytest.raises(PermissionDenied, match="only a supervisor"):
        service.reopen(sid, by="ana", reason="x")
    with pytest.raises(EntryError):
        service.reopen(sid, by="sam", reason="  ")
    clock.set(at(10))
    view = service.reopen(sid, by="sam", reason="acknowledgement missing")
    assert (view.signed_by, view.signed_at) == (None, None)
    with pytest.raises(Refused, match="not signed off"):
        service.reopen(sid, by="sam", reason="again")
    service.acknowledge(flag.id, by="sam", action="rechecked, informed")
    clock.set(at(20))
    view = service.sign(sid, by="sam", pin="9999")
    assert (view.signed_by, view.signed_at) == ("sam", at(20))
    review = session_json(view)["review"]
    assert review["reopened"] == [
        {"by": "sam", "at": at(10).isoformat(), "reason": "acknowledgement missing"}
    ]
    listed = {s.id: s.signed for s in service.list_sessions()}
    assert listed[sid] is True


def test_a_user_disabled_elsewhere_stops_recording_at_once(service, clock):
    sid = service.start_session(patient="P", protocol="ketamine-im", by="bo")
    service.record_reading(sid, "120/80", by="bo")  # this station has recorded as bo before
    other_station = Service(service.engine, service.config, clock)
    other_station.disable_user("bo", by="sam")
    with pytest.raises(PermissionDenied, match="disabled"):
        service.record_reading(sid, "120/80", by="bo")


# -- issue 20: never lock the clinic out; no one-strike relock; no PIN kept in clear -----------


def _refuse_n(service, name: str, n: int) -> None:
    for _ in range(n):
        with pytest.raises(PermissionDenied, match=NOT_ACCEPTED):
            service.authenticate(name, "0000")


def test_a_lock_that_ended_needs_five_more_refusals_and_the_next_lasts_twice_as_long(
    service, clock
):
    _refuse_n(service, "ana", 5)  # locked 15 min
    clock.advance(15.1)
    _refuse_n(service, "ana", 4)  # the count started again: not locked yet
    assert service.authenticate("ana", "1234").name == "ana"
    _refuse_n(service, "ana", 5)
    clock.advance(15.1)
    _refuse_n(service, "ana", 5)  # a second lock in a row: 30 min
    clock.advance(29.9)
    with pytest.raises(PermissionDenied):
        service.authenticate("ana", "1234")
    clock.advance(0.2)
    assert service.authenticate("ana", "1234").name == "ana"
    whys = [json.loads(a.after)["why"] for a in service.audit() if a.action == "auth.refused"]
    assert "wrong PIN; locked for 15 min" in whys and "wrong PIN; locked for 30 min" in whys


def test_the_last_supervisors_lock_never_grows(service, clock):
    for _ in range(3):
        _refuse_n(service, "sam", 5)
        clock.advance(15.1)
    assert service.authenticate("sam", "9999").name == "sam"


def test_the_last_active_supervisor_cannot_be_disabled(service):
    with pytest.raises(Refused, match="last active supervisor"):
        service.disable_user("sam", by="sam")
    service.add_user("cy", "supervisor", "5555", by="sam")
    service.disable_user("sam", by="cy")
    with pytest.raises(Refused, match="last active supervisor"):
        service.disable_user("cy", by="cy")


def test_the_owner_recovers_a_supervisor_with_a_new_pin_audited(service):
    _refuse_n(service, "sam", 5)
    recovered = service.recover_user("sam", "7777")
    assert recovered.role == "supervisor"
    assert service.authenticate("sam", "7777").name == "sam"
    service.recover_user("dee", "8888")  # a new name: added as a supervisor
    assert service.authenticate("dee", "8888").role == "supervisor"
    rows = [a for a in service.audit() if a.action == "user.recover"]
    assert [r.user for r in rows] == [None, None]


def test_a_pin_typed_as_the_name_is_never_kept(service):
    with pytest.raises(PermissionDenied):
        service.authenticate("4821", "0000")
    kept = [a.after for a in service.audit() if a.action == "auth.refused"]
    assert "4821" not in str(kept)
    assert json.loads(kept[-1])["name"].startswith("(not kept")
