"""The station, driven as a nurse drives it (Textual Pilot), on a real SQLite database."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from rich.console import Console
from sqlalchemy import create_engine
from textual.widgets import DataTable, Input, Select, SelectionList, Static

from monitor.core.events import EVENT_SEVERITIES, EVENT_TYPES
from monitor.core.rules import Severity
from monitor.services import with_clock
from monitor.store import models
from tests.station import NOW, build_floor, settle, sign_in, station
from tui.detail.screen import DetailScreen
from tui.dialogs.acknowledge import AcknowledgeScreen
from tui.dialogs.discharge import DischargeScreen
from tui.dialogs.dose import DoseScreen
from tui.dialogs.event import EventScreen
from tui.dialogs.infusion_end import InfusionEndScreen
from tui.dialogs.new_session import NewSessionScreen
from tui.floor.entry import EntryBar
from tui.signin import SignInScreen

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def floor_order(app) -> list[str]:
    return [row.patient for row in app.rows]


def row_of(app, patient: str):
    return next(r for r in app.rows if r.patient == patient)


async def select(pilot, patient: str) -> None:
    table = pilot.app.query_one("#floor", DataTable)
    index = floor_order(pilot.app).index(patient)
    table.move_cursor(row=index, animate=False)
    await pilot.pause()


def judged(app, patient: str):
    """The session as the floor judged it at its last redraw."""
    return next(v for v in app.judged.values() if v.patient == patient)


def form_error(app) -> str:
    return str(app.screen.query_one("#form-error", Static).content)


def visible_at_80x24(app, selector: str) -> bool:
    """The widget is on screen, inside 80x24 and not under the footer's line."""
    widget = app.screen.query_one(selector)
    region = widget.region
    return widget.display and region.height > 0 and region.y >= 0 and region.bottom <= 23


async def choose(pilot, selector: str, value) -> None:
    """Pick a value of a Select as a nurse would: focus it, Enter, arrows, Enter."""
    widget = pilot.app.screen.query_one(selector, Select)
    widget.focus()
    await pilot.pause()
    await pilot.press("enter")
    options = [v for _, v in widget._options]
    current = options.index(widget.value) if widget.value in options else 0
    target = options.index(value)
    keys = ["down"] * (target - current) if target >= current else ["up"] * (current - target)
    await pilot.press(*keys, "enter")
    await pilot.pause()
    assert widget.value == value


async def test_sign_in_checks_the_pin_and_header_shows_the_user(service):
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        await pilot.press(*"ana", "enter", *"0000", "enter")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        assert "name or PIN not accepted" in str(
            app.screen.query_one("#sign-in-error", Static).content
        )
        await pilot.press(*"1234", "enter")  # the name stays, the cursor is in the PIN
        await settle(pilot)
        assert app.user is not None and app.user.name == "ana"
        assert app.sub_title == "recording as ana (nurse)"
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        await pilot.press(*"sam", "enter", *"9999", "enter")
        await settle(pilot)
        assert app.sub_title == "recording as sam (supervisor)"


