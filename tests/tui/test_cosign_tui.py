"""The station's dialogs of clinical revision 3 (issue #19 item 11), driven as a nurse and a
supervisor drive them (Textual Pilot) at 80x24 on a real SQLite database: co-signature in the
dose, discharge and acknowledge dialogs, the infusion-end correction, the discharge's escort
and no-driving answer. Every refusal shows inside the dialog, with the cursor in the field to
fix and what was typed kept."""

from __future__ import annotations

import inspect
from dataclasses import replace
from datetime import timedelta

import pytest
from textual.widgets import Input, Select, SelectionList, Static

from monitor.core.rules import Severity
from monitor.services import Service, with_clock
from monitor.views import EventView, FlagView
from tests.station import NOW, build_floor, settle, sign_in, station
from tests.tui.test_tui import choose, form_error, select, visible_at_80x24
from tui.dialogs.acknowledge import Acknowledgement, AcknowledgeScreen
from tui.dialogs.discharge import DischargeScreen
from tui.dialogs.dose import DoseScreen
from tui.dialogs.infusion_end import InfusionEndScreen

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

#: The services acknowledge with a co-signer (another branch of revision 3 adds it).
ACK_COSIGNS = "cosign" in inspect.signature(Service.acknowledge_many).parameters
SAM = {"pin": "9999", "user_index": 2}  # the supervisor, third in the sign-in list


def field(app, name: str) -> Input:
    return app.screen.query_one(f"#{name}", Input)


def shown(app, name: str) -> bool:
    return app.screen.query_one(f"#{name}").display


# -- dose ---------------------------------------------------------------------------------------


async def test_a_nurse_dosing_by_override_names_a_supervisor_who_types_their_pin(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-PRE")
        await pilot.press("d")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DoseScreen)
        assert shown(app, "cosigner") and shown(app, "cosign-pin")
        assert "a supervisor co-signs" in str(screen.query_one("#dosing-gate", Static).content)
        for name in ("override", "pin", "cosigner", "cosign-pin"):
            assert visible_at_80x24(app, f"#{name}"), name
        # Enter moves through the override's fields, and saves from the last one.
        await pilot.press(*"prescriber reviewed BP, proceed", "enter")
        assert field(app, "pin").has_focus
        await pilot.press(*"1234", "enter")
        assert field(app, "cosigner").has_focus
        await pilot.press(*"bo", "enter")
        assert field(app, "cosign-pin").has_focus
        await pilot.press("enter")
        assert "bo types their PIN" in form_error(app)
        assert field(app, "cosign-pin").has_focus
        # A nurse cannot co-sign: the services' refusal, in the dialog, the cursor on the name.
        await pilot.press(*"2345", "enter")
        await settle(pilot)
        assert app.screen is screen
        assert "the co-signer must be a supervisor, and bo is not" in form_error(app)
        assert visible_at_80x24(app, "#form-error")
        assert field(app, "cosigner").has_focus and field(app, "cosign-pin").value == ""
        assert field(app, "override").value == "prescriber reviewed BP, proceed"
        # The supervisor's PIN mistyped: that field emptied, the cursor in it, the rest kept.
        field(app, "cosigner").value = "sam"
        field(app, "cosign-pin").focus()
        await pilot.press(*"0000", "enter")
        await settle(pilot)
        assert app.screen is screen
        assert "co-signer sam: name or PIN not accepted" in form_error(app)
        assert field(app, "cosign-pin").has_focus and field(app, "cosign-pin").value == ""
        assert field(app, "pin").value == "1234" and field(app, "cosigner").value == "sam"
        assert service.session(ids["predose"]).dosed_at is None
        await pilot.press(*"9999", "enter")
        await settle(pilot)
        assert app.screen is not screen
        view = service.session(ids["predose"])
        assert view.dosed_at == NOW
        assert view.dose_override_reason == "prescriber reviewed BP, proceed"
        assert (view.dosed_by, view.dose_override_cosigned_by) == ("ana", "sam")
        assert any("co-signed by sam" in n.message for n in app._notifications)


async def test_a_nurses_own_pin_refused_empties_only_that_field(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-PRE")
        await pilot.press("d")
        await settle(pilot)
        await pilot.press(*"prescriber aware", "enter", *"0000", "enter", *"sam", "enter")
        await pilot.press(*"9999", "enter")
        await settle(pilot)
        assert isinstance(app.screen, DoseScreen)
        assert "name or PIN not accepted" in form_error(app)
        assert "co-signer" not in form_error(app)
        assert field(app, "pin").has_focus and field(app, "pin").value == ""
        assert field(app, "cosigner").value == "sam" and field(app, "cosign-pin").value == "9999"


async def test_a_supervisor_dosing_by_override_is_not_asked_for_a_co_signer(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, **SAM)
        await pilot.press("escape")  # review mode opens for a supervisor: back to the floor
        await select(pilot, "MRN-PRE")
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, DoseScreen)
        assert not shown(app, "cosigner") and not shown(app, "cosign-pin")
        await pilot.press(*"reviewed BP myself", "enter", *"9999", "enter")
        await settle(pilot)
        view = service.session(ids["predose"])
        assert view.dosed_at == NOW and view.dosed_by == "sam"
        assert view.dose_override_cosigned_by is None


