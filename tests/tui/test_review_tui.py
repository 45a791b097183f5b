"""Review mode (tui/review/), driven as a supervisor drives it (Textual Pilot), on real SQLite
and PostgreSQL databases: who may open it, the queue's filters and pages, one session's log,
and voiding, correcting, signing off and reopening through the dialogs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rich.console import Console
from textual.widgets import DataTable, Input, OptionList, Select, Static

from monitor.errors import PermissionDenied
from monitor.present.session import EntryKind
from monitor.services import Service, with_clock
from monitor.views import UserView
from tests.helpers import at
from tests.present.test_sessionlog import worked_session
from tests.station import screen_only, settle, sign_in, station
from tui.review.correct import CorrectScreen
from tui.review.filter_dialog import FilterScreen
from tui.review.log import SessionLogScreen
from tui.review.queue import ReviewScreen
from tui.review.reopen import ReopenScreen
from tui.review.sign import SignScreen
from tui.review.void import VoidScreen
from tui.ticks import Ticks

#: The station looks at the record the afternoon after the worked sessions.
NOW = at(300)
SAM, ANA = 2, 0  # the sign-in list is by name: ana, bo, sam


def review_station(service: Service, **kwargs):
    return station(service, clock=lambda: NOW, **kwargs)


def quick_session(service: Service, patient: str, discharged_min: float, *, by: str = "bo") -> int:
    """A ketamine-im session discharged (by override, never dosed) ``discharged_min`` after the
    test dose."""
    start = with_clock(service, lambda: at(discharged_min - 20))
    sid = start.start_session(patient=patient, protocol="ketamine-im", by=by, age=40)
    with_clock(service, lambda: at(discharged_min)).discharge(
        sid,
        by=by,
        override_reason="dose withheld, patient left",
        escort="none",
        instructions_given=True,
        cosign="sam",
    )
    return sid


def queue_patients(app) -> list[str]:
    screen = app.screen
    assert isinstance(screen, ReviewScreen)
    return [row.patient for row in screen.page.rows] if screen.page else []


def messages(app) -> list[str]:
    return [n.message for n in app._notifications]


def form_error(app) -> str:
    return str(app.screen.query_one("#form-error", Static).content)


def option_text(prompt) -> str:
    console = Console(width=80, record=True, color_system=None)
    console.print(prompt)
    return console.export_text()


def log_lines(app) -> list[str]:
    log = app.screen.query_one("#log", OptionList)
    return [option_text(log.get_option_at_index(i).prompt) for i in range(log.option_count)]


async def open_review(pilot) -> None:
    """Sign in as sam: a supervisor lands in review mode."""
    await sign_in(pilot, pin="9999", user_index=SAM)
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReviewScreen)


async def open_log(pilot, patient: str) -> SessionLogScreen:
    table = pilot.app.screen.query_one("#queue", DataTable)
    table.move_cursor(row=queue_patients(pilot.app).index(patient), animate=False)
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SessionLogScreen) and screen.loaded is not None
    return screen


async def highlight_reading(pilot, reading_id: int) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, SessionLogScreen) and screen.loaded is not None
    index = next(
        i
        for i, e in enumerate(screen.loaded.entries)
        if e.kind is EntryKind.READING and e.reading_id == reading_id
    )
    log = screen.query_one("#log", OptionList)
    log.highlighted = next(
        i for i in range(log.option_count) if log.get_option_at_index(i).id == str(index)
    )
    await pilot.pause()


# -- who may review -------------------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_nurse_who_signs_in_cannot_open_review_mode(service):
    worked_session(service, reviewed=False)
    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, pin="1234", user_index=ANA)
        assert len(app.screen_stack) == 1  # a nurse lands on the floor
        await pilot.press("v")
        await settle(pilot)
        assert len(app.screen_stack) == 1
        assert "Review mode is for supervisors" in messages(app)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_supervisor_lands_in_review_mode_and_escape_goes_to_the_floor(service):
    worked_session(service, reviewed=False)
    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        assert queue_patients(app) == ["MRN-WORK"]
        await pilot.press("escape")
        await settle(pilot)
        assert len(app.screen_stack) == 1
        await pilot.press("v")  # and back again from the floor
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)


async def test_the_services_refuse_a_nurses_sign_off_and_reopening(service):
    ids = worked_session(service, reviewed=False)
    sid = ids["session"]
    with pytest.raises(PermissionDenied, match="only a supervisor"):
        service.sign(sid, by="ana", pin="1234")
    service.sign(sid, by="sam", pin="9999")
    with pytest.raises(PermissionDenied, match="only a supervisor"):
        service.reopen(sid, by="ana", reason="want to change it")
    assert service.session(sid).signed_by == "sam"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_log_refuses_a_nurse_its_keys(service):
    """Review mode is opened for supervisors only; should a nurse's log be shown anyway, its
    keys refuse her before any dialog opens."""
    ids = worked_session(service, reviewed=False)
    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, pin="1234", user_index=ANA)
        nurse = UserView(2, "ana", "nurse")
        app.push_screen(SessionLogScreen(app.service, ids["session"], nurse, clock=lambda: NOW))
        await settle(pilot)
        await highlight_reading(pilot, ids["late"])
        for key in ("s", "v", "c"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, SessionLogScreen), key
        assert messages(app).count("Review mode is for supervisors") == 3


# -- the queue ------------------------------------------------------------------------------


async def apply_filter(pilot, *, period=None, nurse=None, protocol=None, ticks=None, dates=None):
    await pilot.press("slash")
    await settle(pilot)
    dialog = pilot.app.screen
    assert isinstance(dialog, FilterScreen)
    if period is not None:
        dialog.query_one("#period", Select).value = period
    if nurse is not None:
        dialog.query_one("#nurse", Select).value = nurse
    if protocol is not None:
        dialog.query_one("#protocol", Select).value = protocol
    await pilot.pause()
    if dates is not None:
        dialog.query_one("#since", Input).value, dialog.query_one("#until", Input).value = dates
    if ticks is not None:
        questions = dialog.query_one("#questions", Ticks)
        questions.deselect_all()
        for key in ticks:
            questions.select(key)
    dialog.query_one("#questions", Ticks).focus()
    await pilot.press("enter")
    await settle(pilot)


async def test_the_queue_filters_by_period_nurse_protocol_and_questions(service):
    worked_session(service, reviewed=False)  # ana's, 27 Nov: high flag, override, late ...
    worked_session(service, patient="MRN-SIGNED", day=-2)  # signed off
    quick_session(service, "MRN-IM", -24 * 60)  # bo's ketamine-im of 26 Nov, no flags
    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        assert queue_patients(app) == ["MRN-WORK", "MRN-IM"]  # newest discharge first
        await apply_filter(pilot, ticks=["unsigned", "flagged"])
        assert queue_patients(app) == ["MRN-WORK"]
        assert "had a high flag" in str(app.screen.query_one("#review-filters", Static).content)
        # A nurse's sessions: those she started, recorded in or discharged (bo voided his
        # reading of the wrong patient in MRN-WORK).
        await apply_filter(pilot, ticks=["unsigned"], nurse="ana")
        assert queue_patients(app) == ["MRN-WORK"]
        await apply_filter(pilot, nurse="bo")
        assert queue_patients(app) == ["MRN-WORK", "MRN-IM"]
        await apply_filter(pilot, nurse=Select.NULL, protocol="esketamine-84", ticks=[])
        assert queue_patients(app) == ["MRN-WORK", "MRN-SIGNED"]
        await apply_filter(pilot, protocol=Select.NULL, period="yesterday", ticks=[])
        assert queue_patients(app) == ["MRN-IM"]
        await apply_filter(pilot, period="dates", dates=("2026-11-25", "2026-11-25"), ticks=[])
        assert queue_patients(app) == ["MRN-SIGNED"]
        for ticked in (["override"], ["late"], ["late_entries"], ["adverse"]):
            await apply_filter(pilot, period="any", ticks=ticked)
            expected = {
                "override": ["MRN-WORK", "MRN-IM", "MRN-SIGNED"],
            }.get(ticked[0], ["MRN-WORK", "MRN-SIGNED"])
            assert queue_patients(app) == expected, ticked
        # The row's counts: flags by severity, the slowest high flag's wait, checks late /
        # missed, late entries, adverse events, override, signed.
        table = app.screen.query_one("#queue", DataTable)
        cells = [str(c).strip() for c in table.get_row_at(1)]
        assert cells[1:] == [
            "MRN-SIGNED",
            "esk84",
            "1/2/1",
            "12 min",
            "0/1",
            "1",
            "1",
            "yes",
            "sam",
        ]


@screen_only
async def test_a_bad_period_is_refused_in_the_filter_dialog_with_what_was_typed_kept(service):
    quick_session(service, "MRN-IM", 10)
    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        await apply_filter(pilot, period="dates", dates=("2026-11-28", "yesterday-ish"))
        dialog = app.screen
        assert isinstance(dialog, FilterScreen)
        assert "not understood" in form_error(app)
        assert dialog.query_one("#until", Input).value == "yesterday-ish"
        dialog.query_one("#until", Input).value = "2026-11-27"
        dialog.query_one("#questions", Ticks).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(dialog, FilterScreen)
        assert "ends before it begins" in form_error(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert queue_patients(app) == ["MRN-IM"]  # the filters as they were


async def test_the_queue_pages_newest_first_without_losing_a_session_at_a_shared_moment(service):
    # Five sessions, two of them discharged at the same moment, on pages of two.
    for patient, minute in (("P1", 10), ("P2", 20), ("P3", 30), ("P4", 30), ("P5", 40)):
        quick_session(service, patient, minute)
    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, pin="9999", user_index=SAM)
        await pilot.press("escape")  # from the review mode sign-in opened, to the floor
        sam = UserView(1, "sam", "supervisor")
        app.push_screen(ReviewScreen(app.service, sam, clock=lambda: NOW, page_size=2))
        await settle(pilot)
        pages = [queue_patients(app)]
        while app.screen.page.more:
            await pilot.press("right_square_bracket")
            await settle(pilot)
            pages.append(queue_patients(app))
        assert pages == [["P5", "P4"], ["P3", "P2"], ["P1"]]
        assert "Page 3: sessions 5-5" in str(app.screen.query_one("#review-status", Static).content)
        await pilot.press("right_square_bracket")  # no page after the last
        await settle(pilot)
        assert queue_patients(app) == ["P1"]
        await pilot.press("left_square_bracket", "left_square_bracket")
        await settle(pilot)
        assert queue_patients(app) == ["P5", "P4"]


async def test_the_queue_reloads_when_the_record_changes(service):
    worked_session(service, reviewed=False)
    app = review_station(service, refresh_seconds=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        assert queue_patients(app) == ["MRN-WORK"]
        quick_session(service, "MRN-LATE", 280)  # another station discharges someone
        for _ in range(200):
            await pilot.pause(0.05)
            await settle(pilot)
            if queue_patients(app) == ["MRN-LATE", "MRN-WORK"]:
                break
        assert queue_patients(app) == ["MRN-LATE", "MRN-WORK"]


# -- one session's log ----------------------------------------------------------------------


async def test_the_log_tells_the_whole_story_in_time_order(service):
    ids = worked_session(service)
    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        await apply_filter(pilot, ticks=[])  # signed sessions too
        screen = await open_log(pilot, "MRN-WORK")
        assert "Signed by sam at 2026-11-27 12:40; meaning: reviewed" in str(
            screen.query_one("#log-title", Static).content
        )
        lines = log_lines(app)
        text = "\n".join(lines)
        assert lines[0].strip() == "── Fri 27 Nov 2026 ──"
        story = [
            "Session opened for MRN-WORK",
            f"#{ids['baseline']} 138/84",
            "Dose given",
            "Check +15 min: missed",
            "Adverse event: nausea (mild): nauseous",
            f"#{ids['high']} 184/102",
            "acknowledged by ana 09:53",
            "Acknowledged after 12 min: rechecked, prescriber informed",
            f"#{ids['typo']} spo2 99 moaas 5",
            f"#{ids['correction']} spo2 97 moaas 5",
            f"correction of #{ids['typo']} by ana at 10:02: typo: 97",
            f"#{ids['wrong']} 92/60 hr 70",
            "VOIDED by bo at 10:12: wrong patient",
            f"#{ids['late']} 138/84",
            "LATE ENTRY: saved 10:45, 15 min after it was measured",
            "Discharged: gate NOT met, OVERRIDDEN by ana, co-signed by sam",
            "escort: husband",
            "Signed off: reviewed by sam at 12:20",
            "Sign-off withdrawn (reopened): SpO2 correction to check",
            "Signed off: reviewed by sam at 12:40",
        ]
        where = [text.index(part) for part in story]
        assert where == sorted(where), story
        assert "not done: patient asleep (ana, 09:50)" in text
        await pilot.press("right")  # the chart of the detail view
        await settle(pilot)
        assert screen.query_one("#log-tabs").active == "tab-log-chart"
        await pilot.press("left", "escape")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)


# -- void, correct, sign off, reopen --------------------------------------------------------


async def test_void_through_the_dialog_refuses_a_blank_reason_and_a_wrong_pin(service):
    ids = worked_session(service, reviewed=False)
    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        await open_log(pilot, "MRN-WORK")
        await highlight_reading(pilot, ids["late"])
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, VoidScreen)
        await pilot.press("enter")  # no reason: the cursor stays where the reason goes
        await settle(pilot)
        assert "say why" in form_error(app)
        assert app.screen.query_one("#reason", Input).has_focus
        app.screen.query_one("#pin", Input).focus()
        await pilot.press(*"9999", "enter")  # saved without a reason: refused
        await settle(pilot)
        assert "say why" in form_error(app)
        assert app.screen.query_one("#pin", Input).value == "9999"
        assert app.screen.query_one("#reason", Input).has_focus
        await pilot.press(*"typed on the wrong chart", "enter")
        app.screen.query_one("#pin", Input).value = ""
        await pilot.press(*"0000", "enter")  # a wrong PIN
        await settle(pilot)
        assert isinstance(app.screen, VoidScreen)
        assert "name or PIN not accepted" in form_error(app)
        assert app.screen.query_one("#reason", Input).value == "typed on the wrong chart"
        assert app.screen.query_one("#pin", Input).value == ""
        assert app.screen.query_one("#pin", Input).has_focus
        await pilot.press(*"99x9.9", "enter")  # a PIN is digits only: the rest is not typed
        await settle(pilot)
        assert isinstance(app.screen, SessionLogScreen)
        assert "VOIDED by sam at 14:00: typed on the wrong chart" in "\n".join(log_lines(app))
    voided = service.session(ids["session"]).reading(ids["late"])
    assert voided is not None and voided.voided is not None and voided.voided.by == "sam"


async def test_correct_through_the_dialog_keeps_the_original_struck_through(service):
    ids = worked_session(service, reviewed=False)
    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        await open_log(pilot, "MRN-WORK")
        await highlight_reading(pilot, ids["typo"])
        await pilot.press("c")  # the typo was corrected already: correct the correction
        await settle(pilot)
        assert isinstance(app.screen, SessionLogScreen)
        # The core's reason (monitor.core.review.change_refusal), as the services give it.
        said = f"reading {ids['typo']} was already corrected by reading {ids['correction']}"
        assert any(said in m for m in messages(app))
        await highlight_reading(pilot, ids["correction"])
        await pilot.press("c")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, CorrectScreen)
        assert dialog.query_one("#entry", Input).value == "spo2 97 moaas 5"
        await pilot.press(*"spo2 96 moaas 9")  # typed over the selected line: impossible
        await pilot.press("enter", *"SpO2 misread", "enter", *"9999", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CorrectScreen)
        assert "MOAA/S" in form_error(app)
        dialog.query_one("#entry", Input).value = "spo2 96 moaas 5"
        dialog.query_one("#pin", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SessionLogScreen)
    view = service.session(ids["session"])
    newest = view.readings[-1] if view.readings[-1].corrects else None
    corrected = [r for r in view.readings if r.corrects == ids["correction"]]
    assert len(corrected) == 1 and corrected[0].recorded_by == "sam"
    assert corrected[0].reason == "SpO2 misread"
    assert corrected[0].vitals.spo2 == 96 and corrected[0].measured_at == at(60)
    assert newest is None or newest.id == corrected[0].id


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_log_shows_the_cores_reason_before_any_dialog_opens(service):
    """Sign, reopen, void and correct ask monitor.core.review first: a refused action says
    the core's reason and opens no dialog."""
    ids = worked_session(service, reviewed=False)
    active = with_clock(service, lambda: NOW - timedelta(minutes=30)).start_session(
        patient="MRN-NOW", protocol="ketamine-im", by="ana", age=40
    )
    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        screen = await open_log(pilot, "MRN-WORK")
        await pilot.press("o")  # not signed off
        await settle(pilot)
        assert app.screen is screen
        assert f"session {ids['session']} is not signed off: nothing to reopen" in messages(app)
        await highlight_reading(pilot, ids["wrong"])
        await pilot.press("v")  # voided already
        await settle(pilot)
        assert app.screen is screen
        assert f"reading {ids['wrong']} is voided: it counts for nothing already" in messages(app)
        sam = UserView(1, "sam", "supervisor")
        app.push_screen(SessionLogScreen(app.service, active, sam, clock=lambda: NOW))
        await settle(pilot)
        log = app.screen
        await pilot.press("s")  # still in observation
        await settle(pilot)
        assert app.screen is log
        assert f"session {active} is still active: discharge it first" in messages(app)


