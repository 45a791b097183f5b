"""Has anything changed? The newest audit id on both databases, and PostgreSQL's notification
of each change (migration 0006) that an idle station waits for."""

from __future__ import annotations

import threading

import pytest

from monitor.errors import PinRefused
from monitor.services import Service


def test_every_saved_change_moves_the_mark_and_reads_do_not(service: Service):
    assert service.can_listen() is (service.engine.dialect.name == "postgresql")
    before = service.change_mark()
    sid = service.start_session(patient="MRN-MARK", protocol="ketamine-im", by="ana", age=40)
    after_start = service.change_mark()
    assert after_start > before
    service.session(sid)
    service.active_sessions()
    assert service.change_mark() == after_start  # reading changes nothing
    service.record_reading(sid, "120/80 hr 70", by="ana")
    assert service.change_mark() > after_start


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_postgresql_announces_each_change_to_a_listening_station(service: Service):
    assert service.can_listen()
    heard = threading.Event()
    listening = threading.Event()
    stop = threading.Event()

    def run() -> None:
        service.listen(heard.set, stop, ready=listening.set)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert listening.wait(60), "the listener did not start"
        assert not heard.is_set()
        sid = service.start_session(patient="MRN-HEAR", protocol="ketamine-im", by="ana", age=40)
        assert heard.wait(60), "no notification of the new session"
        heard.clear()
        service.record_reading(sid, "120/80 hr 70", by="ana")
        assert heard.wait(60), "no notification of the new reading"
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive()


def test_the_floor_reads_again_only_the_sessions_changed_since_a_mark(service: Service):
    """`active_sessions_since` (the station's reload after a change): the sessions with an
    audit row after the mark, those not shown yet, every active id; ``None`` (read all) after
    a change of no one session, such as the clinic's rules."""
    a = service.start_session(patient="MRN-A", protocol="ketamine-im", by="ana", age=40)
    b = service.start_session(patient="MRN-B", protocol="ketamine-im", by="ana", age=41)
    mark = service.change_mark()
    shown = {a, b}
    unchanged = service.active_sessions_since(mark, shown)
    assert unchanged is not None and unchanged.views == [] and unchanged.active == [a, b]
    service.record_reading(b, "120/80 hr 70", by="ana")
    c = service.start_session(patient="MRN-C", protocol="ketamine-im", by="ana", age=42)
    changes = service.active_sessions_since(mark, shown)
    assert changes is not None
    assert changes.active == [a, b, c]
    assert [v.id for v in changes.views] == [b, c]
    assert changes.views[0].readings[-1].vitals.systolic == 120
    assert [v.id for v in service.active_sessions_since(mark, {a}).views] == [b, c]
    before = service.change_mark()
    with pytest.raises(PinRefused):  # audited on the user's row: nothing on the floor
        service.authenticate("bo", "0000")
    assert service.change_mark() > before
    assert service.active_sessions_since(before, {a, b, c}).views == []
    service.load_config("[discharge]\nspo2_min = 96\n", source="a.toml", by="sam", reason="x")
    assert service.active_sessions_since(mark, shown) is None
