"""The station under a stream of changes made elsewhere (issue #24, a bedside monitors'
gateway): a change on a quiet floor is read at once; under a stream, one reload at a time and
at most one each STALE_RELOAD_GAP_SECONDS, the last change always shown; and what a loaded row
shows that does not depend on the moment is worked out in the load's worker, not on the event
loop; a reading read again unchanged keeps its object (docs/station.md, "Keeping up to
date")."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from monitor.services import Service
from tests.station import build_floor, settle, sign_in, station
from tui.floor.load import same_readings
from tui.floor.pacing import STALE_RELOAD_GAP_SECONDS
from tui.watcher import FloorStale

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def signed_in_and_quiet(pilot) -> None:
    """Signed in, and the first load's gap over: the next change is read at once."""
    await sign_in(pilot)
    await pilot.pause(STALE_RELOAD_GAP_SECONDS + 0.05)


def counted_reloads(app) -> list[float]:
    """When each reload of ``app`` started (monotonic)."""
    started: list[float] = []
    reload = app.refresh_floor

    def counted() -> None:
        started.append(time.monotonic())
        reload()

    app.refresh_floor = counted
    return started


async def test_a_change_on_a_quiet_floor_is_read_at_once(service):
    ids = build_floor(service)
    app = station(service, refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in_and_quiet(pilot)
        started = counted_reloads(app)
        elsewhere = Service(service.engine)
        elsewhere.record_reading(ids["predose"], "133/81 hr 71", by="bo")
        app.post_message(FloorStale())
        await pilot.pause()
        assert len(started) == 1  # at once: no wait on a quiet floor
        await settle(pilot)
        assert next(r for r in app.rows if r.patient == "MRN-PRE").cells["bp"].text == "133/81"


async def test_a_stream_of_changes_is_read_at_most_once_a_gap_and_the_last_shows(service):
    ids = build_floor(service)
    app = station(service, refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in_and_quiet(pilot)
        started = counted_reloads(app)
        elsewhere = Service(service.engine)
        began = time.monotonic()
        for n in range(20):  # a change, and the watcher's word of it, every 30 ms
            elsewhere.record_reading(ids["predose"], f"{120 + n}/80 hr 70", by="bo")
            app.post_message(FloorStale())
            await pilot.pause(0.03)
        streamed = time.monotonic() - began
        await pilot.pause(STALE_RELOAD_GAP_SECONDS + 0.05)  # the last wait ends
        await settle(pilot)
        gaps = [b - a for a, b in itertools.pairwise(started)]
        assert all(gap >= STALE_RELOAD_GAP_SECONDS - 0.01 for gap in gaps), gaps
        assert 2 <= len(started) <= streamed / STALE_RELOAD_GAP_SECONDS + 2
        assert next(r for r in app.rows if r.patient == "MRN-PRE").cells["bp"].text == "139/80"


async def test_after_a_long_read_the_next_waits_as_long_again(service):
    ids = build_floor(service)
    app = station(service, refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in_and_quiet(pilot)
        app.refresh_floor()
        await settle(pilot)
        app.pacing.took = 0.4  # as if that read had taken 0.4 s (sessions of many readings)
        last = app.pacing.started_at
        started = counted_reloads(app)
        Service(service.engine).record_reading(ids["predose"], "133/81 hr 71", by="bo")
        app.post_message(FloorStale())
        deadline = time.monotonic() + 10
        while not started and time.monotonic() < deadline:
            await pilot.pause(0.02)
        assert started and started[0] - last >= 0.8 - 0.01
        await settle(pilot)
        assert next(r for r in app.rows if r.patient == "MRN-PRE").cells["bp"].text == "133/81"


async def test_a_loaded_rows_basis_is_worked_out_in_the_worker(service, monkeypatch):
    import monitor.present.floor as present
    import tui.floor.judgements as judgements
    import tui.floor.load as load

    ids = build_floor(service)
    app = station(service, refresh_seconds=3600)
    threads: list[str] = []

    def where(view):
        threads.append(threading.current_thread().name)
        return present.row_basis(view)

    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in_and_quiet(pilot)
        # (The load calls it by its own name, the judgements' cache by theirs.)
        monkeypatch.setattr(load, "row_basis", where)
        monkeypatch.setattr(judgements, "row_basis", where)
        Service(service.engine).record_reading(ids["predose"], "133/81 hr 71", by="bo")
        app.post_message(FloorStale())
        await pilot.pause()
        await settle(pilot)
        assert next(r for r in app.rows if r.patient == "MRN-PRE").cells["bp"].text == "133/81"
    assert threads and threading.main_thread().name not in threads, threads


def test_a_reading_read_again_unchanged_keeps_its_object_and_a_changed_one_does_not(service):
    sid = service.start_session(
        patient="MRN-KEEP", protocol="ketamine-im", by="ana", bay="Bay 1", age=40
    )
    for values in ("128/82 hr 74", "130/84 hr 76", "132/80 hr 70"):
        service.record_reading(sid, values, by="ana")
    before = service.session(sid)
    first, second, third = before.readings
    service.void(second.id, by="ana", reason="cuff slipped")
    service.record_reading(sid, "134/86 hr 72", by="ana")
    after = same_readings(service.session(sid), before)
    assert after.readings[0] is first and after.readings[2] is third  # as they were
    assert after.readings[1] is not second and after.readings[1].voided is not None
    assert after.readings[1] != second  # the void is seen
    assert after.readings[3].vitals.systolic == 134  # the new one
    assert after == service.session(sid)  # equal in every field to a plain read
    assert same_readings(before, None) is before
