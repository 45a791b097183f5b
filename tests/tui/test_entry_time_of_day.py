"""The station's entry line takes a time of day after ``@`` as every other place a time is
typed does (issue #21: ``120/80 @ 00:01`` was "not understood" there, ``@ 23:25`` taken in
the correction dialog)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.widgets import DataTable, Static

from monitor.timeforms import TIME_FORMS
from tests.station import NOW, build_floor, settle, sign_in, station
from tui.floor.entry import EntryBar

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def open_entry(pilot, patient: str) -> None:
    app = pilot.app
    table = app.query_one("#floor", DataTable)
    table.move_cursor(row=[row.patient for row in app.rows].index(patient), animate=False)
    await pilot.pause()
    await pilot.press("r")
    await pilot.pause()


async def test_the_entry_line_takes_a_time_of_day_and_refuses_in_the_parsers_words(service):
    ids = build_floor(service)
    app = station(service)
    clock = (NOW - timedelta(minutes=3)).astimezone().strftime("%H:%M")  # TZ=UTC in tests
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await open_entry(pilot, "MRN-DONE")
        await pilot.press(*"120/80 hr 70 @ noon")
        preview = str(app.query_one("#entry-preview", Static).content)
        assert "time 'noon' is not understood" in preview and "HH:MM" in preview
        assert " ".join(preview.split()).endswith(" ".join(TIME_FORMS.split()))
        for _ in "noon":
            await pilot.press("backspace")
        await pilot.press(*clock)
        preview = str(app.query_one("#entry-preview", Static).content)
        assert f"at {clock}" in preview, preview
        await pilot.press("enter")
        await settle(pilot)
        assert not app.query_one(EntryBar).display  # saved and closed
    saved = service.session(ids["ready"]).readings[-1]
    assert saved.vitals.systolic == 120
    assert saved.measured_at == (NOW - timedelta(minutes=3)).replace(second=0, microsecond=0)
