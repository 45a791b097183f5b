"""Follow-ups of issue 21 found at 80x24 and 120x40: the Enter typed just after a burst that
opened a dialog (or the entry line) saves, going back to the name at sign-in selects it, no
notice covers a status line, footers list only the keys that apply, and no text is cut off."""

from __future__ import annotations

import shutil

import pytest
from textual import events
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.widgets._footer import FooterKey
from textual.widgets._toast import Toast

from monitor.services import Service, with_clock
from tests.station import NOW, build_floor, settle, sign_in, station
from tests.tui.test_inputs import burst
from tests.tui.test_review_tui import open_log, open_review, worked_session
from tui.detail.screen import DetailScreen
from tui.dialogs.discharge import DischargeScreen
from tui.dialogs.event import EventScreen
from tui.dialogs.infusion_end import InfusionEndScreen
from tui.inputs import Input
from tui.review.queue import ReviewScreen
from tui.signin import SignInScreen

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def select(pilot, patient: str) -> None:
    table = pilot.app.query_one("#floor")
    table.move_cursor(row=[r.patient for r in pilot.app.rows].index(patient), animate=False)
    await pilot.pause()


def second_burst_once_the_focus_moves(monkeypatch, app, *keys: str) -> None:
    """Post ``keys`` the moment the focus is first set after this (a dialog's first field, the
    entry line): a second burst typed a moment after the first, which is still on its way."""
    original = Screen.set_focus
    sent = False

    def set_focus(screen, widget, *args, **kwargs):
        nonlocal sent
        result = original(screen, widget, *args, **kwargs)
        if not sent and widget is not None and screen is app.screen:
            sent = True
            burst(app, *keys)
        return result

    monkeypatch.setattr(Screen, "set_focus", set_focus)


# -- 1. key + text in one burst, Enter a moment later ----------------------------------------


async def test_e_and_a_note_then_enter_a_moment_later_saves_the_note(service, monkeypatch):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-HIGH")
        second_burst_once_the_focus_moves(monkeypatch, app, "enter")
        burst(app, "e", "pt comfortable")
        await settle(pilot)
        assert not isinstance(app.screen, EventScreen)
        (event,) = service.session(app.selected().id).events
        assert (event.kind, event.text) == ("note", "pt comfortable")


def what_shows(app, service) -> tuple[object, ...]:
    """The screen, where the cursor is, what each field holds, what is said, what is saved."""
    screen = app.screen
    said = [str(s.content) for s in screen.query("#form-error, EntryNote, .error") if s.display]
    focused = app.focused.id if app.focused is not None else None
    fields = {f.id: f.value for f in screen.query(Input) if f.display}
    saved = [
        (
            v.patient,
            len(v.readings),
            len(v.events),
            v.dosed_at,
            v.discharged_at,
            v.infusion_ended_at,
            len(v.open_flags()),
        )
        for v in service.active_sessions()
    ]
    return type(screen).__name__, focused, fields, said, saved


# (key, patient, what is typed with it): each dialog's first field, and the entry line.
OPENERS = [
    ("e", "MRN-HIGH", "pt comfortable"),
    ("n", "MRN-HIGH", "MRN-8000"),
    ("a", "MRN-HIGH", "rechecked, settled"),
    ("x", "MRN-DONE", "sister"),
    ("d", "MRN-PRE", "56"),
    ("i", "MRN-IV", "5"),
    ("r", "MRN-HIGH", "moaas 5 spo2 97"),
]


def fresh_service(request, tmp_path, name: str) -> Service:
    """Another fresh database with the test users (as the ``service`` fixture makes one)."""
    path = tmp_path / f"{name}.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    svc = Service.open(f"sqlite:///{path}", clock=request.getfixturevalue("clock"))
    svc.add_user("sam", "supervisor", "9999")
    svc.add_user("ana", "nurse", "1234", by="sam")
    svc.add_user("bo", "nurse", "2345", by="sam")
    return svc


async def after(service, key: str, patient: str, keys) -> tuple[object, ...]:
    """What shows once ``keys`` (a list of calls, each given the app and pilot) are done."""
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, patient)
        await keys(app, pilot)
        await settle(pilot)
        return what_shows(app, service)


@pytest.mark.parametrize(("key", "patient", "text"), OPENERS, ids=[o[0] for o in OPENERS])
async def test_key_and_text_then_enter_a_moment_later_as_if_typed_slowly(
    request, tmp_path, service, monkeypatch, key, patient, text
):
    """The same keys, typed slowly and typed as two bursts, end in the same place."""

    async def slowly(app, pilot) -> None:
        for keys in ([key], list(text), ["enter"]):
            await pilot.press(*keys)
            await settle(pilot)

    async def two_bursts(app, pilot) -> None:
        second_burst_once_the_focus_moves(monkeypatch, app, "enter")
        burst(app, key, text)

    slow_service = fresh_service(request, tmp_path, "slow")
    try:
        expected = await after(slow_service, key, patient, slowly)
    finally:
        slow_service.close()
    assert await after(service, key, patient, two_bursts) == expected


# -- 2. sign-in: back to the name after a refused PIN --------------------------------------


def sign_in_said(app) -> str:
    return str(app.screen.query_one("#sign-in-error", Static).content)