async def test_sign_off_then_reopen_through_the_dialogs(service):
    ids = worked_session(service, reviewed=False)
    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        screen = await open_log(pilot, "MRN-WORK")
        await pilot.press("s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, SignScreen)
        meaning = str(dialog.query_one("#sign-meaning", Static).content)
        assert "reviewed by sam at 14:00, 27 Nov 2026" in meaning
        assert '"reviewed"' in meaning
        await pilot.press(*"1111", "enter")  # a wrong PIN
        await settle(pilot)
        assert isinstance(app.screen, SignScreen)
        assert "name or PIN not accepted" in form_error(app)
        await pilot.press(*"9999", "enter")
        await settle(pilot)
        assert app.screen is screen
        assert "Signed by sam at 2026-11-27 14:00; meaning: reviewed" in str(
            screen.query_one("#log-title", Static).content
        )
        assert "Signed off: reviewed by sam at 14:00" in "\n".join(log_lines(app))
        # Signed: the record is closed to voids until it is reopened.
        await highlight_reading(pilot, ids["late"])
        await pilot.press("v")
        await settle(pilot)
        assert app.screen is screen
        assert any(
            "is signed off: it takes no new correction or void until a supervisor reopens it" in m
            for m in messages(app)
        )
        await pilot.press("o")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ReopenScreen)
        await pilot.press("enter")  # no reason: said, and the cursor stays there
        await settle(pilot)
        assert "say why" in form_error(app)
        assert dialog.query_one("#reason", Input).has_focus
        await pilot.press(*"late entry to check", "enter", *"9999", "enter")
        await settle(pilot)
        assert app.screen is screen
        assert "NOT YET REVIEWED" in str(screen.query_one("#log-title", Static).content)
        assert "Sign-off withdrawn (reopened): late entry to check" in "\n".join(log_lines(app))
    view = service.session(ids["session"])
    assert view.signed_by is None and [r.reason for r in view.reopened] == ["late entry to check"]
    assert view.reopened[0].at == NOW - timedelta(0)


