"""One way to show a duration to a person (issue 21): whole minutes rounded down, "under 1 min"
below one, "1 h 05 min" from an hour up, on every face that shows one."""

from __future__ import annotations

import pytest

from monitor.present.quality import _minutes as quality_minutes
from monitor.present.record import Monitored, minutes_text


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (0, "under 1 min"),
        (0.1, "under 1 min"),
        (0.99, "under 1 min"),
        (1, "1 min"),
        (6.9, "6 min"),
        (48.6, "48 min"),
        (59.9, "59 min"),
        (60, "1 h 00 min"),
        (65.4, "1 h 05 min"),
        (125, "2 h 05 min"),
    ],
)
def test_a_duration_is_whole_minutes_under_1_min_or_hours_and_minutes(minutes, text):
    assert minutes_text(minutes) == text


def test_the_minutes_monitored_and_the_quality_summary_say_it_the_same_way():
    assert Monitored(125, False).text == "2 h 05 min"
    assert Monitored(40, True).text == "40 min so far"
    assert quality_minutes(7.5) == "7 min"
    assert quality_minutes(0.2) == "under 1 min"
    assert quality_minutes(None) == "-"


def test_the_review_list_text_says_the_slowest_acknowledgement_in_minutes():
    from monitor.cli.render.review import _minutes

    assert _minutes(8.2) == "8 min"
    assert _minutes(None) == "-"
