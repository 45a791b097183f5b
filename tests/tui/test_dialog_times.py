"""The dialogs' "when" fields read a time as every other place does (monitor/timeparse.py):
minutes ago, a clock time, ``5 min ago``; a time that cannot be read is refused in the field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.widgets import Input, Static

from tests.station import NOW, build_floor, settle, sign_in, station
from tests.tui.test_tui import select
from tui.dialogs.event import EventScreen
from tui.dialogs.infusion_end import InfusionEndScreen

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def clock_text(minutes_back: int) -> str:
    """NOW less ``minutes_back``, as the local HH:MM a nurse reads on the wall."""
    return (NOW - timedelta(minutes=minutes_back)).astimezone().strftime("%H:%M")


async def test_an_event_at_a_clock_time_and_a_refused_time_kept_in_its_field(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-HIGH")
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, EventScreen)
        await pilot.press(*"felt dizzy", "tab")
        await pilot.press(*"noon", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, EventScreen)  # refused: stays open
        assert "not understood" in str(screen.query_one("#form-error", Static).content)
        ago = screen.query_one("#ago", Input)
        assert ago.has_focus and ago.selected_text == "noon"
        await pilot.press(*clock_text(12), "enter")  # typed over the refused text
        await settle(pilot)
        assert not isinstance(app.screen, EventScreen)
        event = service.session(ids["high"]).events[-1]
        assert (event.text, event.at) == ("felt dizzy", NOW - timedelta(minutes=12))


async def test_an_infusion_end_at_a_clock_time(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-IV")
        await pilot.press("i")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InfusionEndScreen)
        await pilot.press(*clock_text(3))
        assert "Infusion 47 min" in str(screen.query_one("#infusion-preview").content)
        await pilot.press("enter")
        await settle(pilot)
        assert service.session(ids["iv"]).infusion_ended_at == NOW - timedelta(minutes=3)