async def test_a_correction_may_give_the_measurement_time_with_at(service):
    ids = worked_session(service, reviewed=False)
    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        await open_log(pilot, "MRN-WORK")
        await highlight_reading(pilot, ids["late"])
        await pilot.press("c")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, CorrectScreen)
        dialog.query_one("#entry", Input).value = "138/84 hr 72 spo2 98 rr 14 moaas 5 @ 10:28"
        await pilot.pause()
        preview = str(dialog.query_one("#correct-preview", Static).content)
        assert "measured 10:28" in preview and "cadss" not in preview, preview
        dialog.query_one("#reason", Input).focus()
        await pilot.press(*"measured two minutes earlier", "enter", *"9999", "enter")
        await settle(pilot)
        assert isinstance(app.screen, SessionLogScreen), form_error(app)
    corrected = [r for r in service.session(ids["session"]).readings if r.corrects == ids["late"]]
    assert len(corrected) == 1
    assert corrected[0].measured_at == at(88) and corrected[0].vitals.cadss is None


def footer_keys(app) -> list[str]:
    from textual.widgets._footer import FooterKey

    return [f"{k.key_display} {k.description}" for k in app.screen.query(FooterKey)]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_footers_show_every_review_key_within_80_columns(service):
    for patient, minute in (("P1", 10), ("P2", 20), ("P3", 30), ("P4", 40), ("P5", 50)):
        quick_session(service, patient, minute)
    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, pin="9999", user_index=SAM)
        await pilot.press("escape")
        sam = UserView(1, "sam", "supervisor")
        app.push_screen(ReviewScreen(app.service, sam, clock=lambda: NOW, page_size=2))
        await settle(pilot)
        await pilot.press("right_square_bracket")  # page 2 of 3: both ways
        await settle(pilot)
        shown = footer_keys(app)
        for key in ("⏎", "/", "[", "]", "t", "f", "s", "?", "esc", "q"):
            assert any(item.startswith(f"{key} ") for item in shown), (key, shown)
        assert sum(len(item) + 1 for item in shown) - 1 <= 80, shown
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SessionLogScreen)
        shown = footer_keys(app)
        for key in ("v", "c", "s", "o", "t", "p", "?", "esc", "q"):
            assert any(item.startswith(f"{key} ") for item in shown), (key, shown)
        assert sum(len(item) + 1 for item in shown) - 1 <= 80, shown


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_desks_screens_open_from_the_queue_and_the_log_and_close_with_escape(service):
    from tui.reports.audit import AuditScreen
    from tui.reports.quality import QualityScreen
    from tui.reports.rems import RemsScreen

    ids = worked_session(service, reviewed=False)
    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        queue = app.screen
        for key, kind in (("t", AuditScreen), ("f", RemsScreen), ("s", QualityScreen)):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, kind), key
            await pilot.press("escape")
            await settle(pilot)
            assert app.screen is queue, key
        log = await open_log(pilot, "MRN-WORK")
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, AuditScreen)
        assert app.screen.filter.session_id == ids["session"]
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is log


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_an_unreachable_database_is_one_line_and_a_dialog_keeps_what_was_typed(service):
    from sqlalchemy import create_engine

    ids = worked_session(service, reviewed=False)
    app = review_station(service, refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        await open_log(pilot, "MRN-WORK")
        await highlight_reading(pilot, ids["late"])
        await pilot.press("v")
        await settle(pilot)
        engine, write_engine = app.service.engine, app.service.write_engine
        app.service.engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
        app.service.write_engine = app.service.engine
        await pilot.press(*"wrong chart", "enter", *"9999", "enter")
        await settle(pilot)
        assert isinstance(app.screen, VoidScreen)
        assert form_error(app) == "database unreachable"
        assert app.screen.query_one("#reason", Input).value == "wrong chart"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        status = app.screen.query_one("#log-status", Static)
        assert status.display
        assert "Log not loaded: database unreachable (g tries again)" in str(status.content)
        await pilot.press("escape")
        await settle(pilot)
        assert "Queue not loaded: database unreachable (g tries again)" in str(
            app.screen.query_one("#review-status", Static).content
        )
        app.service.engine, app.service.write_engine = engine, write_engine
        await pilot.press("g")
        await settle(pilot)
        assert queue_patients(app) == ["MRN-WORK"]
        assert "Page 1" in str(app.screen.query_one("#review-status", Static).content)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_p_on_the_log_writes_the_sessions_pdf_and_says_where(service, tmp_path):
    worked_session(service, reviewed=False)
    app = review_station(service)
    app.export_folder = tmp_path / "exports"
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        screen = await open_log(pilot, "MRN-WORK")
        await pilot.press("p")
        await settle(pilot)
        said = str(screen.query_one("#export-line", Static).content)
        written = list((tmp_path / "exports").iterdir())
        assert len(written) == 1, said
        assert said == f"PDF saved: {written[0]}"
        assert written[0].read_bytes().startswith(b"%PDF-")
        assert screen.query_one("#export-line").region.bottom <= 23
        assert app.screen is screen
