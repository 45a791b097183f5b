"""A reading saved while its reply was lost is not duplicated by the retry (both backends)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from monitor.errors import EntryError, Refused
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