@pytest.mark.parametrize("back", ["escape", "shift+tab"])
async def test_back_to_the_name_after_a_refused_pin_selects_it(service, back):
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        await pilot.press(*"bo", "enter", *"0000", "enter")  # the wrong PIN
        await settle(pilot)
        assert "not accepted" in sign_in_said(app)
        await pilot.press(back)
        name = app.screen.query_one("#name", Input)
        assert name.has_focus
        await pilot.press(*"ana")  # replaces "bo"
        assert name.value == "ana"
        assert sign_in_said(app) == ""  # the refusal was of the name before
        await pilot.press("enter", *"1234", "enter")
        await settle(pilot)
        assert app.user is not None and app.user.name == "ana"


@pytest.mark.parametrize("back", ["escape", "shift+tab"])
async def test_back_to_the_name_in_one_burst_replaces_it(service, back):
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"bo", "enter", *"0000", "enter")
        await settle(pilot)
        app.post_message(events.Key(back, None))
        burst(app, "ana", "enter", "1234", "enter")
        await settle(pilot)
        assert app.user is not None and app.user.name == "ana"


# -- 3. notices and footers --------------------------------------------------------------------


def covered(app, widget_id: str) -> list[str]:
    """The notices drawn over the widget ``widget_id`` of the screen in front."""
    line = app.screen.query_one(f"#{widget_id}").region
    return [
        str(toast.region)
        for toast in app.screen.query(Toast)
        if toast.region.overlaps(line) and toast.region.area
    ]


def footer_keys(app) -> list[str]:
    return [key.key for key in app.screen.query(FooterKey) if key.display]


async def test_no_notice_covers_review_modes_status_line(service):
    worked_session(service, reviewed=False)
    app = station(service)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press(*"sam", "enter", *"9999", "enter")  # not tests.station.sign_in:
        await settle(pilot)  # that one clears the notices
        assert isinstance(app.screen, ReviewScreen)
        assert covered(app, "review-status") == []
        app.notify("a notice in review mode")
        await pilot.pause()
        assert [n.message for n in app._notifications] == ["a notice in review mode"]
        assert app.screen.query(Toast) and covered(app, "review-status") == []
        await open_log(pilot, "MRN-WORK")
        status = app.screen.query_one("#log-status")
        status.display = True
        app.notify("a notice over the log")
        await pilot.pause()
        assert app.screen.query(Toast) and covered(app, "log-status") == []


async def test_the_supervisors_floor_footer_lists_review_and_still_takes_i(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, pin="9999", name="sam")
        await pilot.press("escape")  # from review mode to the floor
        await settle(pilot)
        keys = footer_keys(app)
        assert "v" in keys and "i" not in keys
        assert max(k.region.right for k in app.screen.query(FooterKey) if k.display) <= 80
        await select(pilot, "MRN-IV")
        await pilot.press("i")  # not listed, still a key
        await settle(pilot)
        assert isinstance(app.screen, InfusionEndScreen)


async def test_a_nurses_floor_footer_lists_iv_end_not_review(service):
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        keys = footer_keys(app)
        assert "i" in keys and "v" not in keys


async def test_the_logs_chart_tab_does_not_list_void_and_correct(service):
    worked_session(service, reviewed=False)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        await open_log(pilot, "MRN-WORK")
        assert {"v", "c"} <= set(footer_keys(app))
        await pilot.press("right")  # the chart
        await pilot.pause()
        assert not {"v", "c"} & set(footer_keys(app))
        await pilot.press("left")
        await pilot.pause()
        assert {"v", "c"} <= set(footer_keys(app))


# -- 4. nothing cut off ------------------------------------------------------------------------

LONG_REASON = "patient in the bathroom, will recheck as soon as she is back in her bay"


async def test_the_schedules_note_wraps_at_80_columns(service):
    ids = build_floor(service)
    with_clock(service, lambda: NOW).skip_check(
        ids["overdue"], "+15 min", by="ana", reason=LONG_REASON
    )
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, "MRN-LATE")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
        table = app.screen.query_one("#schedule", DataTable)
        assert table.virtual_size.width <= table.size.width  # nothing off to the right
        words = " ".join(
            str(line.text) for line in table.render_lines(table.region.reset_offset)
        ).split()
        assert " ".join(words).count(LONG_REASON) == 1


async def open_discharge(pilot, patient: str) -> DischargeScreen:
    await sign_in(pilot)
    await select(pilot, patient)
    await pilot.press("x")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, DischargeScreen)
    return screen


async def test_the_discharge_checklist_grows_to_its_lines_at_120x40(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_discharge(pilot, "MRN-HIGH")
        await pilot.press("enter")  # refused: a line more
        await settle(pilot)
        box = screen.query_one("#checklist-box")
        assert box.max_scroll_y == 0  # every line shown, no scrollbar
        assert screen.query_one("#dialog").region.bottom <= 40


async def test_the_discharge_checklist_leaves_room_for_the_buttons_at_80x24(service):
    build_floor(service)
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_discharge(pilot, "MRN-HIGH")
        for _ in range(2):
            await pilot.press("enter")  # refused: a line more under the title
            await settle(pilot)
            assert screen.query_one("#form-error").display
            bottom = screen.query_one("#dialog").region.bottom
            assert screen.query_one("#discharge").region.bottom < bottom <= 24
            assert screen.query_one("#checklist-box").region.height >= 3
