"""A period typed in the station's From and To fields (monitor.periods.typed_period): read as
the command line reads ``--from``/``--to``, a blank field open, a reversed period refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from monitor.errors import EntryError
from monitor.periods import local_day, parse_period, typed_period

#: The tests run in UTC (tests/conftest.py).
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 27)


def test_a_typed_period_is_read_as_the_command_line_reads_it():
    since, until = typed_period("2026-11-16", "2026-11-22", NOW)
    assert since == datetime(2026, 11, 16, tzinfo=UTC)
    assert until == datetime(2026, 11, 23, tzinfo=UTC) - timedelta(microseconds=1)
    assert (since, until) == parse_period("2026-11-16", "2026-11-22", NOW)
    assert typed_period("90 min ago", "now", NOW) == (NOW - timedelta(minutes=90), NOW)
    assert local_day(TODAY) == (
        datetime(2026, 11, 27, tzinfo=UTC),
        datetime(2026, 11, 28, tzinfo=UTC) - timedelta(microseconds=1),
    )


def test_a_blank_field_leaves_that_side_open():
    assert typed_period("", "", NOW) == (None, None)
    assert typed_period("  ", "2026-11-20", NOW) == (None, local_day(date(2026, 11, 20))[1])
    assert typed_period("2026-11-20", " ", NOW) == (datetime(2026, 11, 20, tzinfo=UTC), None)


def test_a_period_that_ends_before_it_begins_or_cannot_be_read_is_refused():
    for since, until, said in (
        ("2026-11-23", "2026-11-22", "earlier time first"),
        ("2026-11-22T10:00", "2026-11-22T09:59", "ends before it begins"),
        ("yesterday", "", "not understood"),
        ("1999-01-01", "", "out of range"),
    ):
        with pytest.raises(EntryError, match=said):
            typed_period(since, until, NOW)
    # The same day as From and To is that whole day, not a reversed period.
    assert typed_period("2026-11-22", "2026-11-22", NOW) == local_day(date(2026, 11, 22))
