"""SVG snapshots of review mode's screens at 80x24: the queue, its filters and help, one
session's log and chart, and the void, correct, sign-off and reopen dialogs (clock frozen, no
flashing, no cursor blink).

Update on purpose with ``pytest -n 0 tests/tui/test_review_snapshots.py --snapshot-update`` and
look at them.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input, OptionList

from monitor.present.session import EntryKind
from tests.present.test_sessionlog import worked_session
from tests.station import no_blink, settle, sign_in, steady
from tests.tui.test_review_tui import (
    SAM,
    highlight_reading,
    open_log,
    quick_session,
    review_station,
)
from tui.review.log import SessionLogScreen

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
SIZE = (80, 24)


def _snap(snap_compare, service, steps, *, reviewed: bool = False) -> bool:
    ids = worked_session(service, reviewed=reviewed)
    worked_session(service, patient="MRN-OTHER", day=-1)
    quick_session(service, "MRN-IM", -30 * 60)

    async def run_before(pilot) -> None:
        await sign_in(pilot, pin="9999", user_index=SAM)
        await settle(pilot)
        await steps(pilot, ids)
        await settle(pilot)
        pilot.app.clear_notifications()
        no_blink(pilot)
        await steady(pilot)

    return snap_compare(review_station(service), terminal_size=SIZE, run_before=run_before)


async def _log(pilot, ids) -> SessionLogScreen:
    return await open_log(pilot, "MRN-WORK")


async def _signed_too(pilot) -> None:
    """Untick every yes/no filter: the queue shows signed sessions too."""
    await pilot.press("slash")
    await settle(pilot)
    pilot.app.screen.query_one("#questions").deselect_all()
    pilot.app.screen.query_one("#questions").focus()
    await pilot.press("enter")
    await settle(pilot)


def test_review_queue(snap_compare, service):
    async def steps(pilot, ids):
        pass

    assert _snap(snap_compare, service, steps)


def test_review_filters(snap_compare, service):
    async def steps(pilot, ids):
        await pilot.press("slash")

    assert _snap(snap_compare, service, steps)


def test_review_queue_help(snap_compare, service):
    async def steps(pilot, ids):
        await pilot.press("question_mark")

    assert _snap(snap_compare, service, steps)


def test_session_log_top(snap_compare, service):
    assert _snap(snap_compare, service, _log)


def test_session_log_corrections_voids_and_late_entry(snap_compare, service):
    async def steps(pilot, ids):
        screen = await _log(pilot, ids)
        await highlight_reading(pilot, ids["typo"])
        screen.query_one("#log", OptionList).scroll_to_highlight(top=True)

    assert _snap(snap_compare, service, steps)


def test_session_log_discharge_and_sign_offs(snap_compare, service):
    async def steps(pilot, ids):
        await _signed_too(pilot)
        await _log(pilot, ids)
        await pilot.press("end")

    assert _snap(snap_compare, service, steps, reviewed=True)


def test_session_log_chart(snap_compare, service):
    async def steps(pilot, ids):
        await _log(pilot, ids)
        await pilot.press("right")

    assert _snap(snap_compare, service, steps)


def test_void_dialog_refused_without_a_reason(snap_compare, service):
    async def steps(pilot, ids):
        await _log(pilot, ids)
        await highlight_reading(pilot, ids["late"])
        await pilot.press("v")
        await settle(pilot)
        await pilot.press("enter")  # a blank reason: said, the cursor stays there

    assert _snap(snap_compare, service, steps)


def test_correct_dialog(snap_compare, service):
    async def steps(pilot, ids):
        await _log(pilot, ids)
        await highlight_reading(pilot, ids["high"])
        await pilot.press("c")
        await settle(pilot)
        pilot.app.screen.query_one("#entry", Input).value = "182/102 hr 92 spo2 96"
        pilot.app.screen.query_one("#reason", Input).focus()
        await pilot.press(*"SBP misheard")

    assert _snap(snap_compare, service, steps)


def test_sign_off_dialog(snap_compare, service):
    async def steps(pilot, ids):
        await _log(pilot, ids)
        await pilot.press("s")

    assert _snap(snap_compare, service, steps)


def test_reopen_dialog_wrong_pin(snap_compare, service):
    async def steps(pilot, ids):
        screen = await _log(pilot, ids)
        assert screen.loaded is not None
        assert any(e.kind is EntryKind.SIGN for e in screen.loaded.entries)
        await pilot.press("o")
        await settle(pilot)
        await pilot.press(*"late entry to check", "enter", *"1234", "enter")

    async def signed(pilot, ids):
        await _signed_too(pilot)
        await steps(pilot, ids)

    assert _snap(snap_compare, service, signed, reviewed=True)
