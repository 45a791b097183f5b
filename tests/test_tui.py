"""The station, driven as a nurse drives it (Textual Pilot), on a real SQLite database."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from textual.widgets import DataTable, Input, Static

from monitor.core.rules import Severity
from monitor.services import with_clock
from tests.station import NOW, build_floor, settle, sign_in, station
from tui.entry import EntryBar
from tui.screens import (
    AcknowledgeScreen,
    DetailScreen,
    DischargeScreen,
    NewSessionScreen,
    SignInScreen,
)

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


async def test_sign_in_checks_the_pin_and_header_shows_the_user(service):
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        await pilot.press("enter", *"0000", "enter")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        assert "wrong user or PIN" in str(app.screen.query_one("#sign-in-error", Static).content)
        await pilot.press(*"1234", "enter")
        await settle(pilot)
        assert app.user is not None and app.user.name == "ana"
        assert app.sub_title == "recording as ana (nurse)"
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        await pilot.press("down", "down", "enter", *"9999", "enter")
        await settle(pilot)
        assert app.sub_title == "recording as sam (supervisor)"


async def test_floor_is_ordered_by_urgency(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        assert floor_order(app) == ["MRN-HIGH", "MRN-LATE", "MRN-PRE", "MRN-DONE"]
        high, late, pre, done = app.rows
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
        saved = service.session(ids["ready"]).readings[-1]
        assert (saved.vitals.systolic, saved.recorded_by) == (190, "ana")
        assert saved.measured_at == NOW.replace(minute=NOW.minute - 2)
        assert {f.rule for f in saved.flags} >= {"systolic.high.above"}
        row = row_of(app, "MRN-DONE")
        assert row.cells["bp"].text == "190/100" and row.high_unacknowledged
        assert "MRN-DONE" in floor_order(app)[:2]  # now among the unacknowledged high alarms


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
        assert "say what was done" in str(app.screen.query_one("#ack-error", Static).content)
        await pilot.press(*"rechecked, prescriber informed", "enter")
        await settle(pilot)
        view = service.session(ids["high"])
        assert view.open_flags() == []
        acked = [f for r in view.readings for f in r.flags if f.acknowledged]
        assert {f.action for f in acked} == {"rechecked, prescriber informed"}
        assert {f.acknowledged_by for f in acked} == {"ana"}
        assert not row_of(app, "MRN-HIGH").high_unacknowledged


async def test_overdue_check_becomes_an_alarm_as_time_passes(service):
    ids = build_floor(service)
    moments = [NOW.replace(minute=NOW.minute - 20)]  # +15 check of MRN-LATE due, not overdue
    app = station(service, clock=lambda: moments[0])
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        assert not row_of(app, "MRN-LATE").overdue
        moments[0] = NOW
        app.refresh_floor()
        await settle(pilot)
        late = row_of(app, "MRN-LATE")
        assert late.overdue and late.alarm is Severity.MEDIUM
        seen_now = with_clock(service, lambda: NOW).session(ids["overdue"])
        assert seen_now.checks[1].status.value == "overdue"


async def test_discharge_when_the_gate_is_met(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-DONE")
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, DischargeScreen)
        assert all(item.ok for item in app.screen.view.gate.items)
        await pilot.press("enter")
        await settle(pilot)
        assert service.session(ids["ready"]).status == "discharged"
        assert "MRN-DONE" not in floor_order(app)


async def test_discharge_override_needs_a_reason(service):
    ids = build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-LATE")
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("enter")
        assert "needs a written reason" in str(
            app.screen.query_one("#discharge-error", Static).content
        )
        await pilot.press(*"transferred to ED", "enter")
        await settle(pilot)
        view = service.session(ids["overdue"])
        assert view.status == "discharged"
        assert view.override_reason == "transferred to ED"


async def test_new_session_and_dose_now(service):
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, NewSessionScreen)
        await pilot.press(*"MRN-NEW", "tab", "tab", *"84", "tab", *"44", "tab", *"Bay 3", "enter")
        await settle(pilot)
        assert floor_order(app) == ["MRN-NEW"]
        view = next(iter(app.views.values()))
        assert (view.protocol, view.dose_mg, view.age, view.bay) == (
            "esketamine-56",
            84,
            44,
            "Bay 3",
        )
        assert view.dosed_at is None
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert service.session(view.id).dosed_at == NOW


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


async def test_a_failing_database_shows_an_error_and_keeps_the_screen(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        rows_before = len(app.rows)
        app.service.engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
        app.refresh_floor()
        await settle(pilot)
        status = app.query_one("#status", Static)
        assert status.display and "database error" in str(status.content)
        assert len(app.rows) == rows_before  # the last data stays on screen
        await pilot.press("r")
        assert app.query_one(EntryBar).display


async def test_bell_rings_while_a_high_alarm_is_open_and_stops_after_ack(service):
    build_floor(service)
    app = station(service, bell=True)
    rings: list[int] = []
    app.bell = lambda: rings.append(1)  # count the rings instead of sounding them
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        app._last_bell = 0.0
        app.tick()
        assert rings == [1]
        app.tick()  # not again within 5 s
        assert rings == [1]
        await select(pilot, "MRN-HIGH")
        await pilot.press("a", *"rechecked", "enter")
        await settle(pilot)
        app._last_bell = 0.0
        app.tick()
        assert rings == [1]


async def test_floor_keys_do_nothing_under_a_dialog(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        await pilot.press("r", "u", "n", "x")
        await settle(pilot)
        assert len(app.screen_stack) == 2 and isinstance(app.screen, SignInScreen)
        await pilot.press("enter", *"1234", "enter")
        await settle(pilot)
        assert len(app.screen_stack) == 1
