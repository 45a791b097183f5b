"""A reading saved while its reply was lost is not duplicated by the retry (both backends)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from monitor.errors import EntryError, KeyConflictError, Refused
from monitor.store import models as m

OK = "120/80 hr 70 spo2 98"


def count(service) -> int:
    with service._read() as session:
        return session.scalar(select(func.count()).select_from(m.Reading))


def test_a_retry_with_the_same_key_returns_the_first_reading(service):
    sid = service.start_session(patient="P", protocol="ketamine-im", by="ana")
    first = service.record_reading(sid, OK, by="ana", key="entry-1")
    again = service.record_reading(sid, OK, by="ana", key="entry-1")
    assert again.id == first.id
    assert count(service) == 1
    assert service.record_reading(sid, OK, by="ana", key="entry-2").id != first.id


def test_a_reply_lost_after_the_commit_then_a_retry_saves_once(service, monkeypatch):
    sid = service.start_session(patient="P", protocol="ketamine-im", by="ana")

    class LostReplyError(Exception):
        pass

    real_action = service._plain_action  # recording a reading's transaction

    @contextmanager
    def committed_then_lost():
        with real_action() as connection:
            yield connection
        # COMMIT has returned: the reading is saved, but the caller never hears of it.
        raise LostReplyError("the connection dropped after COMMIT")

    monkeypatch.setattr(service, "_plain_action", committed_then_lost)
    with pytest.raises(LostReplyError):
        service.record_reading(sid, OK, by="ana", key="gw-77")
    monkeypatch.undo()
    assert count(service) == 1  # it was saved
    retried = service.record_reading(sid, OK, by="ana", key="gw-77")
    assert count(service) == 1  # and the retry did not duplicate it
    assert retried.vitals.systolic == 120


def test_a_key_is_bound_to_its_session_and_well_formed(service):
    one = service.start_session(patient="P", protocol="ketamine-im", by="ana")
    two = service.start_session(patient="Q", protocol="ketamine-im", by="ana")
    service.record_reading(one, OK, by="ana", key="k1")
    with pytest.raises(Refused, match="another session"):
        service.record_reading(two, OK, by="ana", key="k1")
    for bad in ("", "x" * 65, "with space", "é"):
        with pytest.raises(EntryError, match="key"):
            service.record_reading(one, OK, by="ana", key=bad)


# -- A key binds its content (issue #20, item 3; docs/interface.md, "Keys") -----------------
# The same key with the same entry is a retry: answered with the reading first saved. The same
# key with anything else is refused loudly: other readings must never be answered "already
# saved" while they are neither saved nor judged (no alarm for 190/120).

HIGH = "190/120 hr 150"


def flags(service) -> int:
    with service._read() as session:
        return session.scalar(select(func.count()).select_from(m.Flag))


def test_a_key_used_for_other_values_is_refused_and_saves_nothing(service):
    sid = service.start_session(patient="P", protocol="ketamine-im", by="ana")
    first = service.record_reading(sid, OK, by="ana", key="gw")
    for other in (HIGH, "120/80 hr 70", "120/80 hr 70 spo2 98 rr 14", "120/81 hr 70 spo2 98"):
        with pytest.raises(KeyConflictError, match=r"^key gw already used for different readings"):
            service.record_reading(sid, other, by="ana", key="gw")
    assert count(service) == 1 and flags(service) == 0  # nothing saved, no alarm pretended
    # A refusal is a refusal (exit 2 on the command line, a message at the station) ...
    assert issubclass(KeyConflictError, Refused)
    # ... and says what to do; the reading under the key is untouched, and still its retry's.
    with pytest.raises(KeyConflictError, match=r"\(other values\): use a new key"):
        service.record_reading(sid, HIGH, by="ana", key="gw")
    assert service.record_reading(sid, OK, by="ana", key="gw").id == first.id
    saved = service.record_reading(sid, HIGH, by="ana", key="gw-2")
    assert saved.id != first.id and saved.flags  # a new key saves it, and its alarms


def test_a_retry_without_a_time_matches_whenever_it_comes(service, clock):
    """ "now" is what the user gave, not an instant: the retry of a line without a time (or with
    `now`) is the same entry, however late the lost reply made it."""
    sid = service.start_session(patient="P", protocol="ketamine-im", by="ana")
    first = service.record_reading_once(sid, OK, by="ana", key="k-now")
    clock.advance(3)
    again = service.record_reading_once(sid, OK, by="ana", key="k-now")
    said_now = service.record_reading_once(sid, OK, by="ana", measured_at="now", key="k-now")
    assert (again.saved_now, said_now.saved_now) == (False, False)
    assert again.reading.id == said_now.reading.id == first.reading.id
    assert again.reading.measured_at == first.reading.measured_at  # the first time stays
    typed_now = service.record_reading_once(sid, OK, by="ana", measured_at="now", key="k-said")
    clock.advance(1)
    assert service.record_reading_once(sid, OK, by="ana", key="k-said").reading.id == (
        typed_now.reading.id
    )
    assert count(service) == 2


def test_a_relative_time_is_compared_as_typed_and_a_clock_time_as_its_instant(service, clock):
    sid = service.start_session(patient="P", protocol="ketamine-im", by="ana")
    ago = service.record_reading(sid, OK, by="ana", measured_at="5 min ago", key="k-ago")
    at = (clock() - timedelta(minutes=7)).isoformat()  # a clock time, with its offset
    fixed = service.record_reading(sid, OK, by="ana", measured_at=at, key="k-at")
    clock.advance(2)
    assert service.record_reading(sid, OK, by="ana", measured_at="5 min ago", key="k-ago").id == (
        ago.id
    )
    assert service.record_reading(sid, OK, by="ana", measured_at=at, key="k-at").id == fixed.id
    instant = fixed.measured_at  # an instant (what the station's entry line passes) is the same
    assert service.record_reading(sid, OK, by="ana", measured_at=instant, key="k-at").id == (
        fixed.id
    )
    refusals = [
        ("k-ago", "6 min ago"),  # another time as typed
        ("k-ago", None),  # now, where the first said 5 min ago
        ("k-ago", at),
        ("k-at", "now"),
        ("k-at", None),
        ("k-at", instant + timedelta(seconds=1)),
        ("k-at", (clock() - timedelta(minutes=8)).isoformat()),
    ]
    for key, when in refusals:
        with pytest.raises(KeyConflictError, match=r"\(another measurement time\)"):
            service.record_reading(sid, OK, by="ana", measured_at=when, key=key)
    now = service.record_reading(sid, OK, by="ana", key="k-now")
    clock.advance(1)
    for when in ("1 min ago", now.measured_at + timedelta(minutes=1)):
        with pytest.raises(KeyConflictError, match="another measurement time"):
            service.record_reading(sid, OK, by="ana", measured_at=when, key="k-now")
    assert count(service) == 3


def test_another_user_or_session_never_gets_a_reading_under_a_key_it_did_not_save(service):
    """A reading answered as "already saved" to another user would be attributed to them."""
    one = service.start_session(patient="P", protocol="ketamine-im", by="ana")
    two = service.start_session(patient="Q", protocol="ketamine-im", by="ana")
    service.record_reading(one, OK, by="ana", key="k1")
    with pytest.raises(KeyConflictError, match=r"\(a reading recorded by another user\)"):
        service.record_reading(one, OK, by="bo", key="k1")
    with pytest.raises(KeyConflictError, match=r"different readings \(a reading of another ses"):
        service.record_reading(two, OK, by="ana", key="k1")
    assert count(service) == 1


def test_a_corrected_or_voided_reading_still_answers_its_own_retry(service, clock):
    """The key is bound to what was sent, not to the reading in force after a correction."""
    sid = service.start_session(patient="P", protocol="ketamine-im", by="ana")
    first = service.record_reading(sid, OK, by="ana", key="k-amended")
    clock.advance(1)
    service.amend(first.id, "hr 72", by="ana", reason="misread")
    again = service.record_reading_once(sid, OK, by="ana", key="k-amended")
    assert (again.reading.id, again.saved_now) == (first.id, False)
    assert again.reading.superseded_by is not None
    with pytest.raises(KeyConflictError, match="other values"):
        service.record_reading(sid, "120/80 hr 72 spo2 98", by="ana", key="k-amended")
    voided = service.record_reading(sid, OK, by="ana", key="k-voided")
    service.void(voided.id, by="ana", reason="wrong patient")
    assert service.record_reading(sid, OK, by="ana", key="k-voided").id == voided.id
    assert count(service) == 3


@pytest.mark.parametrize(("entry", "answer"), [(OK, "the first reading"), (HIGH, "refused")])
def test_a_save_that_loses_the_race_for_its_key(service, monkeypatch, entry, answer):
    """Two saves with one key at once: the loser's insert meets the unique key; it is answered
    with the winner's reading only if it is the same entry, and refused otherwise."""
    sid = service.start_session(patient="P", protocol="ketamine-im", by="ana")
    winner = service.record_reading(sid, OK, by="ana", key="race")
    looked = service._keyed
    lookups: list[object] = []

    def committed_after_my_lookup(*args):
        # The winner commits between the loser's lookup (which finds nothing) and its insert.
        lookups.append(args)
        return None if len(lookups) == 1 else looked(*args)

    monkeypatch.setattr(service, "_keyed", committed_after_my_lookup)
    if answer == "refused":
        with pytest.raises(KeyConflictError, match="other values"):
            service.record_reading(sid, entry, by="ana", key="race")
    else:
        assert service.record_reading(sid, entry, by="ana", key="race").id == winner.id
    assert len(lookups) == 2  # the insert met the key, then the reading under it was read
    assert count(service) == 1 and flags(service) == 0
