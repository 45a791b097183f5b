"""The detail chart's axis: whole minutes at a round step (never 5.2 or 18.5)."""

from __future__ import annotations


def test_the_chart_marks_whole_minutes_at_a_round_step():
    from tui.detail.chart import whole_minute_ticks

    assert whole_minute_ticks(-5, 18) == [-5, 0, 5, 10, 15, 20]
    assert whole_minute_ticks(-10, 125) == [-30, 0, 30, 60, 90, 120, 150]
    assert whole_minute_ticks(0, 0) == [0]
    assert all(isinstance(t, int) for t in whole_minute_ticks(-7, 301))