# -- discharge ----------------------------------------------------------------------------------


async def test_a_nurses_discharge_override_is_co_signed_in_the_dialog(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-LATE")
        await pilot.press("x")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DischargeScreen)
        escort = field(app, "escort")
        assert "none: why" in escort.placeholder
        for name in ("escort", "override", "pin", "cosigner", "cosign-pin"):
            assert visible_at_80x24(app, f"#{name}"), name
            assert app.screen.query_one(f"#{name}").region.width >= 40, name  # wide enough
        await pilot.press(*"none: lives alone, taxi booked")
        await choose(pilot, "#instructions", True)
        field(app, "override").focus()
        await pilot.press(*"transferred to ED")
        field(app, "pin").focus()
        await pilot.press(*"1234", "enter")
        assert "a clinician co-signs this" in form_error(app)
        assert field(app, "cosigner").has_focus
        await pilot.press(*"sam", "enter", *"0000", "enter")
        await settle(pilot)
        assert app.screen is screen
        assert "co-signer sam: name or PIN not accepted" in form_error(app)
        assert visible_at_80x24(app, "#form-error")
        assert field(app, "cosign-pin").has_focus and field(app, "cosign-pin").value == ""
        assert escort.value == "none: lives alone, taxi booked"
        assert field(app, "override").value == "transferred to ED"
        assert service.session(ids["overdue"]).status == "active"
        await pilot.press(*"9999", "enter")
        await settle(pilot)
        view = service.session(ids["overdue"])
        assert view.status == "discharged"
        assert (view.discharged_by, view.discharge_cosigned_by) == ("ana", "sam")
        assert view.escort == "none: lives alone, taxi booked"


async def test_a_supervisors_discharge_override_is_not_co_signed(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, **SAM)
        await pilot.press("escape")
        await select(pilot, "MRN-LATE")
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, DischargeScreen)
        assert shown(app, "override") and not shown(app, "cosigner")
        await pilot.press(*"daughter")
        await choose(pilot, "#instructions", True)
        field(app, "override").focus()
        await pilot.press(*"transferred to ED", "enter", *"9999", "enter")
        await settle(pilot)
        view = service.session(ids["overdue"])
        assert view.status == "discharged" and view.discharge_cosigned_by is None


