"""Typed times: local times at a clock change are refused, absurd dates never crash."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import pytest

from monitor.errors import EntryError
from monitor.timeparse import parse_time

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def new_york():
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    os.environ["TZ"] = before or "UTC"
    time.tzset()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01T00:59", datetime(2026, 11, 1, 4, 59, tzinfo=UTC)),  # before the repeat
        ("2026-11-01T02:00", datetime(2026, 11, 1, 7, 0, tzinfo=UTC)),  # after it
        ("2026-11-01T01:30-04:00", datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),  # explicit
        ("2026-11-01T01:30-05:00", datetime(2026, 11, 1, 6, 30, tzinfo=UTC)),
        ("2026-03-08T01:59", datetime(2026, 3, 8, 6, 59, tzinfo=UTC)),
        ("2026-03-08T03:00", datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
    ],
)
def test_unambiguous_local_times_are_taken(new_york, text, expected):
    assert parse_time(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2026-11-01T01:00", "happens twice"),
        ("2026-11-01T01:59", "happens twice"),
        ("2026-03-08T02:00", "does not exist"),
        ("2026-03-08T02:59", "does not exist"),
    ],
)
def test_ambiguous_and_skipped_local_times_are_refused(new_york, text, says):
    with pytest.raises(EntryError, match=says):
        parse_time(text, NOW)


@pytest.mark.parametrize(
    "text", ["0001-01-01", "9999-12-31T23:59-05:00", "1999-12-31T23:59", "3000-01-01"]
)
def test_out_of_range_dates_are_refused_not_crashed(text):
    with pytest.raises(EntryError, match="out of range"):
        parse_time(text, NOW)


@pytest.mark.parametrize("text", ["١٢ min ago", "𝟏 min ago"])
def test_non_ascii_digits_are_not_minutes(text):
    with pytest.raises(EntryError):
        parse_time(text, NOW)
