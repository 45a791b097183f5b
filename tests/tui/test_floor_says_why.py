"""The floor says why (issue 21): after a save the station says which check the reading
counted for and which checks before it remain not done, where the entry line was; a BP
recheck is named as such; a refused entry names the patient and goes with the entry line;
only a failure a retry can fix offers the retry. Real SQLite, driven as a nurse drives it."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from textual.widgets import DataTable, Static

from monitor.services import Service, with_clock
from tests.helpers import at
from tests.station import build_floor, no_blink, settle, sign_in, station, steady
from tests.tui.test_tui import row_of, select, visible_at_80x24
from tui.dialogs.acknowledge import AcknowledgeScreen
from tui.floor.entry import EntryBar
from tui.inputs import Input

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

FULL_SET = "128/82 hr 74 spo2 98 rr 14 moaas 5 cadss 0"
HIGH_BP = "184/102 hr 92 spo2 96 rr 16 moaas 5 cadss 2"


def dosed(service: Service, patient: str = "MRN-7001") -> int:
    """An esketamine session with its baseline, dosed at the test dose (minute 0)."""

    def back(minutes: float) -> Service:
        return with_clock(service, lambda: at(minutes))

    sid = back(-40).start_session(
        patient=patient, protocol="esketamine-56", by="ana", bay="Bay 1", age=45, meds=()
    )
    back(-10).record_reading(sid, FULL_SET, by="ana")
    back(0).record_dose(sid, by="ana")
    return sid


def text_of(app, selector: str) -> str:
    return str(app.query_one(selector, Static).content)


def next_cell(app, patient: str) -> str:
    table = app.query_one("#floor", DataTable)
    return str(table.get_cell(str(row_of(app, patient).session_id), "next")).strip()


async def test_a_full_set_after_an_overdue_check_says_what_it_counted_for_and_what_is_left(
    service,
):
    sid = dosed(service)
    app = station(service, clock=lambda: at(26))
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        assert row_of(app, "MRN-7001").next_text == "+15 overdue 11m"
        await select(pilot, "MRN-7001")
        await pilot.press("r", *FULL_SET, "enter")
        await settle(pilot)
        assert not app.query_one(EntryBar).display  # saved and closed
        # The alarm stays (the reading served +30, on time), and the station says so where
        # the nurse looks: not under the footer, and no toast over it.
        assert row_of(app, "MRN-7001").next_text == "+15 overdue 11m"
        assert text_of(app, "#entry-note") == (
            "Saved for MRN-7001: counted for +30 (on time); +15 not done: a to record why"
        )
        assert visible_at_80x24(app, "#entry-note")
        assert not list(app._notifications)
        # What the hint says resolves it: `a`, the reason, Enter.
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AcknowledgeScreen)
        await pilot.press(*"patient asleep", "enter")
        await settle(pilot)
        assert service.session(sid).skips["+15 min"].reason == "patient asleep"
        assert row_of(app, "MRN-7001").alarm is None
        assert not app.query_one("#entry-note").display  # out of date now: gone
        await pilot.press("r")  # the entry line opens afresh in its place
        assert not app.query_one("#entry-note").display


async def test_a_bp_recheck_is_named_as_such_on_the_floor_and_after_a_save(service):
    sid = dosed(service)
    with_clock(service, lambda: at(25)).record_reading(sid, HIGH_BP, by="ana")
    with_clock(service, lambda: at(26)).skip_check(sid, "+15 min", by="ana", reason="asleep")
    moments = [at(26)]
    app = station(service, clock=lambda: moments[0])
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        # The recheck (+25 + 15) falls due with the +40 check: the floor names the recheck.
        assert row_of(app, "MRN-7001").next_text == "BP recheck in 14m"
        assert next_cell(app, "MRN-7001") == "BP recheck in 14m"  # whole at 80 columns
        moments[0] = at(53)
        app.redraw()
        assert row_of(app, "MRN-7001").next_text == "BP recheck overdue 13m"
        assert next_cell(app, "MRN-7001").startswith("BP recheck ")
        await select(pilot, "MRN-7001")
        await pilot.press("r", *FULL_SET, "enter")
        await settle(pilot)
        assert text_of(app, "#entry-note") == (
            "Saved for MRN-7001: counted for +40 (late) and BP recheck (late)"
        )


async def test_a_refused_entry_names_the_patient_offers_no_retry_and_goes_with_the_line(
    service,
):
    sid = dosed(service)
    app = station(service, clock=lambda: at(25))
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-7001")
        await pilot.press("r", *"122/80 @ 2026-11-01T09:00", "enter")
        await settle(pilot)
        bar = app.query_one(EntryBar)
        assert bar.display and app.query_one("#entry-input", Input).value.startswith("122/80")
        said = text_of(app, "#entry-preview")
        assert said.startswith("NOT saved for MRN-7001: measurement time")
        assert "tries again" not in said  # Enter again would be refused again
        assert visible_at_80x24(app, "#entry-preview")
        # Not where "database unreachable" goes, and no toast.
        status = app.query_one("#status", Static)
        assert not status.display and "measurement" not in str(status.content)
        assert not list(app._notifications)
        await pilot.press("escape")
        await settle(pilot)
        assert not bar.display and not status.display
        await pilot.press("r")
        assert text_of(app, "#entry-preview") == ""
        await pilot.press(*FULL_SET, "enter")  # the right thing: saved
        await settle(pilot)
        assert len(service.session(sid).readings) == 2


async def test_a_database_failure_offers_the_retry_and_enter_saves_once(service):
    sid = dosed(service)
    app = station(service, clock=lambda: at(25), refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-7001")
        engine, write_engine = app.service.engine, app.service.write_engine
        gone = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
        app.service.engine = app.service.write_engine = gone
        await pilot.press("r", *FULL_SET, "enter")
        await settle(pilot)
        assert text_of(app, "#entry-preview") == (
            "NOT saved for MRN-7001: database unreachable (Enter tries again)"
        )
        app.service.engine, app.service.write_engine = engine, write_engine
        await pilot.press("enter")
        await settle(pilot)
        assert not app.query_one(EntryBar).display
        assert len(service.session(sid).readings) == 2
        assert text_of(app, "#entry-note").startswith("Saved for MRN-7001: counted for +30")


async def test_a_locked_station_forgets_the_note(service):
    dosed(service)
    app = station(service, clock=lambda: at(25))
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-7001")
        await pilot.press("r", *FULL_SET, "enter")
        await settle(pilot)
        assert app.query_one("#entry-note").display
        app.locking.lock()
        await settle(pilot)
        assert not app.query_one("#entry-note").display
        assert "MRN-7001" not in text_of(app, "#entry-note")


# -- what the nurse sees at 80x24 (SVG snapshots, as tests/tui/test_snapshots.py) -----------


def _snap_after(snap_compare, service, keys: str) -> bool:
    build_floor(service)
    dosed(service)
    app = station(service, clock=lambda: at(26))

    async def run_before(pilot) -> None:
        await sign_in(pilot)
        await select(pilot, "MRN-7001")
        await pilot.press("r", *keys, "enter")
        await settle(pilot)
        no_blink(pilot)
        await steady(pilot)

    return snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_after_a_save_snapshot(snap_compare, service):
    assert _snap_after(snap_compare, service, FULL_SET)


def test_a_refused_entry_snapshot(snap_compare, service):
    assert _snap_after(snap_compare, service, "122/80 @ 2026-11-01T09:00")
