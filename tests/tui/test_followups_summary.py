"""Issue #21's follow-up on the review summary: `s` opens on the week that includes today (its
figures so far), not last week; `[`/`]` step weeks, never past the current one."""

from __future__ import annotations

from datetime import date

from textual.widgets import Static

from monitor.periods import local_day
from monitor.services import with_clock
from tests.station import settle
from tests.tui.test_review_tui import NOW, open_review, quick_session, review_station
from tui.reports.quality import QualityScreen


def _said(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


def _sessions(app) -> str:
    labels = [str(s.content) for s in app.screen.query("#quality .label")]
    return _said(app, f"#quality-value-{labels.index('Sessions')}")


async def test_the_summary_opens_on_this_week_so_far_and_steps_weeks(service):
    """Friday 27 Nov 2026 14:00, four sessions discharged today: `s` shows them."""
    for patient, minute in (("P1", 10), ("P2", 20), ("P3", 30), ("P4", 40)):
        quick_session(service, patient, minute)
    this_week = local_day(date(2026, 11, 23))[0], local_day(date(2026, 11, 29))[1]
    assert with_clock(service, lambda: NOW).quality_report(*this_week).sessions == 4
    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, QualityScreen)
        title = _said(app, "#desk-title")
        assert title == (
            "Quality summary · discharged this week so far, Mon 23 Nov to Fri 27 Nov 2026"
        )
        assert len(title) <= 78  # inside the screen's padding at 80 columns
        assert _sessions(app).startswith("4: ketamine-im 4"), _sessions(app)
        assert "No session" not in _said(app, "#desk-status")
        await pilot.press("left_square_bracket")  # last week: nothing discharged
        await settle(pilot)
        assert "Mon 16 Nov to Sun 22 Nov 2026" in _said(app, "#desk-title")
        assert "No session was discharged in this period" in _said(app, "#desk-status")
        await pilot.press("right_square_bracket")  # back to this week
        await settle(pilot)
        assert "this week so far" in _said(app, "#desk-title")
        assert _sessions(app).startswith("4:")
        await pilot.press("right_square_bracket")  # no week after the current one
        await settle(pilot)
        assert "this week so far" in _said(app, "#desk-title")
        assert "This is the current week" in _said(app, "#desk-status")
