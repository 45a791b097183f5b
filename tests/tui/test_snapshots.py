"""SVG snapshots of each station screen at 80x24, clock frozen, no flashing, no cursor blink.

Update on purpose with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import create_engine
from textual.widgets import DataTable, Input, Select, SelectionList

from monitor.services import with_clock
from tests.station import NOW, build_floor, no_blink, settle, sign_in, station, steady
from tui.detail.screen import DetailScreen

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
SIZE = (80, 24)


async def _select(pilot, patient: str) -> None:
    index = [r.patient for r in pilot.app.rows].index(patient)
    pilot.app.query_one("#floor", DataTable).move_cursor(row=index, animate=False)
    await pilot.pause()


async def _choose(pilot, selector: str, value) -> None:
    pilot.app.screen.query_one(selector, Select).value = value
    await pilot.pause()


def _snap(snap_compare, service, steps, setup=None, app=None) -> bool:
    ids = build_floor(service)
    if setup is not None:
        setup(ids)

    async def run_before(pilot) -> None:
        await settle(pilot)
        await steps(pilot)
        await settle(pilot)
        pilot.app.clear_notifications()
        no_blink(pilot)
        await steady(pilot)

    return snap_compare(app or station(service), terminal_size=SIZE, run_before=run_before)


def test_sign_in_screen(snap_compare, service):
    async def steps(pilot):
        pass

    assert _snap(snap_compare, service, steps)


def test_dashboard(snap_compare, service):
    assert _snap(snap_compare, service, sign_in)


def test_entry_line_with_preview(snap_compare, service):
    async def steps(pilot):
        await sign_in(pilot)
        await _select(pilot, "MRN-PRE")
        await pilot.press("r", *"186/112 hr 135 spo2 91 moaas 3")

    assert _snap(snap_compare, service, steps)


def test_acknowledge_screen(snap_compare, service):
    async def steps(pilot):
        await sign_in(pilot)
        await _select(pilot, "MRN-HIGH")
        await pilot.press("a")

    assert _snap(snap_compare, service, steps)


def test_discharge_gate_met(snap_compare, service):
    async def steps(pilot):
        await sign_in(pilot)
        await _select(pilot, "MRN-DONE")
        await pilot.press("x")

    assert _snap(snap_compare, service, steps)


def test_discharge_gate_not_met(snap_compare, service):
    async def steps(pilot):
        await sign_in(pilot)
        await _select(pilot, "MRN-HIGH")
        await pilot.press("x")

    assert _snap(snap_compare, service, steps)


def test_new_session_form(snap_compare, service):
    async def steps(pilot):
        await sign_in(pilot)
        await pilot.press("n")

    assert _snap(snap_compare, service, steps)


def test_detail_schedule(snap_compare, service):
    async def steps(pilot):
        await sign_in(pilot)
        await _select(pilot, "MRN-HIGH")
        await pilot.press("enter")

    assert _snap(snap_compare, service, steps)


def test_detail_chart(snap_compare, service):
    async def steps(pilot):
        await sign_in(pilot)
        await _select(pilot, "MRN-DONE")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("right", "right")

    assert _snap(snap_compare, service, steps)


def test_new_session_refused_keeps_the_form(snap_compare, service):
    async def steps(pilot):
        await sign_in(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*"MRN-HIGH", "tab", "tab", *"67")
        await _choose(pilot, "#first", False)
        pilot.app.screen.query_one("#dose-number", Input).value = "4"
        pilot.app.screen.query_one("#meds", SelectionList).select("none")
        pilot.app.screen.query_one("#lot", Input).focus()
        await pilot.press(*"LOT-9", "enter")

    assert _snap(snap_compare, service, steps)


def test_event_form_adverse(snap_compare, service):
    async def steps(pilot):
        await sign_in(pilot)
        await _select(pilot, "MRN-HIGH")
        await pilot.press("e")
        await settle(pilot)
        await _choose(pilot, "#kind", "adverse")
        await _choose(pilot, "#type", "nausea")
        await _choose(pilot, "#severity", "moderate")
        pilot.app.screen.query_one("#text", Input).focus()
        await pilot.press(*"nauseated, no vomiting")

    assert _snap(snap_compare, service, steps)


def test_acknowledge_check_alarm(snap_compare, service):
    async def steps(pilot):
        await sign_in(pilot)
        await _select(pilot, "MRN-IV")
        await pilot.press("a", *"patient asleep")

    assert _snap(snap_compare, service, steps)


def test_dose_gate_not_met(snap_compare, service):
    async def steps(pilot):
        await sign_in(pilot)
        await _select(pilot, "MRN-PRE")
        await pilot.press("d")

    assert _snap(snap_compare, service, steps)


def test_dose_gate_met(snap_compare, service):
    def setup(ids):
        view = service.session(ids["predose"])
        flags = [f.id for f in view.open_flags()]
        with_clock(service, lambda: NOW).acknowledge_many(flags, by="sam", action="reviewed, dose")

    async def steps(pilot):
        await sign_in(pilot)
        await _select(pilot, "MRN-PRE")
        await pilot.press("d")

    assert _snap(snap_compare, service, steps, setup)


def test_infusion_end(snap_compare, service):
    async def steps(pilot):
        await sign_in(pilot)
        await _select(pilot, "MRN-IV")
        await pilot.press("i", "4")

    assert _snap(snap_compare, service, steps)


def test_dose_co_signer_pin_refused(snap_compare, service):
    """A nurse's override co-signed in the dialog: the supervisor's PIN refused, shown under the
    title, that field emptied and everything else kept."""

    async def steps(pilot):
        await sign_in(pilot)
        await _select(pilot, "MRN-PRE")
        await pilot.press("d")
        await settle(pilot)
        await pilot.press(*"prescriber reviewed BP, proceed", "enter", *"1234", "enter")
        await pilot.press(*"sam", "enter", *"0000", "enter")

    assert _snap(snap_compare, service, steps)


def test_discharge_co_signer_not_a_supervisor(snap_compare, service):
    async def steps(pilot):
        await sign_in(pilot)
        await _select(pilot, "MRN-LATE")
        await pilot.press("x")
        await settle(pilot)
        await pilot.press(*"none: lives alone, taxi booked")
        await _choose(pilot, "#instructions", True)
        pilot.app.screen.query_one("#override", Input).focus()
        await pilot.press(*"transferred to ED", "enter", *"1234", "enter")
        await pilot.press(*"bo", "enter", *"2345", "enter")

    assert _snap(snap_compare, service, steps)


def test_acknowledge_before_dosing_flag_co_signed(snap_compare, service):
    async def steps(pilot):
        await sign_in(pilot)
        await _select(pilot, "MRN-PRE")
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*"prescriber reviewed, proceed", "enter", *"sam")

    assert _snap(snap_compare, service, steps)


def test_infusion_end_correction(snap_compare, service):
    def setup(ids):
        with_clock(service, lambda: NOW).record_infusion_end(
            ids["iv"], by="ana", at=NOW - timedelta(minutes=2)
        )

    async def steps(pilot):
        await sign_in(pilot)
        await _select(pilot, "MRN-IV")
        await pilot.press("i")
        await settle(pilot)
        await pilot.press("6", "enter", *"pump stopped earlier than noted")

    assert _snap(snap_compare, service, steps, setup)


def test_discharge_refused_in_place_when_the_gate_broke(snap_compare, service):
    async def steps(pilot):
        await sign_in(pilot)
        await _select(pilot, "MRN-DONE")
        await pilot.press("x")
        await settle(pilot)
        await pilot.press(*"daughter")
        await _choose(pilot, "#instructions", True)
        # Another station records a flagged reading while the dialog is open.
        session_id = pilot.app.screen.view.id
        with_clock(service, lambda: NOW).record_reading(session_id, "hr 135", by="bo")
        pilot.app.screen.query_one("#ready-minute", Input).focus()
        await pilot.press("enter")

    # No background reload: the floor behind the dialog stays as it was when it opened.
    app = station(service, refresh_seconds=3600)
    assert _snap(snap_compare, service, steps, app=app)


def _detail_setup(service):
    def setup(ids):
        now = with_clock(service, lambda: NOW)
        sid = ids["iv"]
        now.add_event(
            sid, kind="adverse", by="ana", text="nauseated", type="nausea", severity="mild"
        )
        now.add_event(
            sid, kind="intervention", by="ana", text="ondansetron 4 mg", type="antiemetic"
        )
        now.add_event(sid, kind="note", by="bo", text="husband drives home")
        wrong = now.record_reading(sid, "92/60 hr 70", by="ana")
        now.void(wrong.id, by="ana", reason="wrong patient")
        now.record_reading(sid, "moaas 5", by="bo", measured_at=NOW - timedelta(minutes=15))
        now.skip_check(sid, "+10 min", by="ana", reason="line change")

    return setup


def _detail_tab(tab: int):
    async def steps(pilot):
        await sign_in(pilot)
        await _select(pilot, "MRN-IV")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press(*["right"] * tab)

    return steps


def test_detail_schedule_with_skip(snap_compare, service):
    assert _snap(snap_compare, service, _detail_tab(0), _detail_setup(service))


def test_detail_readings_void_and_late_entry(snap_compare, service):
    assert _snap(snap_compare, service, _detail_tab(1), _detail_setup(service))


def test_detail_events(snap_compare, service):
    assert _snap(snap_compare, service, _detail_tab(2), _detail_setup(service))


def test_detail_session_active(snap_compare, service):
    assert _snap(snap_compare, service, _detail_tab(3), _detail_setup(service))


def test_detail_session_discharged(snap_compare, service):
    discharged = []

    def setup(ids):
        discharged.append(
            with_clock(service, lambda: NOW).discharge(
                ids["ready"], by="ana", escort="daughter", instructions_given=True, ready_minute=95
            )
        )

    async def steps(pilot):
        await sign_in(pilot)
        pilot.app.push_screen(DetailScreen(discharged[0], service.config.thresholds))
        await settle(pilot)
        await pilot.press("right", "right", "right")

    assert _snap(snap_compare, service, steps, setup)


def test_dashboard_stale_data_and_clock_warning(snap_compare, service):
    moments = [NOW]
    app = station(service, clock=lambda: moments[0], refresh_seconds=3600)
    app.service.clock_offset = lambda local: -45.0

    async def steps(pilot):
        await sign_in(pilot)
        pilot.app.service.engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
        pilot.app.refresh_floor()
        await settle(pilot)
        moments[0] = NOW + timedelta(seconds=75)
        pilot.app.tick()

    assert _snap(snap_compare, service, steps, app=app)
