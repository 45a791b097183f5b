"""The discharge dialog fits its checklist to the rows left once a refusal wraps: the
Discharge button stays on the screen at 80x24 (before, the checklist was measured before the
refusal's second row was laid out and pushed the buttons off the dialog)."""

from __future__ import annotations

import pytest
from textual.widgets import Button, Input, Select

from tests.station import build_floor, settle, sign_in, station, steady
from tests.tui.test_tui import select

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def test_a_wrapped_refusal_leaves_the_buttons_on_screen(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await sign_in(pilot)
        await select(pilot, "MRN-LATE")
        await pilot.press("x")
        await settle(pilot)
        await pilot.press(*"none: lives alone, taxi booked")
        pilot.app.screen.query_one("#instructions", Select).value = True
        await pilot.pause()
        pilot.app.screen.query_one("#override", Input).focus()
        await pilot.press(*"transferred to ED", "enter", *"1234", "enter")
        await pilot.press(*"bo", "enter", *"2345", "enter")
        await settle(pilot)
        await steady(pilot)
        screen = pilot.app.screen
        assert "co-signer must be a supervisor" in str(screen.query_one("#form-error").render())
        dialog = screen.query_one("#dialog").content_region
        for button in screen.query(Button):
            assert dialog.contains_region(button.region), (button.id, button.region, dialog)
