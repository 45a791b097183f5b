"""Focus follows the refusal (issue 21): a dialog's refusal names one field and the cursor goes
there with its text selected, keys typed before a dialog's focus settles land where the focus
will be, a PIN field given a letter says so, and the sign-in hints at the lockout."""

from __future__ import annotations

import pytest
from textual.widgets import Select, SelectionList, Static
from textual.widgets._toast import ToastRack

from monitor.services import Service
from tests.station import build_floor, settle, sign_in, station
from tests.tui.test_inputs import burst
from tui.dialogs.discharge import DischargeScreen
from tui.dialogs.event import EventScreen
from tui.dialogs.new_session import NewSessionScreen
from tui.inputs import Input
from tui.signin import SignInScreen

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def form_error(app) -> str:
    line = app.screen.query_one("#form-error", Static)
    return str(line.content) if line.display else ""


def value(app, field: str) -> str:
    return app.screen.query_one(f"#{field}", Input).value


async def select(pilot, patient: str) -> None:
    table = pilot.app.query_one("#floor")
    table.move_cursor(row=[r.patient for r in pilot.app.rows].index(patient), animate=False)
    await pilot.pause()


async def open_new_session(pilot) -> NewSessionScreen:
    await sign_in(pilot)
    await pilot.press("n")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, NewSessionScreen)
    return screen


# -- the two "Done when" flows -------------------------------------------------------------


async def test_new_session_age_typed_after_the_refusal_goes_to_age_not_the_patient(service):
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_new_session(pilot)
        await pilot.press(*"MRN-8000", "enter")
        assert form_error(app) == "esketamine needs the patient's age (REMS)"
        assert screen.query_one("#age", Input).has_focus
        await pilot.press(*"45")
        assert value(app, "age") == "45"
        assert value(app, "patient") == "MRN-8000"


async def test_new_session_typed_in_one_burst_lands_each_answer_in_its_field(service):
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        burst(app, "n", "MRN-8000", "enter", "45", "enter")
        await settle(pilot)
        assert isinstance(app.screen, NewSessionScreen)
        assert (value(app, "patient"), value(app, "age")) == ("MRN-8000", "45")
        assert "REMS medication answers" in form_error(app)
        assert app.screen.query_one("#meds", SelectionList).has_focus


async def discharge_not_met(pilot) -> DischargeScreen:
    await sign_in(pilot)
    await select(pilot, "MRN-LATE")
    await pilot.press("x")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, DischargeScreen) and not screen.gate_ready
    return screen