async def test_floor_is_ordered_by_urgency_with_check_alarms(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        assert floor_order(app) == ["MRN-HIGH", "MRN-PRE", "MRN-IV", "MRN-LATE", "MRN-DONE"]
        high, pre, iv, late, done = app.rows
        assert (high.alarm, high.high_unacknowledged, high.alarm_mark) == (
            Severity.HIGH,
            True,
            "!!!",
        )
        assert high.cells["bp"].text == "184/102" and high.cells["bp"].severity is Severity.HIGH
        assert (late.overdue, late.alarm, late.next_text) == (
            True,
            Severity.MEDIUM,
            "+15 overdue 21m",
        )
        # A missed check nobody explained is a medium alarm, shown in place of the next check.
        assert (iv.alarm, iv.medium_alarm, iv.next_text) == (Severity.MEDIUM, True, "+10 missed")
        assert pre.next_text == "awaiting dose" and pre.alarm is Severity.MEDIUM
        assert done.ready and done.alarm is None
        table = app.query_one("#floor", DataTable)
        assert str(table.get_row_at(0)[0]) == "!!!"


async def test_record_with_preview_impossible_value_and_flags(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-DONE")
        await pilot.press("r")
        bar = app.query_one(EntryBar)
        assert bar.display and bar.session.id == ids["ready"]
        await pilot.press(*"hr 400")
        preview = str(app.query_one("#entry-preview", Static).content)
        assert "'hr 400': HR 400 is impossible (accepted 20-300)" in preview
        await pilot.press("enter")
        await settle(pilot)
        assert len(service.session(ids["ready"]).readings) == 7  # nothing saved
        field = app.query_one("#entry-input", Input)
        field.value = ""
        await pilot.press(*"190/100 hr 80 @ 2 min ago")
        preview = str(app.query_one("#entry-preview", Static).content)
        assert "SBP 190 >= 180: severe elevation" in preview
        await pilot.press("enter")
        await settle(pilot)
        assert not bar.display  # closed once saved
        saved = service.session(ids["ready"]).readings[-1]
        assert (saved.vitals.systolic, saved.recorded_by) == (190, "ana")
        assert saved.measured_at == NOW - timedelta(minutes=2)
        assert {f.rule for f in saved.flags} >= {"systolic.high.above"}
        row = row_of(app, "MRN-DONE")
        assert row.cells["bp"].text == "190/100" and row.high_unacknowledged
        assert "MRN-DONE" in floor_order(app)[:2]  # now among the unacknowledged high alarms


async def test_a_burst_of_keys_after_r_lands_in_the_entry_line_not_on_the_floor(service):
    """A paste or a scanner types faster than focus moves: every key is the reading's."""
    from textual import events
    from textual.keys import _character_to_key

    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-DONE")
        before = len(service.session(ids["ready"]).readings)
        for character in "r126/80 hr 70 spo2 98 moaas 5 cadss 0":  # 'a', 'd', 'e' are keys too
            app.post_message(events.Key(_character_to_key(character), character))
        app.post_message(events.Key("enter", "\r"))
        await settle(pilot)
        assert len(app.screen_stack) == 1  # no dialog opened by a stray 'a' or 'd'
        saved = service.session(ids["ready"]).readings
        assert len(saved) == before + 1
        assert (saved[-1].vitals.systolic, saved[-1].vitals.cadss) == (126, 0)


async def test_a_reading_whose_reply_was_lost_is_kept_and_saved_once_on_retry(service, monkeypatch):
    from contextlib import contextmanager

    ids = build_floor(service)
    app = station(service)
    real_action = app.service._plain_action  # recording a reading's transaction

    @contextmanager
    def committed_then_lost():
        with real_action() as connection:
            yield connection
        raise ConnectionError("server closed the connection unexpectedly")

    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-DONE")
        before = len(service.session(ids["ready"]).readings)
        monkeypatch.setattr(app.service, "_plain_action", committed_then_lost)
        await pilot.press("r", *"128/80 hr 71", "enter")
        await settle(pilot)
        bar = app.query_one(EntryBar)
        assert bar.display  # kept for a retry
        assert "NOT saved" in str(app.query_one("#entry-preview", Static).content)
        assert visible_at_80x24(app, "#entry-preview")
        monkeypatch.undo()
        await pilot.press("enter")  # the same line, the same key
        await settle(pilot)
        assert not bar.display
        saved = service.session(ids["ready"]).readings
        assert len(saved) == before + 1  # saved once, not twice


async def test_a_long_preview_is_shown_whole_above_the_footer(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-HIGH")
        await pilot.press("r", *"186/104 hr 95")
        await pilot.pause()
        preview = app.query_one("#entry-preview", Static)
        assert "HR 95" in str(preview.content)  # the last flag of three lines
        assert visible_at_80x24(app, "#entry-preview")
        assert preview.region.height >= 2


async def test_a_refused_reading_keeps_the_entry_line_and_says_why(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-LATE")
        await pilot.press("r", *"120/80 hr 70")
        # Another station discharges the patient a minute ago: a reading measured after the
        # discharge is refused (one measured before it is a late entry, revision 3).
        with_clock(service, lambda: NOW).discharge(
            ids["overdue"],
            by="bo",
            at=NOW - timedelta(minutes=1),
            override_reason="ED",
            escort="partner",
            instructions_given=True,
            cosign="sam",
        )
        await pilot.press("enter")
        await settle(pilot)
        bar = app.query_one(EntryBar)
        assert bar.display
        assert app.query_one("#entry-input", Input).value == "120/80 hr 70"
        assert "is after the discharge" in str(app.query_one("#entry-preview", Static).content)


async def test_acknowledge_asks_what_was_done(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-HIGH")
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AcknowledgeScreen)
        await pilot.press("enter")
        assert "say what was done" in form_error(app)
        await pilot.press(*"rechecked, prescriber informed", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, AcknowledgeScreen)
        view = service.session(ids["high"])
        assert view.open_flags() == []
        acked = [f for r in view.readings for f in r.flags if f.acknowledged]
        assert {f.action for f in acked} == {"rechecked, prescriber informed"}
        assert {f.acknowledged_by for f in acked} == {"ana"}
        assert not row_of(app, "MRN-HIGH").high_unacknowledged


async def test_acknowledge_lists_check_alarms_and_records_why_a_check_was_not_done(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-IV")
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AcknowledgeScreen)
        alarms = app.screen.query_one("#alarms", SelectionList)
        assert list(alarms.selected) == ["check:+10 min"]  # no flag: the check is ticked
        label = str(app.screen.query_one("#action-label").content)
        assert label.startswith("Why was the check not done?")
        await pilot.press(*"patient asleep", "enter")
        await settle(pilot)
        view = service.session(ids["iv"])
        skip = view.skips["+10 min"]
        assert (skip.reason, skip.by) == ("patient asleep", "ana")
        iv = row_of(app, "MRN-IV")
        assert not iv.medium_alarm and iv.alarm is None


async def test_acknowledge_a_flag_and_a_check_together(service):
    ids = build_floor(service)
    later = NOW + timedelta(minutes=3)
    with_clock(service, lambda: later).record_reading(ids["iv"], "hr 120", by="ana")
    app = station(service, clock=lambda: later)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-IV")
        await pilot.press("a")
        await settle(pilot)
        alarms = app.screen.query_one("#alarms", SelectionList)
        flag_values = [v for v in alarms.selected if v.startswith("flag:")]
        assert flag_values and "check:+10 min" not in alarms.selected  # the flag only
        alarms.select("check:+10 min")
        await pilot.pause()
        await pilot.press(*"slowed infusion; +10 not done, line change", "enter")
        await settle(pilot)
        view = with_clock(service, lambda: later).session(ids["iv"])
        assert view.skips["+10 min"].reason == "slowed infusion; +10 not done, line change"
        assert view.open_flags() == []


async def test_nothing_to_acknowledge_says_so(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-LATE")
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AcknowledgeScreen)  # the overdue check is an alarm
        await pilot.press("escape")
        await select(pilot, "MRN-DONE")
        app.clear_notifications()
        await pilot.press("a")
        await settle(pilot)
        assert len(app.screen_stack) == 1
        assert any("No open flags" in n.message for n in app._notifications)


async def test_overdue_and_missed_checks_advance_from_the_clock(service):
    ids = build_floor(service)
    moments = [NOW - timedelta(minutes=20)]  # +15 check of MRN-LATE due, not overdue
    app = station(service, clock=lambda: moments[0], refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        assert not row_of(app, "MRN-LATE").overdue
        moments[0] = NOW
        app.redraw()  # what the one-second tick does: no reload needed
        late = row_of(app, "MRN-LATE")
        assert late.overdue and late.alarm is Severity.MEDIUM
        assert late.next_text == "+15 overdue 21m"
        moments[0] = NOW + timedelta(minutes=10)
        app.redraw()
        assert row_of(app, "MRN-LATE").next_text == "+15 missed"
        seen = with_clock(service, lambda: NOW).session(ids["overdue"])
        assert seen.checks[1].status.value == "overdue"


async def test_floor_keeps_counting_while_the_database_is_unreachable(service):
    build_floor(service)
    moments = [NOW]
    app = station(service, clock=lambda: moments[0], refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        assert row_of(app, "MRN-HIGH").since_dose == "0:42"
        app.service.engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
        app.refresh_floor()
        await settle(pilot)
        status = app.query_one("#status", Static)
        since = f"{NOW.astimezone():%H:%M:%S}"
        calm = f"database unreachable since {since} \N{EM DASH} showing data from {since}"
        assert status.display and str(status.content) == calm
        assert visible_at_80x24(app, "#status")
        moments[0] = NOW + timedelta(seconds=4)
        app.refresh_floor()  # the next attempt fails the same way: the same line, no toast
        await settle(pilot)
        assert str(status.content) == calm
        assert not app._notifications
        moments[0] = NOW + timedelta(minutes=10)
        app.tick()
        high = row_of(app, "MRN-HIGH")
        assert high.since_dose == "0:52"
        assert row_of(app, "MRN-LATE").next_text == "+15 missed"
        text = status.content
        assert (
            str(text)
            == f" DATA 10 min 00 s OLD (loaded {since}) database unreachable since {since}"
        )
        assert len(str(text)) <= 78  # 80 columns less the line's padding
        assert any("red" in str(span.style) for span in text.spans)
        await pilot.press("r")
        assert app.query_one(EntryBar).display
        await pilot.press("escape")
        app.service.engine = service.engine  # the database is back
        app.refresh_floor()
        await settle(pilot)
        assert "unreachable" not in str(status.content)


async def test_a_station_clock_off_the_database_clock_is_flagged(service):
    build_floor(service)
    app = station(service)
    asked_from: list[threading.Thread] = []

    def offset(local):
        asked_from.append(threading.current_thread())
        return -45.0  # the database is 45 s behind: this station's clock is ahead

    app.service.clock_offset = offset
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        warning = app.query_one("#clock-warning", Static)
        assert warning.display
        assert "Clock 45 s ahead of the database's" in str(warning.content)
        assert asked_from and threading.main_thread() not in asked_from


async def test_discharge_when_the_gate_is_met_records_escort_instructions_and_rems(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-DONE")
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, DischargeScreen)
        screen = app.screen
        assert all(item.ok for item in screen.view.gate.items)
        proposed = screen.view.ready_minute_proposed
        assert proposed is not None
        minute = screen.query_one("#ready-minute", Input)
        assert minute.value == str(proposed)  # the proposal, to confirm or change
        await pilot.press("enter")
        assert "say who takes the patient home" in form_error(app)
        await pilot.press(*"daughter")
        await choose(pilot, "#instructions", True)
        minute.focus()
        minute.value = ""
        await pilot.press(*"100", "enter")
        await settle(pilot)
        view = service.session(ids["ready"])
        assert view.status == "discharged"
        assert (view.escort, view.instructions_given) == ("daughter", True)
        assert (view.ready_minute, view.ready_minute_proposed) == (100, proposed)
        assert view.ready_minute_by == "ana"
        assert view.stored_gate is not None and view.stored_gate.ready
        assert "MRN-DONE" not in floor_order(app)


async def test_discharge_override_needs_a_reason(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-LATE")
        await pilot.press("x")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DischargeScreen)
        assert not screen.query("#ready-minute")  # not esketamine: no REMS question
        await pilot.press(*"none")
        await choose(pilot, "#instructions", False)
        screen.query_one("#override", Input).focus()
        await pilot.press("enter")
        assert "write why the patient leaves anyway" in form_error(app)
        assert visible_at_80x24(app, "#form-error")
        await pilot.press(*"transferred to ED", "enter")
        assert "type your PIN" in form_error(app)  # an override is signed
        pin = screen.query_one("#pin", Input)
        assert pin.has_focus
        await pilot.press(*"0000", "enter")
        assert "a clinician co-signs this" in form_error(app)  # and a nurse's co-signed
        await pilot.press(*"sam", "enter", *"9999", "enter")
        await settle(pilot)
        assert "name or PIN not accepted" in form_error(app)
        assert screen.query_one("#override", Input).value == "transferred to ED"
        assert pin.value == "" and pin.has_focus  # a refused PIN is cleared, to type again
        assert screen.query_one("#cosign-pin", Input).value == "9999"  # the rest is kept
        await pilot.press(*"1234", "enter")
        await settle(pilot)
        view = service.session(ids["overdue"])
        assert view.status == "discharged"
        assert view.override_reason == "transferred to ED"
        assert (view.escort, view.instructions_given) == ("none", False)


async def test_discharge_refused_when_the_gate_broke_asks_for_an_override_in_place(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-DONE")
        await pilot.press("x")
        await settle(pilot)
        screen = app.screen
        assert not screen.query_one("#override", Input).display
        await pilot.press(*"daughter")
        await choose(pilot, "#instructions", True)
        with_clock(service, lambda: NOW).record_reading(ids["ready"], "hr 135", by="bo")
        screen.query_one("#ready-minute", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert "no longer met" in form_error(app)
        assert visible_at_80x24(app, "#form-error")
        assert "HR 135" in str(screen.query_one("#checklist", Static).content)
        override = screen.query_one("#override", Input)
        assert override.display and override.has_focus
        assert screen.query_one("#escort", Input).value == "daughter"
        await pilot.press(*"ward transfer, prescriber aware")
        screen.query_one("#pin", Input).focus()
        await pilot.press(*"1234", "enter", *"sam", "enter", *"9999", "enter")
        await settle(pilot)
        view = service.session(ids["ready"])
        assert view.status == "discharged"
        assert view.override_reason == "ward transfer, prescriber aware"
        assert view.stored_gate is not None and not view.stored_gate.ready


async def new_session_form(pilot):
    """Sign in and open the new-session dialog (`n`); returns it."""
    await sign_in(pilot)
    await pilot.press("n")
    await settle(pilot)
    return pilot.app.screen


async def test_new_session_asks_the_rems_questions_and_no_dose(service):
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await new_session_form(pilot)
        assert isinstance(screen, NewSessionScreen)
        assert not screen.query("#dosed-now")  # dosing is d, after the baseline
        assert screen.query_one("#dose", Input).value == "56"  # esketamine-56 fixes it
        await pilot.press(*"MRN-NEW", "enter")
        assert "needs the patient's age" in form_error(app)
        screen.query_one("#age", Input).focus()
        await pilot.press(*"44", "enter")
        # The core does not require the first-treatment answer (monitor.core.intake): the
        # medication answers are what is missing next.
        assert "first treatment" not in form_error(app)
        assert "REMS medication answers" in form_error(app)
        await choose(pilot, "#first", True)
        screen.query_one("#dose-number", Input).focus()
        await pilot.press(*"1", "enter")
        assert "REMS medication answers" in form_error(app)
        screen.query_one("#meds", SelectionList).focus()
        await pilot.press("space", "down", "space", "enter")  # none and benzodiazepines
        assert "not both" in form_error(app)
        await pilot.press("up", "space", "enter")  # benzodiazepines only
        await settle(pilot)
        assert floor_order(app) == ["MRN-NEW"]
        view = next(iter(app.views.values()))
        assert (view.protocol, view.dose_mg, view.age) == ("esketamine-56", 56, 44)
        assert (view.first_treatment, view.dose_number, view.meds) == (
            True,
            1,
            ("benzodiazepines",),
        )
        assert view.dosed_at is None


async def test_new_session_for_iv_asks_dose_and_weight_not_the_rems(service):
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await new_session_form(pilot)
        await choose(pilot, "#protocol", "ketamine-iv")
        assert not screen.query_one("#meds-block").display
        dose = screen.query_one("#dose", Input)
        assert not dose.disabled and dose.value == ""
        screen.query_one("#patient", Input).focus()
        await pilot.press(*"MRN-IVNEW", "tab", "tab", *"38", "tab", *"Bay 3")
        dose.focus()
        await pilot.press(*"40", "tab", *"80", "enter")
        await settle(pilot)
        view = next(iter(app.views.values()))
        assert (view.protocol, view.dose_mg, view.weight_kg, view.meds) == (
            "ketamine-iv",
            40,
            80,
            None,
        )
        assert view.first_treatment is None


async def test_new_session_asks_the_core_what_it_accepts(service):
    # The dialog shows the core's refusals (monitor.core.intake): weight 1-400, dose number
    # 1-1000, and an esketamine session opens without the first-treatment answer.
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await new_session_form(pilot)
        await pilot.press(*"MRN-CORE", "tab", "tab", *"44")
        screen.query_one("#weight", Input).focus()
        await pilot.press(*"0", "enter")
        assert form_error(app) == "weight 0 kg is impossible: accepted 1-400"
        await pilot.press("backspace", *"70")
        screen.query_one("#dose-number", Input).focus()
        await pilot.press(*"1001", "enter")
        assert form_error(app) == "dose number 1001 is impossible: accepted 1-1000"
        await pilot.press("backspace", "backspace", "backspace", "backspace", *"999")
        screen.query_one("#meds", SelectionList).focus()
        await pilot.press("space", "enter")  # none
        await settle(pilot)
        assert floor_order(app) == ["MRN-CORE"]
        view = next(iter(app.views.values()))
        assert (view.weight_kg, view.dose_number, view.meds) == (70, 999, ())
        assert view.first_treatment is None


async def test_a_refused_new_session_keeps_the_form_and_shows_why(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await new_session_form(pilot)
        await pilot.press(*"MRN-HIGH", "tab", "tab", *"67")  # already in observation
        await choose(pilot, "#first", False)
        screen.query_one("#meds", SelectionList).select("none")
        screen.query_one("#lot", Input).focus()
        await pilot.press(*"LOT-9", "enter")
        await settle(pilot)
        assert app.screen is screen  # still open
        assert "already in observation" in form_error(app)
        assert visible_at_80x24(app, "#form-error")
        assert screen.query_one("#patient", Input).value == "MRN-HIGH"
        assert screen.query_one("#lot", Input).value == "LOT-9"
        patient = screen.query_one("#patient", Input)
        patient.value = "MRN-OTHER"
        patient.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is not screen
        assert "MRN-OTHER" in floor_order(app)
        assert app.selected().patient == "MRN-OTHER"  # the cursor goes to the new patient


async def test_dose_when_the_gate_is_met_is_a_plain_confirmation(service):
    sid = with_clock(service, lambda: NOW - timedelta(minutes=10)).start_session(
        patient="MRN-NEW", protocol="ketamine-im", by="ana", age=30, dose_mg=50
    )
    with_clock(service, lambda: NOW - timedelta(minutes=5)).record_reading(
        sid, "120/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0", by="ana"
    )
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, DoseScreen)
        assert not app.screen.query_one("#override", Input).display
        assert "baseline check done" in str(app.screen.query_one("#dosing-gate").content)
        await pilot.press("enter")
        await settle(pilot)
        view = service.session(sid)
        assert view.dosed_at == NOW and view.dose_override_reason is None


async def test_dose_with_the_gate_not_met_needs_a_written_reason(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-PRE")
        await pilot.press("d")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DoseScreen)
        gate = str(screen.query_one("#dosing-gate").content)
        assert "Dosing gate not met" in gate and "SBP 146 > 140" in gate
        assert screen.query_one("#override", Input).has_focus
        await pilot.press("enter")
        assert "needs a written reason" in form_error(app)
        await pilot.press(*"prescriber reviewed BP, proceed", "enter")
        assert screen.query_one("#pin", Input).has_focus  # an override is signed
        await pilot.press(*"1234", "enter")
        assert screen.query_one("#cosigner", Input).has_focus  # and a nurse's co-signed
        await pilot.press(*"sam", "enter", *"9999", "enter")
        await settle(pilot)
        view = service.session(ids["predose"])
        assert view.dosed_at == NOW
        assert view.dose_override_reason == "prescriber reviewed BP, proceed"


async def test_dose_refused_after_the_floor_loaded_asks_for_a_reason_in_place(service):
    sid = with_clock(service, lambda: NOW - timedelta(minutes=10)).start_session(
        patient="MRN-NEW", protocol="ketamine-im", by="ana", age=30, dose_mg=50
    )
    with_clock(service, lambda: NOW - timedelta(minutes=5)).record_reading(
        sid, "120/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0", by="ana"
    )
    app = station(service, refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        # Another station records a flagged reading after this one loaded the floor.
        with_clock(service, lambda: NOW).record_reading(sid, "hr 135", by="bo")
        await pilot.press("d")
        await settle(pilot)
        screen = app.screen
        assert not screen.query_one("#override", Input).display  # the floor thought it met
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert "no longer met" in form_error(app)
        assert screen.query_one("#override", Input).display
        assert "HR 135" in str(screen.query_one("#dosing-gate").content)
        await pilot.press(*"prescriber aware", "enter", *"1234", "enter")
        await pilot.press(*"sam", "enter", *"9999", "enter")
        await settle(pilot)
        assert service.session(sid).dose_override_reason == "prescriber aware"


async def test_event_form_adds_an_adverse_event(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-HIGH")
        await pilot.press("e")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, EventScreen)
        assert not screen.query_one("#severity").display  # a note has only its text
        await choose(pilot, "#kind", "adverse")
        assert screen.query_one("#severity").display
        screen.query_one("#text", Input).focus()
        await pilot.press(*"vomited once", "enter")
        assert "choose the adverse type" in form_error(app)
        await choose(pilot, "#type", "vomiting")
        await choose(pilot, "#severity", "moderate")
        screen.query_one("#serious").focus()
        await pilot.press("space")
        screen.query_one("#ago", Input).focus()
        await pilot.press(*"5", "enter")
        await settle(pilot)
        assert app.screen is not screen
        (event,) = service.session(ids["high"]).events
        assert (event.kind, event.type, event.severity, event.serious) == (
            "adverse",
            "vomiting",
            "moderate",
            True,
        )
        assert (event.text, event.by, event.at) == (
            "vomited once",
            "ana",
            NOW - timedelta(minutes=5),
        )


async def test_event_form_adds_a_note_and_an_intervention(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-HIGH")
        await pilot.press("e")
        await settle(pilot)
        assert app.screen.query_one("#text", Input).has_focus  # what is typed first; a note
        await pilot.press(*"spouse drives home", "enter")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        await choose(pilot, "#kind", "intervention")
        await choose(pilot, "#type", "antihypertensive")
        app.screen.query_one("#text", Input).focus()
        await pilot.press(*"labetalol 10 mg IV", "enter")
        await settle(pilot)
        events = service.session(ids["high"]).events
        assert [(e.kind, e.type, e.text) for e in events] == [
            ("note", None, "spouse drives home"),
            ("intervention", "antihypertensive", "labetalol 10 mg IV"),
        ]


def test_the_event_form_offers_exactly_what_the_services_accept(service):
    ids = build_floor(service)
    now = with_clock(service, lambda: NOW)
    for kind, types in EVENT_TYPES.items():
        for type_ in types or (None,):
            for severity in EVENT_SEVERITIES if kind == "adverse" else (None,):
                now.add_event(
                    ids["high"], kind=kind, type=type_, severity=severity, by="ana", text="x"
                )
    assert len(service.session(ids["high"]).events) == 7 * 3 + 4 + 1
    assert {k: tuple(v) for k, v in models.EVENT_TYPES.items()} == EVENT_TYPES
    assert tuple(models.EVENT_SEVERITIES) == EVENT_SEVERITIES


async def test_infusion_end_moves_the_checks_after_it(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        before = [c.label for c in judged(app, "MRN-IV").checks]
        assert "+40 min" in before and "+100 min" in before
        await select(pilot, "MRN-IV")
        await pilot.press("i")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InfusionEndScreen)
        preview = str(screen.query_one("#infusion-preview").content)
        assert "now:   +40 +55 +70 +85 +100" in preview
        assert "after: +50 +65 +80 +95 +110" in preview
        await pilot.press(*"4")
        preview = str(screen.query_one("#infusion-preview").content)
        assert "Infusion 46 min" in preview and "after: +46 +61 +76 +91 +106" in preview
        await pilot.press("backspace", "enter")  # ended now
        await settle(pilot)
        view = service.session(ids["iv"])
        assert view.infusion_ended_at == NOW
        after = [c.label for c in judged(app, "MRN-IV").checks]
        assert "+50 min" in after and "+110 min" in after and "+100 min" not in after
        # Once recorded, `i` corrects it (tests/tui/test_cosign_tui.py).
        await select(pilot, "MRN-IV")
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, InfusionEndScreen) and app.screen.correcting


async def test_infusion_end_is_only_for_iv_sessions(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-HIGH")
        await pilot.press("i")
        await settle(pilot)
        assert len(app.screen_stack) == 1
        assert any("not on an IV infusion" in n.message for n in app._notifications)


async def test_detail_shows_schedule_readings_and_chart(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-HIGH")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
        schedule = app.screen.query_one("#schedule", DataTable)
        assert schedule.row_count == len(app.screen.view.checks)
        readings = str(app.screen.query_one("#readings", Static).content)
        assert "184/102" in readings and "not acknowledged" in readings
        await pilot.press("escape")
        assert not isinstance(app.screen, DetailScreen)


async def test_detail_shows_events_voids_late_entries_and_skipped_checks(service):
    ids = build_floor(service)
    now = with_clock(service, lambda: NOW)
    sid = ids["iv"]
    now.add_event(sid, kind="adverse", by="ana", text="felt sick", type="nausea", severity="mild")
    wrong = now.record_reading(sid, "92/60 hr 70", by="ana")
    now.void(wrong.id, by="ana", reason="wrong patient")
    now.record_reading(sid, "moaas 5", by="bo", measured_at=NOW - timedelta(minutes=15))
    now.skip_check(sid, "+10 min", by="ana", reason="line change")
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-IV")
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        readings = screen.query_one("#readings", Static).content
        assert "VOIDED by ana" in str(readings) and "wrong patient" in str(readings)
        struck = [
            str(readings)[s.start : s.end] for s in readings.spans if "strike" in str(s.style)
        ]
        assert any("92/60" in part for part in struck)
        assert "LATE ENTRY, saved" in str(readings)  # worded as the PDF words it
        events = str(screen.query_one("#events", Static).content)
        assert "adverse nausea (mild): felt sick" in events and "by ana" in events
        schedule = screen.query_one("#schedule", DataTable)
        statuses = [str(schedule.get_row_at(i)[4]) for i in range(schedule.row_count)]
        assert any(s.startswith("missed\nnot done: line change (ana, ") for s in statuses)
        session = str(screen.query_one("#session", Static).content)
        # The session's record as monitor.present.record tells it.
        assert "Infusion end      not recorded (assumed 40 min)" in session
        assert "Gate as of" in session and "not ready:" in session
        assert "NOT YET REVIEWED" in session


async def test_detail_of_a_discharged_session_shows_the_stored_gate(service):
    ids = build_floor(service)
    view = with_clock(service, lambda: NOW).discharge(
        ids["ready"], by="ana", escort="none", instructions_given=True
    )
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        app.push_screen(DetailScreen(view, service.config.thresholds))
        await settle(pilot)
        session = str(app.screen.query_one("#session", Static).content)
        assert "Gate at discharge: met." in session
        assert "Escort: none" in session and "No-driving instruction: given" in session
        assert "REMS ready to leave at" in session
        await pilot.press("escape")
        app.push_screen(
            DetailScreen(
                replace(view, stored_gate=None),
                service.config.thresholds,
            )
        )
        await settle(pilot)
        session = str(app.screen.query_one("#session", Static).content)
        assert "Gate at discharge: not stored" in session


async def test_corrected_reading_is_struck_through_beside_its_correction(service):
    ids = build_floor(service)
    reading = service.session(ids["high"]).readings[-1]
    with_clock(service, lambda: NOW).amend(reading.id, "148/92", by="ana", reason="cuff slipped")
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-HIGH")
        await pilot.press("enter")
        await settle(pilot)
        text = app.screen.query_one("#readings", Static).content
        struck = [span for span in text.spans if "strike" in str(span.style)]
        assert struck, "the corrected reading is shown struck through"
        assert "corrects" in str(text) and "cuff slipped" in str(text)


async def test_two_stations_on_one_database_see_each_others_readings(service):
    ids = build_floor(service)
    first, second = station(service), station(service)
    async with first.run_test(size=(80, 24)) as one, second.run_test(size=(80, 24)) as two:
        await sign_in(one)
        await sign_in(two, pin="2345", user_index=1)
        await select(one, "MRN-PRE")
        await one.press("r", *"132/80 hr 70", "enter")
        await settle(one)
        second.refresh_floor()  # what its 2-second timer does
        await settle(two)
        assert row_of(second, "MRN-PRE").cells["bp"].text == "132/80"
        assert service.session(ids["predose"]).readings[-1].recorded_by == "ana"


async def test_bell_rings_while_a_high_alarm_is_open_and_stops_after_ack(service):
    build_floor(service)
    app = station(service, bell=True)
    rings: list[int] = []
    app.bell = lambda: rings.append(1)  # count the rings instead of sounding them
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        app._last_bell = 0.0
        rings.clear()  # the station's own 1-second timer may have rung during the sign-in
        app.tick()
        assert rings == [1]
        app.tick()  # not again within 5 s
        assert rings == [1]
        await select(pilot, "MRN-HIGH")
        await pilot.press("a", *"rechecked", "enter")
        await settle(pilot)
        rung = len(rings)
        app._last_bell = 0.0
        app.tick()
        assert len(rings) == rung  # acknowledged: no more bell


async def test_floor_keys_do_nothing_under_a_dialog(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        await pilot.press("r", "u", "n", "x", "e", "i", "d")
        await settle(pilot)
        assert len(app.screen_stack) == 2 and isinstance(app.screen, SignInScreen)
        app.screen.query_one("#name", Input).value = ""  # (the keys were typed there)
        await pilot.press(*"ana", "enter", *"1234", "enter")
        await settle(pilot)
        assert len(app.screen_stack) == 1


async def test_a_dialog_stays_open_while_its_save_is_under_way(service):
    build_floor(service)
    app = station(service)
    release = threading.Event()
    real_add_event = app.service.add_event

    def slow_add_event(*args, **kwargs):
        release.wait(10)
        return real_add_event(*args, **kwargs)

    app.service.add_event = slow_add_event
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-HIGH")
        await pilot.press("e")
        await settle(pilot)
        screen = app.screen
        screen.query_one("#text", Input).focus()
        await pilot.press(*"note while the database is slow", "enter")
        await pilot.pause()
        assert "saving" in form_error(app)
        await pilot.press("enter", "escape")  # neither saves twice nor closes
        await pilot.pause()
        assert app.screen is screen
        release.set()
        await settle(pilot)
        assert app.screen is not screen
        assert len(service.session(app.selected().id).events) == 1


async def test_escape_at_the_first_sign_in_leaves_the_station(service):
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert app.return_code == 0  # the station was asked to exit


async def test_question_mark_shows_every_key_and_home_end_move_the_cursor(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        order = floor_order(app)
        await pilot.press("end")
        assert app.selected().patient == order[-1]
        await pilot.press("home")
        assert app.selected().patient == order[0]
        await pilot.press("question_mark")
        await pilot.pause()
        console = Console(width=76, record=True, color_system=None)
        console.print(app.screen.query_one("#key-help", Static).content)
        help_text = console.export_text()  # the keys' grid as it is drawn
        for key in ("r", "a", "e", "Enter", "n", "d", "i", "x", "u", "q", "Home/End"):
            assert f"{key}  " in help_text or f" {key} " in help_text, key
        assert visible_at_80x24(app, "#key-help")
        await pilot.press("escape")
        await pilot.pause()
        assert len(app.screen_stack) == 1


async def test_home_in_a_text_field_still_moves_the_text_cursor(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await pilot.press("r", *"hr 70", "home", *"120/80 ")
        assert app.query_one("#entry-input", Input).value == "120/80 hr 70"


async def test_q_at_the_first_sign_in_is_typed_and_esc_steps_back_then_leaves(service):
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("q", "enter", "q", "1", "x", "2")  # q is typed: names hold q
        await pilot.pause()
        assert app.return_code is None
        assert app.screen.query_one("#name", Input).value == "q"
        assert app.screen.query_one("#pin", Input).value == "12"  # a PIN is digits only
        await pilot.press("escape")  # Esc leaves the PIN first ...
        await pilot.pause()
        assert app.return_code is None
        await pilot.press("escape")  # ... then empties the name ...
        await pilot.pause()
        assert app.return_code is None
        await pilot.press("escape")  # ... and then leaves the station
        await pilot.pause()
        assert app.return_code == 0


def footer_keys(app) -> list[str]:
    from textual.widgets._footer import FooterKey

    return [f"{k.key_display} {k.description}" for k in app.query(FooterKey)]


async def test_the_footer_shows_every_floor_key_including_enter_at_80_columns(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await pilot.pause()
        shown = footer_keys(app)
        for key in ("⏎", "r", "a", "e", "n", "d", "i", "x", "u", "?", "q"):
            assert any(item.startswith(f"{key} ") for item in shown), (key, shown)
        assert sum(len(item) + 1 for item in shown) - 1 <= 80, shown


async def test_q_quits_from_the_detail_and_the_help_but_never_from_a_form(service):
    build_floor(service)
    for keys, quits in ((("enter",), True), (("question_mark",), True), (("n",), False)):
        app = station(service)
        async with app.run_test(size=(80, 24)) as pilot:
            await sign_in(pilot)
            await pilot.press(*keys)
            await settle(pilot)
            await pilot.press("tab", "q")  # a form's typed work is never lost to a stray q
            await pilot.pause()
            assert (app.return_code == 0) is quits, keys


async def test_a_wider_terminal_shows_the_next_check_whole(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        table = app.query_one("#floor", DataTable)
        long = "BP recheck overdue 16m"  # the longest next-check text the floor writes
        assert table.columns["next"].width >= len(long) + 1
        for row in app.rows:
            cell = table.get_cell(str(row.session_id), "next")
            assert str(cell).strip() == row.next_text
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert sum(column.width for column in table.columns.values()) <= 80


async def test_the_discharge_checklist_names_each_condition_once_and_ticks_without_colour(
    service,
):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-HIGH")
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, DischargeScreen)
        lines = str(app.screen.query_one("#checklist", Static).content).splitlines()
        assert len(lines) == len(app.screen.view.gate.items)
        assert len(set(lines)) == len(lines)
        assert all(line.startswith(("[x] ", "[ ] ")) for line in lines)


async def test_the_acknowledge_list_gives_each_flag_its_reading_time_and_empty_unticked_boxes(
    service,
):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-HIGH")
        await pilot.press("a")
        await settle(pilot)
        ticks = app.screen.query_one("#alarms", SelectionList)
        view = app.screen.view
        measured = {r.id: f"{r.measured_at.astimezone():%H:%M}" for r in view.readings}
        for index, flag in enumerate(sorted(view.unacknowledged(), key=lambda f: -f.severity.rank)):
            assert measured[flag.reading_id] in str(ticks.get_option_at_index(index).prompt)
        boxes = [ticks.render_line(y).text[:3] for y in range(ticks.option_count)]
        ticked = [ticks.get_option_at_index(i).value in ticks.selected for i in range(len(boxes))]
        assert any(ticked) and not all(ticked)
        for box, on in zip(boxes, ticked, strict=True):
            assert box[1] == ("X" if on else " "), boxes


async def test_an_idle_station_asks_one_cheap_question_and_reloads_only_on_a_change(service):
    ids = build_floor(service)
    app = station(service, refresh_seconds=3600)
    loads: list[int] = []  # the sessions each load read
    load, since = app.service.active_sessions, app.service.active_sessions_since

    def counted():
        views = load()
        loads.append(len(views))
        return views

    def counted_since(mark, shown):
        changes = since(mark, shown)
        loads.append(len(changes.views) if changes is not None else -1)
        return changes

    app.service.active_sessions = counted
    app.service.active_sessions_since = counted_since
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        loaded = len(loads)
        shown = set(app.views)
        for _ in range(3):  # nothing saved: the refreshes reload nothing
            app.refresh_floor()
            await settle(pilot)
        assert len(loads) == loaded
        app.service.record_reading(ids["predose"], "133/81 hr 71", by="bo")  # elsewhere
        app.refresh_floor()
        await settle(pilot)
        assert loads[loaded:] == [1]  # that session alone is read again
        assert row_of(app, "MRN-PRE").cells["bp"].text == "133/81"
        assert set(app.views) == shown  # the others are still there, as they were


async def test_a_change_to_the_clinics_rules_reads_the_whole_floor_again(service):
    build_floor(service)
    app = station(service, refresh_seconds=3600)
    full: list[int] = []
    load = app.service.active_sessions

    def counted():
        views = load()
        full.append(len(views))
        return views

    app.service.active_sessions = counted
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        assert app.service.active_sessions_since(app.record_mark, set(app.views)).views == []
        before = len(full)
        shown = len(app.views)
        app.service.load_config(
            "[discharge]\nspo2_min = 96\n", source="a.toml", by="sam", reason="stricter"
        )
        app.refresh_floor()
        await settle(pilot)
        assert full[before:] == [shown]


async def test_the_garbage_collector_is_back_on_after_the_first_load_whatever_its_outcome(service):
    import gc

    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        assert gc.isenabled()  # the first load is in
    broken = station(service)
    broken.service.engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    async with broken.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert gc.isenabled()  # the first load failed
    assert gc.isenabled()


async def test_opening_the_entry_line_clears_a_notice_that_would_cover_it(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)  # (it clears its own notice)
        app.notify("Signed in as ana")
        await pilot.pause()
        assert list(app._notifications)
        await pilot.press("r")
        await pilot.pause()
        assert not list(app._notifications)
        assert app.query_one(EntryBar).display