async def test_enter_on_the_answered_no_driving_select_saves_the_discharge(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-DONE")
        await pilot.press("x")
        await settle(pilot)
        await pilot.press(*"daughter", "tab")
        instructions = app.screen.query_one("#instructions", Select)
        assert instructions.has_focus
        await pilot.press("enter")  # unanswered: Enter opens the list
        assert instructions.expanded
        await pilot.press("down", "enter")
        assert instructions.value is True and not instructions.expanded
        await pilot.press("enter")  # answered: Enter saves
        await settle(pilot)
        view = service.session(ids["ready"])
        assert view.status == "discharged" and view.instructions_given is True


async def test_a_discharge_without_an_answer_puts_the_cursor_where_it_is_missing(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-DONE")
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("enter")
        assert "or none: why" in form_error(app) and field(app, "escort").has_focus
        await pilot.press(*"son", "enter")
        assert "no-driving instruction" in form_error(app)
        assert app.screen.query_one("#instructions", Select).has_focus


# -- acknowledge --------------------------------------------------------------------------------


async def test_a_before_dosing_flag_asks_a_nurse_for_a_co_signer(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-PRE")
        await pilot.press("a")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AcknowledgeScreen)
        assert shown(app, "cosigner") and shown(app, "cosign-pin")
        assert visible_at_80x24(app, "#cosign-pin")
        await pilot.press(*"prescriber reviewed, proceed", "enter")
        assert field(app, "cosigner").has_focus  # said what was done: the co-signer next
        await pilot.press(*"sam", "enter", *"0000", "enter")
        await settle(pilot)
        assert app.screen is screen
        assert "co-signer sam: name or PIN not accepted" in form_error(app)
        assert field(app, "cosign-pin").has_focus and field(app, "cosign-pin").value == ""
        assert field(app, "action").value == "prescriber reviewed, proceed"
        assert service.session(ids["predose"]).open_flags()
        if not ACK_COSIGNS:
            return  # the services of this branch take no co-signer yet
        await pilot.press(*"9999", "enter")
        await settle(pilot)
        assert app.screen is not screen
        flag = service.session(ids["predose"]).readings[0].flags[0]
        assert (flag.acknowledged_by, flag.cosigned_by) == ("ana", "sam")


async def test_unticking_the_flag_that_needs_a_clinician_hides_the_co_signer(service):
    ids = build_floor(service)
    later = NOW + timedelta(minutes=3)
    with_clock(service, lambda: later).record_reading(ids["iv"], "hr 120", by="ana")
    app = station(service, clock=lambda: later)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-IV")
        await pilot.press("a")
        await settle(pilot)
        assert not shown(app, "cosigner")  # a flag after dosing: any user acknowledges it
        await pilot.press(*"slowed the infusion", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, AcknowledgeScreen)
        assert service.session(ids["iv"]).open_flags() == []


async def test_a_supervisor_acknowledges_a_before_dosing_flag_alone(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, **SAM)
        await pilot.press("escape")
        await select(pilot, "MRN-PRE")
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AcknowledgeScreen)
        assert not shown(app, "cosigner") and not shown(app, "cosign-pin")
        await pilot.press(*"reviewed: dose", "enter")
        await settle(pilot)
        flag = service.session(ids["predose"]).readings[0].flags[0]
        assert flag.acknowledged_by == "sam" and flag.cosigned_by is None


def with_serious_event(view):
    """``view`` with a serious adverse event and its open alarm (as the services of revision 3
    give it: a flag with ``event_id`` and no reading)."""
    alarm = FlagView(
        id=9001,
        reading_id=None,
        measure="event",
        severity=Severity.HIGH,
        rule="event.serious",
        message="serious adverse event (event 77): chest pain",
        raised_by="event",
        event_id=77,
    )
    event = EventView(
        77,
        view.id,
        "adverse",
        "other",
        "severe",
        True,
        "chest pain",
        NOW - timedelta(minutes=4),
        NOW - timedelta(minutes=3),
        "ana",
        alarm=alarm,
    )
    return replace(view, events=(*view.events, event))


async def test_a_serious_events_alarm_is_listed_and_asks_a_nurse_for_a_co_signer(service):
    build_floor(service)
    app = station(service)
    saved: list[Acknowledgement] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        view = with_serious_event(app.selected())
        assert view.patient == "MRN-HIGH"
        dialog = AcknowledgeScreen(view, saved.append, cosigning=True)
        app.push_screen(dialog)
        await settle(pilot)
        alarms = dialog.query_one("#alarms", SelectionList)
        listed = [str(alarms.get_option_at_index(i).prompt) for i in range(alarms.option_count)]
        event_line = next(line for line in listed if "chest pain" in line)
        assert event_line.startswith("!!! 09:38 serious adverse event")  # the event's time
        assert "flag:9001" in alarms.selected
        assert shown(app, "cosigner")
        # Without the event's alarm ticked, the high flag after dosing needs no co-signer.
        alarms.deselect("flag:9001")
        await pilot.pause()
        assert not shown(app, "cosigner")
        alarms.select("flag:9001")
        await pilot.pause()
        await pilot.press(*"reviewed by the prescriber", "enter", *"sam", "enter", *"9999")
        await pilot.press("enter")
        await settle(pilot)
        assert len(saved) == 1 and saved[0].cosign is not None
        assert (saved[0].cosign.name, saved[0].cosign.pin) == ("sam", "9999")
        assert 9001 in saved[0].flag_ids


# -- infusion end -------------------------------------------------------------------------------


async def test_i_on_a_recorded_infusion_end_corrects_it_with_a_reason(service):
    ids = build_floor(service)
    recorded = NOW - timedelta(minutes=2)
    with_clock(service, lambda: NOW).record_infusion_end(ids["iv"], by="ana", at=recorded)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-IV")
        await pilot.press("i")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InfusionEndScreen) and screen.correcting
        facts = str(screen.query_one("#infusion-facts", Static).content)
        assert "its end is recorded at 09:40 by ana (48 min)" in facts
        await pilot.press("enter")
        assert "type when the infusion really ended" in form_error(app)
        await pilot.press(*"6", "enter")
        assert field(app, "reason").has_focus
        preview = str(screen.query_one("#infusion-preview", Static).content)
        assert "Infusion 44 min" in preview
        assert "now:   +48 +63 +78 +93 +108" in preview
        assert "after: +44 +59 +74 +89 +104" in preview
        await pilot.press("enter")
        assert "say why" in form_error(app) and field(app, "reason").has_focus
        await pilot.press(*"pump stopped earlier than noted", "enter")
        await settle(pilot)
        assert app.screen is not screen
        view = service.session(ids["iv"])
        assert view.infusion_ended_at == NOW - timedelta(minutes=6)
        assert view.infusion_ended_by == "ana"
        (fix,) = view.infusion_end_corrections
        assert (fix.previous, fix.by, fix.reason) == (
            recorded,
            "ana",
            "pump stopped earlier than noted",
        )


async def test_an_infusion_end_correction_refused_shows_in_the_dialog(service):
    ids = build_floor(service)
    with_clock(service, lambda: NOW).record_infusion_end(ids["iv"], by="ana")
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "2345", 1)  # bo did not record it
        await select(pilot, "MRN-IV")
        await pilot.press("i")
        await settle(pilot)
        await pilot.press(*"3", "enter", *"noted late", "enter")
        await settle(pilot)
        assert isinstance(app.screen, InfusionEndScreen)
        assert "bo did not record this infusion end" in form_error(app)
        assert field(app, "reason").value == "noted late" and field(app, "ago").value == "3"
    assert not service.session(ids["iv"]).infusion_end_corrections
