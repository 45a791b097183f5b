"""Has anything changed? The newest audit id on both databases, and PostgreSQL's notification
of each change (migration 0006) that an idle station waits for."""

from __future__ import annotations

import threading

import pytest

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
