"""Nothing clinical before sign-in, and the idle lock (issue #20, docs/station.md#signing-in-
and-locking): the station draws no patient and lists no user until someone signs in, and a
station left without a key for ``idle_lock_min`` minutes goes back to sign-in, dropping the
floor and whatever was typed in a dialog."""

from __future__ import annotations

import time

import pytest
from textual.widgets import DataTable, OptionList, Static

from monitor.config_file import load_config
from monitor.core.config import (
    IDLE_LOCK_MIN,
    ClinicConfig,
    config_from_mapping,
    describe,
    rules_from_mapping,
)
from monitor.errors import ConfigError
from monitor.services import Service
from tests.station import build_floor, settle, sign_in, station, steady
from tui.dialogs.event import EventScreen
from tui.floor.entry import EntryBar
from tui.inputs import Input
from tui.signin import SignInScreen

#: Words that only patient data or the user list would put on screen.
CLINICAL = ("MRN-", "Bay ", "184/102", "esketamine", "ketamine")


def screen_text(app) -> str:
    """Everything the station draws now, as text (its SVG screenshot, spaces restored)."""
    return app.export_screenshot().replace("&#160;", " ")


def assert_nothing_clinical(app) -> None:
    text = screen_text(app)
    for word in CLINICAL:
        assert word not in text, word
    assert not app.views and not app.rows and not app.judged
    assert app.query_one("#floor", DataTable).row_count == 0


async def go_idle(pilot) -> None:
    """As if nobody had touched the station for its whole idle time (no waiting: the last key
    is set back, and the station's one-second tick runs once)."""
    app = pilot.app
    app.locking.last_input = time.monotonic() - app.locking.idle_seconds - 1
    app.tick()
    await settle(pilot)


#: The station's tests run on SQLite (the services' own tests cover both backends).
on_sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@on_sqlite
async def test_the_first_screen_is_the_sign_in_with_no_patient(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        # At the station's own terminal the names are offered (its account reads the
        # database anyway); in a browser they are typed (test_serve.py).
        assert app.screen.query(OptionList)
        assert_nothing_clinical(app)
        # Nothing was even read: the floor loads once someone has signed in.
        assert app.record_mark is None and app.loaded_at is None
        await sign_in(pilot)
        assert len(app.rows) == 5
        assert "MRN-HIGH" in screen_text(app)


@on_sqlite
async def test_the_sign_in_covers_the_floor_of_a_user_switching(service):
    """`u` (switch user) over a loaded floor: the sign-in is opaque, nothing shows through."""
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        text = screen_text(app)
        assert "MRN-" not in text and "184/102" not in text
        await pilot.press("escape")  # Esc on an empty name keeps ana
        await settle(pilot)
        assert app.user is not None and app.user.name == "ana"
        assert "MRN-HIGH" in screen_text(app)


@on_sqlite
async def test_ctrl_q_leaves_from_the_sign_in_where_q_is_typed(service):
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"q", "ctrl+q")
        await pilot.pause()
        assert app.return_code == 0


@on_sqlite
async def test_a_new_database_tells_its_first_user_how_to_begin(db_url, clock):
    empty = Service.open(db_url, clock=clock)
    try:
        app = station(empty)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert app.screen.query_one("#no-users", Static).display
    finally:
        empty.close()


@on_sqlite
async def test_an_idle_station_locks_drops_the_floor_and_the_dialog_with_its_text(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        assert app.locking.idle_seconds == 60 * IDLE_LOCK_MIN
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, EventScreen)
        app.screen.query_one("#text", Input).focus()
        await pilot.press(*"vomited twice")
        await go_idle(pilot)
        assert isinstance(app.screen, SignInScreen)
        assert len(app.screen_stack) == 2  # the floor and the sign-in: the dialog is gone
        assert app.user is None and app.sub_title == "not signed in"
        why = str(app.screen.query_one("#sign-in-why", Static).content)
        assert why == f"Locked after {IDLE_LOCK_MIN} min without a key: sign in to see the floor."
        assert_nothing_clinical(app)
        assert "vomited" not in screen_text(app)
        assert not app.query_one("#floor").display
        # Signed in again, the floor reads again, whole; the dialog stays closed, unsaved.
        await sign_in(pilot)
        assert len(app.screen_stack) == 1 and len(app.rows) == 5
        assert not any(service.session(i).events for i in app.views)