async def test_discharge_gate_not_met_enter_then_a_reason_lands_in_the_reason(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await discharge_not_met(pilot)
        await pilot.press(*"none", "enter")
        assert "no-driving" in form_error(app)
        assert screen.query_one("#instructions", Select).has_focus
        await pilot.press("enter", "down", "down", "enter")  # open, "no", chosen
        assert screen.query_one("#instructions", Select).value is False
        assert form_error(app) == ""  # the field it named is answered: the refusal goes
        await pilot.press("enter")  # answered: Enter moves on (saves), the list stays shut
        assert not screen.query_one("#instructions", Select).expanded
        assert "write why the patient leaves anyway" in form_error(app)
        assert screen.query_one("#override", Input).has_focus
        await pilot.press(*"transferred to ED")
        assert value(app, "override") == "transferred to ED"
        assert value(app, "pin") == ""


async def test_discharge_a_reason_typed_at_once_after_enter_in_the_pin_field_lands(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await discharge_not_met(pilot)
        screen.query_one("#escort", Input).value = "none"
        screen.query_one("#instructions", Select).value = False
        screen.set_focus(screen.query_one("#pin", Input))
        await pilot.pause()
        burst(app, "enter", "transferred to ED")  # refused: the reason, which it then holds
        await settle(pilot)
        assert screen.query_one("#override", Input).has_focus
        assert value(app, "override") == "transferred to ED"
        assert value(app, "pin") == ""


# -- early keys ------------------------------------------------------------------------------


async def test_e_then_text_at_once_writes_the_note(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-HIGH")
        burst(app, "e", "pt comfortable")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, EventScreen)
        assert not screen.query_one("#kind", Select).expanded
        assert value(app, "text") == "pt comfortable"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is not screen
        (event,) = service.session(app.selected().id).events
        assert (event.kind, event.text) == ("note", "pt comfortable")


async def test_keys_pressed_with_the_dialog_key_go_to_its_first_field(service):
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await pilot.press("n", *"MRN-1", "tab", "tab")
        assert value(app, "patient") == "MRN-1"
        await pilot.press(*"52")
        assert value(app, "age") == "52"


# -- a refusal names its field, and its text is selected -----------------------------------


async def test_a_service_refusal_selects_the_field_it_is_about(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_new_session(pilot)
        await pilot.press(*"MRN-HIGH", "tab", "tab", *"67")  # already in observation
        screen.query_one("#meds", SelectionList).select("none")
        screen.set_focus(screen.query_one("#lot", Input))
        await pilot.press("enter")
        await settle(pilot)
        assert "already in observation" in form_error(app)
        patient = screen.query_one("#patient", Input)
        assert patient.has_focus
        await pilot.press(*"MRN-OTHER")  # the selected text is replaced
        assert patient.value == "MRN-OTHER"
        assert form_error(app) == ""


async def test_an_impossible_value_selects_it_to_be_typed_again(service):
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_new_session(pilot)
        await pilot.press(*"MRN-9", "tab", "tab", *"200", "enter")
        assert form_error(app).startswith("age 200 is impossible")
        assert screen.query_one("#age", Input).has_focus
        await pilot.press(*"45")
        assert value(app, "age") == "45"


async def test_the_cosigner_refused_by_the_services_puts_the_cursor_in_its_field(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await discharge_not_met(pilot)
        screen.query_one("#escort", Input).value = "none"
        screen.query_one("#instructions", Select).value = False
        screen.query_one("#override", Input).value = "ward transfer"
        screen.set_focus(screen.query_one("#pin", Input))
        await pilot.press(*"1234", "enter", *"bo", "enter", *"2345", "enter")
        await settle(pilot)
        cosigner = screen.query_one("#cosigner", Input)
        assert cosigner.has_focus and form_error(app)
        await pilot.press(*"sam")  # replaces "bo", selected
        assert cosigner.value == "sam"


# -- digits only -----------------------------------------------------------------------------


async def test_a_letter_in_a_dialogs_pin_field_says_digits_only(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await discharge_not_met(pilot)
        screen.set_focus(screen.query_one("#pin", Input))
        await pilot.press("1", "x")
        assert value(app, "pin") == "1"
        assert "digits only" in form_error(app)
        await pilot.press("2")
        assert form_error(app) == ""


async def test_a_letter_in_the_sign_in_pin_field_says_digits_only(service):
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"ana", "enter", "1", "a")
        said = str(app.screen.query_one("#sign-in-error", Static).content)
        assert "digits only" in said
        assert app.screen.query_one("#pin", Input).value == "1"


# -- sign-in hints ---------------------------------------------------------------------------


def sign_in_said(app) -> str:
    return str(app.screen.query_one("#sign-in-error", Static).content)


async def test_three_refusals_at_sign_in_tell_how_the_lockout_works(service):
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"nobody")
        for attempt in range(3):
            await pilot.press("enter", *"0000", "enter")  # the name is kept, the PIN not
            await settle(pilot)
            said = sign_in_said(app)
            assert "not accepted" in said
            assert ("supervisor can unlock" in said) == (attempt == 2)
            await pilot.press("escape")  # back to the name
        security = app.config.security
        assert (
            f"after {security.lockout_after} refusals a name is locked for "
            f"{security.lockout_min} min"
        ) in said
        app.screen.query_one("#name", Input).value = ""
        await pilot.press(*"ana", "enter", *"1234", "enter")
        await settle(pilot)
        assert app.user is not None and app.user.name == "ana"


async def test_an_empty_database_says_the_first_user_is_a_supervisor(db_url):
    empty = Service.open(db_url)
    try:
        app = station(empty)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, SignInScreen)
            hint = app.screen.query_one("#no-users", Static)
            assert hint.display and "--role supervisor" in str(hint.content)
    finally:
        empty.close()


# -- the discharge at 80x24 ------------------------------------------------------------------


async def test_the_discharge_fields_use_the_dialogs_width(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await discharge_not_met(pilot)
        for field in ("escort", "instructions", "override", "pin"):
            assert screen.query_one(f"#{field}").region.width >= 50, field


# -- toasts never cover a dialog -------------------------------------------------------------


async def test_a_notice_does_not_cover_an_open_dialog(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await sign_in(pilot)
        app.notify("a notice before the dialog")
        await pilot.pause()
        await select(pilot, "MRN-HIGH")
        await pilot.press("e")
        await settle(pilot)
        assert not app._notifications  # what was said before is gone
        app.notify("a notice while the dialog is open")
        await pilot.pause()
        assert any("while the dialog" in n.message for n in app._notifications)
        assert not app.screen.query(ToastRack)  # it waits for the floor, behind the dialog
        await pilot.press("escape")
        await pilot.pause()
        (rack,) = app.screen.query(ToastRack)
        assert rack.display


async def test_a_dialogs_refusal_is_in_the_dialog_not_in_a_toast(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await open_new_session(pilot)
        await pilot.press(*"MRN-HIGH", "tab", "tab", *"67")
        screen.query_one("#meds", SelectionList).select("none")
        await pilot.press("enter")
        await settle(pilot)
        assert "already in observation" in form_error(app)
        assert not [n for n in app._notifications if "already" in n.message]


# -- the review queue's filter: the keys do what its title says ------------------------------


async def test_the_filter_dialogs_keys_do_what_its_title_says(service):
    from tests.tui.test_review_tui import open_review
    from tui.review.filter_dialog import FilterScreen
    from tui.ticks import Ticks

    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        await pilot.press("slash")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, FilterScreen)
        title = str(dialog.query_one(".title").content)
        assert "Tab: fields" in title and "arrows: boxes" in title
        questions = dialog.query_one("#questions", Ticks)
        dialog.set_focus(questions)
        await pilot.pause()
        before = set(questions.selected)
        first = questions.highlighted or 0
        await pilot.press("down", "space")  # arrows move between the boxes, Space ticks
        assert questions.has_focus and questions.highlighted == first + 1
        assert set(questions.selected) ^ before == {questions.get_option_at_index(first + 1).value}
        await pilot.press("tab")  # Tab goes on to the next field
        assert not questions.has_focus
