"""The station's garbage collector (tui/collector.py): off until the first load, then Python's
young collections only, and the full ones made by the station when it is quiet (no key, no
read for two seconds) at most once a minute, or at the latest every ten minutes, and never
while it is idle; Python's own thresholds back when the station closes."""

from __future__ import annotations

import gc
import time

import pytest

from tests.station import build_floor, settle, sign_in, station
from tui.collector import (
    FORCED_FULL_AFTER_SECONDS,
    QUIET_FULL_EVERY_SECONDS,
    QUIET_SECONDS,
    Collector,
)

PYTHONS = gc.get_threshold()


@pytest.fixture
def collector():
    made = Collector()
    made.hold()
    made.settle()
    yield made
    made.release()
    assert gc.get_threshold() == PYTHONS and gc.isenabled()


def test_after_the_first_load_python_makes_young_collections_only(collector):
    assert gc.isenabled()
    young, middle, full = gc.get_threshold()
    assert (young, middle) == PYTHONS[:2] and full >= 1_000_000


def busy_enough() -> None:
    """Enough objects made and kept for Python's middle collections to run ten times."""
    kept = []
    while gc.get_count()[2] < PYTHONS[2]:
        kept.append([[] for _ in range(1000)])


def test_a_full_collection_waits_for_a_quiet_moment_at_most_once_a_minute(collector):
    busy_enough()
    now = time.monotonic()
    busy, quiet = now, now - QUIET_SECONDS - 1
    collector.last_full = now - QUIET_FULL_EVERY_SECONDS + 5  # a minute has not passed
    assert not collector.tick(quiet)
    collector.last_full = now - QUIET_FULL_EVERY_SECONDS - 1
    assert not collector.tick(busy)  # a key or a read just now: not yet
    assert collector.tick(quiet)
    assert not collector.tick(quiet)  # just made: not again for a minute


def test_under_a_stream_for_ten_minutes_one_is_made_anyway(collector):
    busy_enough()
    collector.last_full = time.monotonic() - FORCED_FULL_AFTER_SECONDS - 1
    assert collector.tick(time.monotonic())  # never quiet, and still collected


def test_an_idle_station_makes_none(collector):
    gc.collect()  # (what the tests before left)
    collector.last_full = time.monotonic() - FORCED_FULL_AFTER_SECONDS - 1
    assert not collector.tick(time.monotonic() - 60)  # quiet, due, but nothing was made


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_station_sets_and_gives_back_pythons_thresholds(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await settle(pilot)
        assert gc.get_threshold()[2] >= 1_000_000  # the first load is in
    assert gc.get_threshold() == PYTHONS and gc.isenabled()
