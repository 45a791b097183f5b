"""Keys that arrive in one burst take effect in the order typed (tui/inputs.py).

A burst is posted to the app the way the terminal driver posts it: one Key event after another
with no pause between, so every key is queued before the first is handled. Pilot's ``press``
waits after each key and would hide the fault.
"""

from __future__ import annotations

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.keys import _character_to_key
from textual.widgets import Input as TextualInput

from tests.station import build_floor, settle, sign_in, station
from tui.inputs import Input
from tui.signin import SignInScreen

KEY_NAMES = {"backspace", "delete", "left", "home", "end", "tab", "shift+tab", "enter"}


def burst(app: App, *keys: str) -> None:
    """Post ``keys`` at once: a key name (``backspace``, ``tab``) or text typed letter by letter."""
    for key in keys:
        if key in KEY_NAMES:
            app.post_message(events.Key(key, "\r" if key == "enter" else None))
            continue
        for character in key:
            app.post_message(events.Key(_character_to_key(character), character))


class TwoFields(App[None]):
    def __init__(self, field: type[TextualInput]) -> None:
        super().__init__()
        self.field = field

    def compose(self) -> ComposeResult:
        yield self.field(id="first")
        yield self.field(id="second")


async def values_after(field: type[TextualInput], *keys: str) -> tuple[str, str]:
    app = TwoFields(field)
    async with app.run_test() as pilot:
        await pilot.pause()
        burst(app, *keys)
        await pilot.pause()
        await pilot.pause()
        return (
            app.query_one("#first", TextualInput).value,
            app.query_one("#second", TextualInput).value,
        )


async def test_textual_input_alone_applies_a_burst_backspace_too_late():
    """Why tui/inputs.py exists: if this starts failing, Textual fixed it upstream."""
    assert await values_after(TextualInput, "120/81", "backspace", "0 hr") == ("120/810 h", "")


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (("120/81", "backspace", "0 hr 70"), ("120/80 hr 70", "")),
        (("12", "backspace", "backspace", "34"), ("34", "")),
        (("ac", "left", "b", "end", "d"), ("abcd", "")),
        (("bc", "home", "a"), ("abc", "")),
        (("abx", "left", "delete", "c"), ("abc", "")),
        (("MRN-1", "tab", "52"), ("MRN-1", "52")),
        # Back into a field its text is selected (Textual's select_on_focus), as typed slowly.
        (("ab", "tab", "cd", "shift+tab", "e"), ("e", "cd")),
    ],
)
async def test_a_burst_of_keys_takes_effect_in_the_order_typed(keys, expected):
    assert await values_after(Input, *keys) == expected


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_corrected_reading_typed_in_one_burst_saves_what_was_meant(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        before = len(service.session(ids["ready"]).readings)
        table = app.query_one("#floor")
        table.move_cursor(row=[r.patient for r in app.rows].index("MRN-DONE"), animate=False)
        await pilot.pause()
        burst(app, "r", "120/81", "backspace", "0 hr 70", "enter")
        await settle(pilot)
        saved = service.session(ids["ready"]).readings
        assert len(saved) == before + 1
        assert (saved[-1].vitals.systolic, saved[-1].vitals.diastolic) == (120, 80)
        assert saved[-1].vitals.heart_rate == 70


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_pin_corrected_in_one_burst_signs_in(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        burst(app, "ana", "enter", "1235", "backspace", "4", "enter")  # name, PIN, in one go
        await settle(pilot)
        assert app.user is not None and app.user.name == "ana"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_name_typed_on_the_list_with_its_pin_in_one_burst_signs_in_that_name(service):
    # The list highlights "ana": "bo" typed over it, Enter and the PIN in one burst signed in
    # as ana (the list still counted as focused for the keys of the burst: issue #23).
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        burst(app, "bo", "enter", "2345", "enter")
        await settle(pilot)
        assert app.user is not None and app.user.name == "bo"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (("r", "hr 7", "left", "5", "end", "0"), "hr 570"),
        (("r", "hr 70", "home", "120/80 "), "120/80 hr 70"),
        (("r", "120/81", "backspace", "0"), "120/80"),
    ],
)
async def test_keys_typed_with_r_in_one_burst_edit_the_entry_line_in_order(service, keys, expected):
    """`r` opens the line only once it is acted on; the keys after it must wait their turn."""
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        burst(app, *keys)
        await settle(pilot)
        assert app.query_one("#entry-input", Input).value == expected


async def test_a_paste_of_several_lines_is_refused_not_cut_to_its_first():
    """Textual's field keeps a paste's first line and drops the rest: two readings pasted into
    the entry line would have saved one. A field takes one line; several are refused aloud."""
    app = TwoFields(Input)
    async with app.run_test() as pilot:
        await pilot.pause()
        first = app.query_one("#first", Input)
        first.post_message(events.Paste("120/80 hr 70\n135/85 hr 72\n"))
        await pilot.pause()
        assert first.value == ""
        assert any("2 lines pasted" in n.message for n in app._notifications)
        first.post_message(events.Paste("\n120/80 hr 70\n"))  # one line, with its newlines
        await pilot.pause()
        assert first.value == "120/80 hr 70"


async def test_a_pin_field_takes_digits_only():
    from tui.inputs import pin_input

    class PinApp(App[None]):
        def compose(self) -> ComposeResult:
            yield pin_input("PIN", "pin")

    app = PinApp()
    async with app.run_test() as pilot:
        await pilot.pause()
        burst(app, "12a3 4")
        await pilot.pause()
        await pilot.pause()
        pin = app.query_one("#pin", Input)
        assert pin.value == "1234" and pin.password and pin.max_length == 12
