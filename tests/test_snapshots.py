"""SVG snapshots of each station screen at 80x24, clock frozen, no flashing, no cursor blink.

Update on purpose with ``pytest tests/test_snapshots.py --snapshot-update`` and look at them.
"""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from tests.station import build_floor, no_blink, settle, sign_in, station

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
SIZE = (80, 24)


async def _select(pilot, patient: str) -> None:
    index = [r.patient for r in pilot.app.rows].index(patient)
    pilot.app.query_one("#floor", DataTable).move_cursor(row=index, animate=False)
    await pilot.pause()


def _snap(snap_compare, service, steps) -> bool:
    build_floor(service)

    async def run_before(pilot) -> None:
        await settle(pilot)
        await steps(pilot)
        await settle(pilot)
        pilot.app.clear_notifications()
        no_blink(pilot)
        await pilot.pause()

    return snap_compare(station(service), terminal_size=SIZE, run_before=run_before)


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
