"""Typed times: local times at a clock change are refused, absurd dates never crash."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from monitor.errors import EntryError
from monitor.timeforms import TIME_FORMS
from monitor.timeparse import (
    parse_minutes_ago_or_time,
    parse_time,
    shown_time,
    split_entry_time,
)

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


# -- one parser for every place a time is typed (issue #21) ----------------------------------


@pytest.fixture
def paris():
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Paris"
    time.tzset()
    yield
    os.environ["TZ"] = before or "UTC"
    time.tzset()


def local(*parts: int) -> datetime:
    """A local wall-clock time (the zone the test set) as an aware UTC datetime."""
    return datetime(*parts).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "text", "expected"),
    [
        # 00:05 on 28 Nov: 23:55 is ten minutes ago, yesterday's; 00:01 is today's.
        ((2026, 11, 28, 0, 5), "23:55", (2026, 11, 27, 23, 55)),
        ((2026, 11, 28, 0, 5), "00:01", (2026, 11, 28, 0, 1)),
        ((2026, 11, 28, 0, 5), "0:01", (2026, 11, 28, 0, 1)),
        # A clock a minute or two ahead (a bedside monitor's) is today's, as for ISO times.
        ((2026, 11, 28, 10, 0), "10:02", (2026, 11, 28, 10, 2)),
        ((2026, 11, 28, 10, 0), "10:00", (2026, 11, 28, 10, 0)),
        # Up to 12 h back, across midnight.
        ((2026, 11, 28, 10, 0), "22:00", (2026, 11, 27, 22, 0)),
        ((2026, 11, 28, 23, 59), "12:00", (2026, 11, 28, 12, 0)),
    ],
)
def test_a_time_of_day_is_the_latest_one_in_the_last_12_hours(paris, now, text, expected):
    assert parse_time(text, local(*now)) == local(*expected)


@pytest.mark.parametrize(
    ("now", "text", "says"),
    [
        ((2026, 11, 28, 10, 0), "10:05", "'10:05' is later than now (10:00)"),
        ((2026, 11, 28, 0, 5), "00:10", "'00:10' is later than now (00:05)"),
        ((2026, 11, 28, 10, 0), "21:59", "'21:59' is later than now (10:00)"),
        ((2026, 11, 28, 20, 0), "07:00", "'07:00' is more than 12 h ago"),
    ],
)
def test_a_time_of_day_ahead_or_far_back_is_refused_naming_the_date_to_give(paris, now, text, says):
    with pytest.raises(EntryError, match=re.escape(says)) as refused:
        parse_time(text, local(*now))
    message = str(refused.value)
    assert "give the date and time, e.g. 2026-11-2" in message or "or the date and time" in message
    assert "try again" not in message


@pytest.mark.parametrize("text", ["24:00", "12:60", "99:99"])
def test_a_time_of_day_out_of_range_is_refused(text):
    with pytest.raises(EntryError, match="HH:MM runs from 00:00 to 23:59"):
        parse_time(text, NOW)


def test_a_correction_reads_a_time_of_day_as_everywhere_its_example_on_the_readings_day(paris):
    """One rule for HH:MM: a correction's ``example`` (the reading's time) never changes what
    a time of day means, only the date a refusal suggests."""
    now = local(2026, 11, 28, 12, 0)
    reading = local(2026, 11, 25, 9, 0)
    assert parse_time("11:30", now, example=reading) == parse_time("11:30", now)
    with pytest.raises(EntryError, match=r"later than now \(12:00\).*e\.g\. 2026-11-25T13:00$"):
        parse_time("13:00", now, example=reading)
    with pytest.raises(EntryError, match=r"later than now.*e\.g\. 2026-11-27T13:00$"):
        parse_time("13:00", now, example=local(2026, 11, 28, 11, 0))  # not yet come: yesterday's
    with pytest.raises(EntryError, match=r"more than 12 h ago.*e\.g\. 2026-11-25T11:00$"):
        parse_time("11:00", local(2026, 11, 29, 23, 30), example=reading)


def test_a_time_read_is_previewed_with_its_date_on_another_day():
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert shown_time(now - timedelta(hours=1), now) == "11:00"
    assert shown_time(now - timedelta(hours=13), now) == "2026-11-26 23:00"


def test_a_time_of_day_in_the_hour_the_clocks_repeat_or_skip_is_refused(new_york):
    back = datetime(2026, 11, 1, 17, 0, tzinfo=UTC)  # 12:00 EST, the day the clocks go back
    with pytest.raises(EntryError, match=r"'01:30' happens twice.*2026-11-01T01:30-04:00"):
        parse_time("01:30", back)
    forward = datetime(2026, 3, 8, 16, 0, tzinfo=UTC)  # 12:00 EDT, the day they go forward
    with pytest.raises(EntryError, match="'02:30' does not exist"):
        parse_time("02:30", forward)
    assert parse_time("03:30", forward) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_every_refusal_of_a_form_lists_the_forms_accepted():
    with pytest.raises(EntryError) as refused:
        parse_time("noon", NOW)
    assert str(refused.value) == f"time 'noon' is not understood: give {TIME_FORMS}"
    for form in ("HH:MM", "'now'", "'5 min ago'", "'-5'", "ISO 8601"):
        assert form in TIME_FORMS
    # and each form named there is accepted
    for text in ("11:30", "now", "5 min ago", "-5", "2026-11-27T09:00", "2026-11-27T09:00+01:00"):
        parse_time(text, NOW)


def test_the_station_entry_line_takes_a_time_of_day():
    entry, when = split_entry_time("120/80 @ 00:01")
    assert entry == "120/80"
    now = datetime(2026, 11, 28, 0, 5, tzinfo=UTC)
    assert parse_time(when, now) == datetime(2026, 11, 28, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("  ", None),
        ("0", NOW),
        ("5", NOW - timedelta(minutes=5)),
        ("600", NOW - timedelta(minutes=600)),
        ("5 min ago", NOW - timedelta(minutes=5)),
        ("11:30", NOW - timedelta(minutes=30)),
        ("2026-11-27T11:00", NOW - timedelta(minutes=60)),
    ],
)
def test_a_min_ago_field_takes_minutes_or_any_time(text, expected):
    assert parse_minutes_ago_or_time(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("601", "minutes ago '601' is more than 600"),
        ("99999999", "is more than 600"),
        ("soon", "time 'soon' is not understood: give minutes ago (e.g. 5), HH:MM"),
        ("12:05", "later than now"),
    ],
)
def test_a_min_ago_field_refuses_saying_what_to_type(text, says):
    with pytest.raises(EntryError, match=re.escape(says)):
        parse_minutes_ago_or_time(text, NOW)