@on_sqlite
async def test_the_lock_drops_a_reading_typed_on_the_entry_line(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await pilot.press("r", *"150/95 hr 88")
        bar = app.query_one(EntryBar)
        assert bar.display
        await go_idle(pilot)
        assert not bar.display and bar.session is None
        assert app.query_one("#entry-input", Input).value == ""
        assert "150/95" not in screen_text(app)
        await sign_in(pilot)
        assert not bar.display


@on_sqlite
async def test_a_key_keeps_the_station_unlocked(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        app.locking.last_input = time.monotonic() - app.locking.idle_seconds - 1
        await pilot.press("down")  # a nurse moving along the floor
        app.tick()
        await settle(pilot)
        assert app.user is not None and len(app.screen_stack) == 1


@on_sqlite
async def test_a_station_nobody_signed_in_to_does_not_lock_again(service):
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        await go_idle(pilot)
        assert app.screen is screen  # the same sign-in, with what was typed in it


@on_sqlite
async def test_the_idle_time_is_the_station_setting(tmp_path, db_url, clock):
    file = tmp_path / "station.toml"
    file.write_text("idle_lock_min = 3\n")
    configured = Service.open(db_url, load_config(file), clock)
    configured.add_user("sam", "supervisor", "9999")
    try:
        app = station(configured)
        async with app.run_test(size=(80, 24)) as pilot:
            assert app.locking.idle_seconds == 180
            await sign_in(pilot, pin="9999", name="sam")
            await go_idle(pilot)
            why = str(app.screen.query_one("#sign-in-why", Static).content)
            assert why.startswith("Locked after 3 min without a key")
    finally:
        configured.close()


# -- the setting -------------------------------------------------------------------------------


def test_idle_lock_min_is_a_station_setting_with_a_default():
    assert ClinicConfig().idle_lock_min == IDLE_LOCK_MIN == 10
    config = config_from_mapping({"idle_lock_min": 30}, "station.toml")
    assert config.idle_lock_min == 30
    assert ("idle_lock_min", "30", "station.toml") in describe(config)


@pytest.mark.parametrize("bad", [0, 241, -5, "10", 1.5, True, 10**30])
def test_an_idle_lock_outside_1_to_240_minutes_is_refused_with_an_example(bad):
    with pytest.raises(ConfigError) as refused:
        config_from_mapping({"idle_lock_min": bad}, "station.toml")
    message = str(refused.value)
    assert "idle_lock_min must be a whole number of minutes from 1 to 240" in message
    assert "e.g. idle_lock_min = 10" in message
    assert "\n" not in message


def test_idle_lock_min_belongs_in_the_station_file_not_in_the_rules():
    with pytest.raises(ConfigError, match="station's setting"):
        rules_from_mapping({"idle_lock_min": 5}, "rules.toml")


# -- what a locked station shows (an SVG snapshot at 80x24, as tests/tui/test_snapshots.py) ----


@on_sqlite
def test_locked_station_snapshot(snap_compare, service):
    """After the lock: the sign-in says why, over nothing (the dialog typed in is gone)."""
    build_floor(service)

    async def run_before(pilot) -> None:
        await sign_in(pilot)
        await pilot.press("e")
        await settle(pilot)
        await pilot.press(*"vomited twice")
        await go_idle(pilot)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await steady(pilot)

    assert snap_compare(station(service), terminal_size=(80, 24), run_before=run_before)
