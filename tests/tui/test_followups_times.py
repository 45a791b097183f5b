"""Issue #21's follow-ups on typed times at the station: the correction dialog reads ``HH:MM``
as the entry line does (the latest such time within 12 h, refused when later than now), and
its preview shows the date of a time on another day than today."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from monitor.errors import EntryError
from monitor.timeparse import parse_time
from tests.helpers import at
from tests.present.test_sessionlog import worked_session
from tests.station import screen_only, settle, station
from tests.tui.test_review_tui import form_error, highlight_reading, open_log, open_review
from tui.inputs import Input
from tui.review.correct import CorrectScreen
from tui.review.log import SessionLogScreen


async def _correct(pilot, reading_id: int) -> CorrectScreen:
    await open_review(pilot)
    await open_log(pilot, "MRN-WORK")
    await highlight_reading(pilot, reading_id)
    await pilot.press("c")
    await settle(pilot)
    dialog = pilot.app.screen
    assert isinstance(dialog, CorrectScreen)
    return dialog


def _preview(dialog: CorrectScreen) -> str:
    return str(dialog.query_one("#correct-preview", Static).content)


@screen_only
async def test_a_correction_reads_a_time_of_day_as_the_entry_line_does(service):
    """At 11:40, ``@ 12:30`` is later than now in the correction dialog too, with the entry
    line's own words (it was taken as 12:30 on the reading's day, "after the discharge")."""
    ids = worked_session(service, reviewed=False)  # the late reading: measured 10:30
    now = at(160)  # 11:40, the same day
    app = station(service, clock=lambda: now)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await _correct(pilot, ids["late"])
        entry = dialog.query_one("#entry", Input)
        entry.value = "138/84 hr 72 spo2 98 rr 14 moaas 5 @ 12:30"
        await pilot.pause()
        with pytest.raises(EntryError) as refused:
            parse_time("12:30", now)  # what the entry line and every --at say
        entry_line_says = str(refused.value)
        assert _preview(dialog) == entry_line_says
        assert "later than now (11:40)" in entry_line_says
        dialog.query_one("#reason", Input).focus()
        await pilot.press(*"typed the wrong time", "enter", *"9999", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CorrectScreen)
        assert "later than now (11:40)" in form_error(app)
        assert entry.has_focus
        entry.value = "138/84 hr 72 spo2 98 rr 14 moaas 5 @ 10:28"
        await pilot.pause()
        assert "measured 10:28" in _preview(dialog), _preview(dialog)
    assert not [r for r in service.session(ids["session"]).readings if r.corrects == ids["late"]]


@screen_only
async def test_a_correction_of_another_day_is_typed_with_its_date_and_previewed_so(service):
    """The next morning, ``@ 10:28`` is later than now: the refusal names the reading's
    day; typed with that date, the preview shows the full date, not a bare 10:28."""
    ids = worked_session(service, reviewed=False)
    now = at(24 * 60 - 60)  # 08:00 the next day
    app = station(service, clock=lambda: now)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await _correct(pilot, ids["late"])
        entry = dialog.query_one("#entry", Input)
        entry.value = "138/84 hr 72 spo2 98 rr 14 moaas 5 @ 10:28"
        await pilot.pause()
        assert "later than now (08:00)" in _preview(dialog)
        assert "e.g. 2026-11-27T10:28" in _preview(dialog), _preview(dialog)
        entry.value = "138/84 hr 72 spo2 98 rr 14 moaas 5 @ 2026-11-27T10:28"
        await pilot.pause()
        assert "measured 2026-11-27 10:28" in _preview(dialog), _preview(dialog)
        dialog.query_one("#reason", Input).focus()
        await pilot.press(*"measured two minutes earlier", "enter", *"9999", "enter")
        await settle(pilot)
        assert isinstance(app.screen, SessionLogScreen), form_error(app)
    corrected = [r for r in service.session(ids["session"]).readings if r.corrects == ids["late"]]
    assert [r.measured_at for r in corrected] == [at(88)]
