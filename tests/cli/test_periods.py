"""One reading of a typed period (monitor.periods), for the command line and the station."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from monitor.errors import EntryError
from monitor.periods import date_only, local_day, parse_period

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_date_alone_as_the_end_takes_in_that_whole_day():
    start, end = parse_period("2026-11-20", "2026-11-20", NOW)
    assert start == datetime(2026, 11, 20, tzinfo=UTC)
    assert end == datetime(2026, 11, 21, tzinfo=UTC) - timedelta(microseconds=1)
    assert (start, end) == local_day(date(2026, 11, 20))


def test_a_time_as_the_end_is_that_moment_and_none_leaves_a_side_open():
    assert parse_period(None, "2026-11-20T09:30", NOW) == (
        None,
        datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
    )
    assert parse_period("90 min ago", None, NOW) == (NOW - timedelta(minutes=90), None)
    assert parse_period(None, None, NOW) == (None, None)


def test_the_last_day_of_the_last_year_leaves_the_end_open():
    assert parse_period(None, "2999-12-31", NOW) == (None, None)


def test_a_time_that_cannot_be_read_is_refused():
    with pytest.raises(EntryError, match="not understood"):
        parse_period("yesterday-ish", None, NOW)
    with pytest.raises(EntryError, match="out of range"):
        parse_period(None, "1999-12-31", NOW)


def test_date_only_names_a_day_or_nothing():
    assert date_only(" 2026-11-20 ") == date(2026, 11, 20)
    assert date_only("2026-11-20T00:00") is None
    assert date_only("2026-13-45") is None
