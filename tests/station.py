"""Helpers for the station (TUI) tests: a floor of sessions at a fixed time, and waiting."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from monitor.services import Service, with_clock
from tests.built import remembered
from tests.helpers import DOSED, at
from tui.app import StationApp, make_app

NOW = at(42)  # the floor is looked at 42 min after the test dose

#: A station test of what a screen shows, refuses or lays out, where nothing it checks goes
#: through the database differently on PostgreSQL (no save, PIN or period query of its own):
#: SQLite only. The services under it run on both backends in tests/services, and the station's
#: saves, PIN checks and queries on PostgreSQL in the station tests not marked so.
screen_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def build_floor(service: Service) -> dict[str, int]:
    """Five sessions: a high alarm, an overdue check, an IV infusion with a missed check, one
    before dosing (its baseline flagged), one ready. Built once, then copied into each test's
    database that starts as the first did (tests/built.py)."""
    return remembered(service, "floor", lambda: _build_floor(service))


def _build_floor(service: Service) -> dict[str, int]:
    ids: dict[str, int] = {}

    def back(minutes: float) -> Service:
        return with_clock(service, lambda: NOW - timedelta(minutes=minutes))

    early = back(200)
    ids["high"] = early.start_session(
        patient="MRN-HIGH", protocol="esketamine-56", by="ana", bay="Bay 2", age=67, meds=()
    )
    ids["overdue"] = early.start_session(
        patient="MRN-LATE", protocol="ketamine-im", by="ana", bay="Bay 4", age=29
    )
    ids["ready"] = early.start_session(
        patient="MRN-DONE",
        protocol="esketamine-84",
        by="ana",
        bay="Bay 1",
        age=46,
        meds=("benzodiazepines",),
        first_treatment=False,
        dose_number=5,
    )
    ids["predose"] = early.start_session(
        patient="MRN-PRE", protocol="esketamine-84", by="ana", bay="Bay 5", age=58, meds=()
    )
    ids["iv"] = back(60).start_session(
        patient="MRN-IV", protocol="ketamine-iv", by="ana", bay="Bay 3", age=38, dose_mg=36
    )
    ok = "128/82 hr 74 spo2 98 rr 14 moaas 5 cadss 0"

    back(50).record_reading(ids["high"], "138/86 hr 70 spo2 97 rr 14 moaas 5 cadss 0", by="ana")
    back(42).record_dose(ids["high"], by="ana")
    back(27).record_reading(ids["high"], "moaas 5 spo2 97", by="ana")
    back(12).record_reading(ids["high"], "moaas 5 spo2 97", by="ana")
    back(1).record_reading(ids["high"], "184/102 hr 92 spo2 96 rr 16 moaas 5 cadss 2", by="ana")

    back(40).record_reading(ids["overdue"], ok, by="ana")
    back(36).record_dose(ids["overdue"], by="ana")

    back(130).record_reading(ids["ready"], ok, by="ana")
    back(125).record_dose(ids["ready"], by="ana")
    for minutes in (110, 95, 65):
        back(minutes).record_reading(ids["ready"], "moaas 5 spo2 97", by="ana")
    for minutes in (85, 35, 6):
        back(minutes).record_reading(ids["ready"], ok, by="ana")

    back(4).record_reading(ids["predose"], "146/88 hr 78 spo2 98 rr 14 moaas 5 cadss 0", by="ana")

    # IV: started 50 min ago, still running (its end not recorded); the +10 check was missed.
    vitals = "126/80 hr 76 spo2 98 moaas 5"
    back(55).record_reading(ids["iv"], ok, by="ana")
    back(50).record_dose(ids["iv"], by="ana")
    for minutes in (30, 20, 10):
        back(minutes).record_reading(ids["iv"], vitals, by="ana")
    return ids


def station(service: Service, **kwargs) -> StationApp:
    """The station on the test database at the fixed time, without flashing or bell."""
    clock = kwargs.pop("clock", lambda: NOW)
    options = {"flash": False, "bell": False} | kwargs
    return make_app(service=with_clock(service, clock), clock=clock, **options)


async def settle(pilot: Pilot, timeout: float = 30.0) -> None:
    """Wait until every worker is done (failed ones included) and the screen has caught up."""
    deadline = time.monotonic() + timeout
    for _ in range(3):
        while any(not w.is_finished for w in pilot.app.workers):
            assert time.monotonic() < deadline, "workers did not finish"
            await pilot.pause(0.01)
        await pilot.pause()


#: The test database's users (tests/conftest.py) in name order: ``user_index`` counts here.
USERS = ("ana", "bo", "sam")


async def sign_in(
    pilot: Pilot, pin: str = "1234", user_index: int = 0, *, name: str | None = None
) -> None:
    """Type a user's name (``name``, else the ``user_index``-th of :data:`USERS`) and PIN on
    the sign-in screen."""
    await settle(pilot)
    await pilot.press(*(name or USERS[user_index]), "enter", *pin, "enter")
    await settle(pilot)
    # The "signed in" toast would stay painted on the floor behind the next dialog.
    pilot.app.clear_notifications()
    await pilot.pause()


async def steady(pilot: Pilot, rounds: int = 40) -> None:
    """Wait until two screens in a row are the same: some layouts take a few refreshes to
    settle (the discharge dialog fits its checklist to the rows its refusal leaves), and a
    snapshot taken between them fails now and then on a busy machine."""
    last = None
    for _ in range(rounds):
        await pilot.pause()
        shot = re.sub(r"terminal-[0-9]+-", "terminal-", pilot.app.export_screenshot())
        if shot == last:
            return
        last = shot


def no_blink(pilot: Pilot) -> None:
    """Freeze every input cursor for a stable snapshot."""
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


__all__ = [
    "DOSED",
    "NOW",
    "build_floor",
    "no_blink",
    "screen_only",
    "settle",
    "sign_in",
    "station",
    "steady",
]
