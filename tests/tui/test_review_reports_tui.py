"""The supervisor's desk on the station (issue #11): the audit view, the REMS tracker and the
quality summary, driven by keys through Textual's Pilot on a real database of each backend.

The screens are pushed on the station as review mode pushes them; what they show is compared
with what the services say, and every save is read back from the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine
from textual.widgets import DataTable, Input, Select, Static

from monitor.errors import Refused
from monitor.periods import local_day, parse_period
from monitor.present.audit import audit_story, change_text, detail_lines, who
from monitor.present.parts import plain
from monitor.present.quality import quality_story
from monitor.present.rems import rems_story
from monitor.services import Service, with_clock
from monitor.services.history import AUDIT_PAGE
from monitor.views import UserView
from tests.built import remembered
from tests.station import screen_only, settle, sign_in, station
from tui.reports.audit import AuditScreen
from tui.reports.audit_filter import AuditFilterDialog
from tui.reports.quality import QualityScreen
from tui.reports.quality_period import QualityPeriodDialog
from tui.reports.rems import RemsScreen
from tui.reports.rems_correct import RemsCorrectDialog
from tui.reports.rems_form import RemsFormScreen
from tui.reports.rems_submit import RemsSubmitDialog

#: The supervisor's desk is looked at on Friday 27 Nov 2026, 10:00 UTC (the tests' zone).
TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
FULL = "128/82 hr 74 spo2 98 rr 14 moaas 5 cadss 0"
LIGHT = "moaas 5 spo2 98"


def treat(
    service: Service,
    dosed: datetime,
    patient: str,
    protocol: str = "esketamine-84",
    *,
    readings: dict[int, str] | None = None,
    discharge_at: int | None = 125,
    acknowledge: dict[int, tuple[int, str]] | None = None,
    lot: str | None = "LOT-7",
    override: str | None = None,
    events: Sequence[tuple[int, str, str | None, str | None, bool | None, str]] = (),
    late: dict[int, tuple[int, str]] | None = None,
) -> int:
    """One session written as it happened: each action at its own minute after ``dosed``.

    ``readings`` by minute (negative before dosing); ``acknowledge`` {reading minute: (at
    minute, action)}; ``late`` {measured minute: (saved minute, entry)}; ``events`` (minute,
    kind, type, severity, serious, text)."""

    def at(minute: float) -> Service:
        moment = dosed + timedelta(minutes=minute)
        return with_clock(service, lambda: moment)

    esketamine = protocol.startswith("esketamine")
    sid = at(-20).start_session(
        patient=patient,
        protocol=protocol,
        by="ana",
        age=50,
        bay="Bay 1",
        lot=lot if esketamine else None,
        meds=() if esketamine else None,
        first_treatment=False,
        dose_number=4,
        dose_mg=None if esketamine else 40,
    )
    plan = readings or {
        -10: FULL,
        15: LIGHT,
        30: LIGHT,
        40: FULL,
        60: LIGHT,
        90: FULL,
        120: FULL,
    }
    saved = {}
    steps: list[tuple[float, str, object]] = [(m, "reading", e) for m, e in plan.items()]
    steps.append((0, "dose", None))
    if protocol == "ketamine-iv":
        steps.append((40, "infusion end", None))  # as planned: the gate needs it recorded
    for minute, (saved_at, entry) in (late or {}).items():
        steps.append((saved_at, "late", (minute, entry)))
    for minute, (ack_at, action) in (acknowledge or {}).items():
        steps.append((ack_at, "ack", (minute, action)))
    for event in events:
        steps.append((event[0], "event", event))
    for minute, kind, what in sorted(steps, key=lambda s: (s[0], s[1] != "reading")):
        now = at(minute)
        if kind == "reading":
            saved[minute] = now.record_reading(sid, str(what), by="ana")
        elif kind == "dose":
            now.record_dose(sid, by="ana")
        elif kind == "infusion end":
            now.record_infusion_end(sid, by="ana")
        elif kind == "late":
            measured, entry = what  # type: ignore[misc]
            saved[measured] = now.record_reading(
                sid, entry, by="ana", measured_at=dosed + timedelta(minutes=measured)
            )
        elif kind == "ack":
            reading_minute, action = what  # type: ignore[misc]
            flags = [f.id for f in saved[reading_minute].flags if f.severity.needs_action]
            now.acknowledge_many(flags, by="ana", action=action)
        else:
            _, kind_, type_, severity, serious, text = what  # type: ignore[misc]
            event = now.add_event(
                sid,
                kind=kind_,
                by="ana",
                text=text,
                type=type_,
                severity=severity,
                serious=serious,
            )
            if event.alarm is not None:  # a serious event: a clinician reviews it (revision 3)
                now.acknowledge(event.alarm.id, by="sam", action="seen by MD: may continue")
    if discharge_at is not None:
        at(discharge_at).discharge(
            sid,
            by="ana",
            escort="spouse",
            instructions_given=True,
            override_reason=override,
            cosign="sam",
        )
    return sid


def desk(service: Service) -> dict[str, int]:
    """:func:`build_desk`, built once and copied into each test's database that starts as the
    first did (tests/built.py)."""
    return remembered(service, "review desk", lambda: build_desk(service))


def build_desk(service: Service) -> dict[str, int]:
    """Three weeks of a clinic as the supervisor finds it on Friday 27 Nov 2026:

    ========  =====================  ============================================
    name      dosed (UTC)            what
    ========  =====================  ============================================
    old       Mon 09 Nov 09:00       esketamine, form overdue 11 days
    im        Tue 17 Nov 09:00       ketamine-im, left early (override), nausea
    iv        Wed 18 Nov 09:00       ketamine-iv, a late entry
    high      Thu 19 Nov 09:00       esketamine, SBP 184 at +40 acked at +46,
                                     form overdue 1 day
    sedated   Fri 20 Nov 09:00       esketamine-56 without a lot, MOAA/S 3 at +15
                                     acked at +18, form due today
    sent      Tue 24 Nov 09:00       esketamine, form marked submitted by sam
    no40      Wed 25 Nov 09:00       esketamine, no BP near 40 min: due in 5 days
    today     Fri 27 Nov 08:00       esketamine in observation: due in 7 days
    ========  =====================  ============================================
    """

    def on(day: int, hour: int = 9) -> datetime:
        return datetime(2026, 11, day, hour, 0, tzinfo=UTC)

    ids = {"old": treat(service, on(9), "MRN-OLD")}
    ids["im"] = treat(
        service,
        on(17),
        "MRN-IM",
        "ketamine-im",
        readings={-10: FULL, 15: "126/80 hr 76 spo2 98 moaas 5"},
        discharge_at=25,
        override="patient left against advice, escorted",
        events=[(20, "adverse", "nausea", "mild", False, "nauseous")],
    )
    ids["iv"] = treat(
        service,
        on(18),
        "MRN-IV",
        "ketamine-iv",
        readings={
            -10: FULL,
            10: "126/80 hr 76 spo2 98 moaas 5",
            20: "126/80 hr 76 spo2 98 moaas 5",
            40: FULL,
            55: "124/80 hr 72 spo2 98 moaas 5",
            70: "124/80 hr 72 spo2 98 moaas 5",
            85: "124/80 hr 72 spo2 98 moaas 5",
            100: FULL,
        },
        late={30: (50, "126/80 hr 76 spo2 98 moaas 5")},
        discharge_at=105,
    )
    high = dict.fromkeys((-10, 40, 55, 90, 120), FULL) | dict.fromkeys((15, 30, 60), LIGHT)
    high[40] = "184/104 hr 92 spo2 97 rr 16 moaas 5 cadss 2"
    ids["high"] = treat(
        service,
        on(19),
        "MRN-HIGH",
        readings=high,
        acknowledge={40: (46, "rechecked, prescriber informed")},
        events=[(50, "adverse", "headache", "moderate", True, "severe headache, seen by MD")],
    )
    sedated = dict.fromkeys((-10, 40, 90, 120), FULL) | dict.fromkeys((30, 60), LIGHT)
    sedated[15] = "moaas 3 spo2 97"
    ids["sedated"] = treat(
        service,
        on(20),
        "MRN-SED",
        "esketamine-56",
        readings=sedated,
        lot=None,
        acknowledge={15: (18, "roused, observed closely")},
    )
    ids["sent"] = treat(service, on(24), "MRN-SENT")
    with_clock(service, lambda: on(25, 12)).rems_submit(ids["sent"], by="sam")
    no40 = dict.fromkeys((-10, 90, 120), FULL) | dict.fromkeys((15, 30, 60), LIGHT)
    ids["no40"] = treat(service, on(25), "MRN-NO40", readings=no40)
    ids["today"] = treat(
        service,
        on(27, 8),
        "MRN-NOW",
        readings={-10: FULL, 15: LIGHT, 30: LIGHT, 40: FULL},
        discharge_at=None,
    )
    return ids


def desk_app(service: Service, clock=lambda: NOW):
    """The station at the desk's moment, no flashing, no bell."""
    return station(service, clock=clock)


async def open_screen(pilot, screen) -> None:
    """Push one of the desk's screens on the station, as review mode does."""
    pilot.app.push_screen(screen)
    await settle(pilot)


def status(pilot) -> str:
    return str(pilot.app.screen.query_one("#desk-status", Static).content)


def texts(pilot, selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).content)


def table_rows(pilot, selector: str) -> list[list[str]]:
    table = pilot.app.screen.query_one(selector, DataTable)
    return [[str(cell).strip() for cell in table.get_row_at(i)] for i in range(table.row_count)]


def detail_text(row) -> str:
    """The audit row's panel as plain text (monitor.present.audit tells it)."""
    return "\n".join(plain(line) for line in detail_lines(audit_story(row)))


def quality_lines(report) -> list[tuple[str, str]]:
    """The quality summary's rows as (label, value) text (monitor.present.quality)."""
    return [
        (row.label, "\n".join(plain(line) for line in (row.value, *row.notes)))
        for row in quality_story(report).rows
    ]


SAM = UserView(1, "sam", "supervisor")
ANA = UserView(2, "ana", "nurse")


@pytest.fixture
def clinic(service) -> dict[str, int]:
    return desk(service)


# -- pure helpers ------------------------------------------------------------------------------


def test_trigger_rows_and_reading_rows_read_as_people_read_them(service, clinic):
    rows = service.audit(clinic["high"])
    dose_trigger = next(r for r in rows if r.action == "db.session.update")
    # The trigger's row lists every transition column: only what changed is said, in local
    # time, by "(database)". (The trigger writes the database's own time: with the day.)
    # (Revision 3's columns follow: who dosed, by user id.)
    dosed = change_text(dose_trigger).split("; ")[0]
    assert dosed in ("dosed at - → 09:00", "dosed at - → 19 Nov 09:00")
    assert "(database)  db.session.update" in detail_text(dose_trigger)
    reading = next(r for r in rows if r.action == "reading.record")
    assert change_text(reading).startswith("128/82 hr 74 spo2 98 rr 14 moaas 5 cadss 0")
    assert "measured 08:50" in change_text(reading)
    dose = next(r for r in rows if r.action == "session.dose")
    said = change_text(dose)  # (revision 3 adds who co-signed, between them)
    assert said.startswith("dosed at - → 09:00; ") and said.endswith("dosing gate none")
    ack = next(r for r in rows if r.action == "flag.acknowledge")
    assert "rechecked, prescriber informed" in change_text(ack)


def test_a_correction_a_refused_pin_and_an_event_read_plainly(service, clinic):
    later = with_clock(service, lambda: NOW)
    later.rems_correct(
        clinic["sedated"], field="sedation", value=False, reason="was asleep", by="sam"
    )
    with pytest.raises(Refused):
        later.authenticate("sam", "0000")
    trail = later.audit()
    correction = next(r for r in trail if r.action == "rems.correct")
    assert change_text(correction) == "sedation yes → no (proposal yes)"
    assert who(correction) == "sam"
    refused = next(r for r in trail if r.action == "auth.refused")
    assert who(refused) == "(no user)"
    counted = next(r for r in trail if r.action == "db.user.update")
    assert who(counted) == "(database)"
    assert change_text(counted) == "failed pins 0 → 1"
    event = next(r for r in trail if r.action == "event.adverse")
    assert change_text(event) == "adverse nausea mild: nauseous"


# -- audit -------------------------------------------------------------------------------------


async def test_audit_of_a_session_newest_first_with_the_selected_row_in_full(service, clinic):
    app = desk_app(service)
    trail = sorted(service.audit(clinic["high"]), key=lambda a: (a.at, a.id), reverse=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "9999", 2)
        await open_screen(
            pilot, AuditScreen(with_clock(service, lambda: NOW), session_id=clinic["high"])
        )
        screen = pilot.app.screen
        assert isinstance(screen, AuditScreen)
        assert "session " + str(clinic["high"]) in texts(pilot, "#desk-title")
        table = screen.query_one("#audit-table", DataTable)
        assert [int(k.value) for k in table.rows] == [a.id for a in trail]
        assert "(database)" in " ".join(" ".join(r) for r in table_rows(pilot, "#audit-table"))
        assert detail_text(trail[0]) == texts(pilot, "#audit-detail")
        await pilot.press("down", "down")
        assert detail_text(trail[2]) == texts(pilot, "#audit-detail")
        assert "page 1" in status(pilot) and "no other page" in status(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(pilot.app.screen, AuditScreen)


async def test_audit_of_today_pages_by_key_and_filters_by_user_and_action(service, clinic):
    service = with_clock(service, lambda: NOW)
    # More than two pages of today's rows: readings of the session in observation.
    sid = clinic["today"]
    for k in range(2 * AUDIT_PAGE + 10):
        moment = NOW - timedelta(minutes=30) + timedelta(seconds=10 * k)
        with_clock(service, lambda m=moment: m).record_reading(sid, LIGHT, by="bo")
    since, until = local_day(TODAY)
    expected = sorted(
        (a for a in service.audit() if since <= a.at <= until), key=lambda a: (a.at, a.id)
    )[::-1]
    app = desk_app(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "9999", 2)
        await open_screen(pilot, AuditScreen(service))
        screen = pilot.app.screen
        assert isinstance(screen, AuditScreen)
        assert "Fri 27 Nov 2026" in texts(pilot, "#desk-title")

        def shown() -> list[int]:
            return [int(k.value) for k in screen.query_one("#audit-table", DataTable).rows]

        first = shown()
        assert first == [a.id for a in expected[:AUDIT_PAGE]]
        await pilot.press("pagedown")
        await settle(pilot)
        second = shown()
        assert second == [a.id for a in expected[AUDIT_PAGE : 2 * AUDIT_PAGE]]
        assert "page 2" in status(pilot)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        third = [a.id for a in expected[2 * AUDIT_PAGE : 3 * AUDIT_PAGE]]
        assert shown() == third and third
        await pilot.press("right_square_bracket")  # the oldest page: it stays
        await settle(pilot)
        assert "oldest page" in status(pilot)
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert shown() == second and "page 2" in status(pilot)
        await pilot.press("pageup")
        await settle(pilot)
        assert shown() == first and "page 1" in status(pilot)

        # The filter: bo's readings only.
        await pilot.press("slash")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, AuditFilterDialog)
        dialog.query_one("#user", Select).value = "bo"
        dialog.query_one("#action", Input).value = "reading"
        dialog.query_one("#action", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert pilot.app.screen is screen
        by_bo = [a.id for a in expected if a.user == "bo" and a.action == "reading.record"]
        assert shown() == by_bo[:AUDIT_PAGE]
        assert "by bo · reading" in texts(pilot, "#desk-title")

        # Rows the database wrote (its triggers, at its own clock), over the whole trail.
        await pilot.press("slash")
        await settle(pilot)
        dialog = pilot.app.screen
        dialog.query_one("#user", Select).value = ""
        dialog.query_one("#action", Input).value = ""
        dialog.query_one("#since", Input).value = ""
        dialog.query_one("#until", Input).value = ""
        dialog.query_one("#action", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        rows = table_rows(pilot, "#audit-table")
        assert rows and all(r[1] == "(database)" for r in rows)
        assert all("db." in r[2] for r in rows)


@screen_only
async def test_a_filter_that_cannot_be_read_is_refused_in_the_dialog_with_what_was_typed(
    service, clinic
):
    app = desk_app(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "9999", 2)
        await open_screen(pilot, AuditScreen(with_clock(service, lambda: NOW)))
        await pilot.press("slash")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, AuditFilterDialog)
        for selector, typed, said in (
            ("#session", "99999", "no session 99999"),
            ("#action", "reading%", "is not an action"),
            ("#since", "last tuesday", "not understood"),
        ):
            field = dialog.query_one(selector, Input)
            field.value = typed
            field.focus()
            await pilot.press("enter")
            await settle(pilot)
            assert pilot.app.screen is dialog
            assert said in texts(pilot, "#form-error")
            assert field.value == typed  # kept, to be corrected
            field.value = ""
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(pilot.app.screen, AuditScreen)


# -- REMS --------------------------------------------------------------------------------------


async def rems_screen(pilot, service, user=SAM) -> RemsScreen:
    await open_screen(pilot, RemsScreen(with_clock(service, lambda: NOW), user))
    screen = pilot.app.screen
    assert isinstance(screen, RemsScreen)
    return screen


def select(pilot, screen, session_id: int) -> None:
    table = screen.query_one("#rems-table", DataTable)
    table.move_cursor(row=table.get_row_index(str(session_id)), animate=False)


async def press_on(pilot, service, session_id: int, key: str) -> RemsScreen:
    """Sam signed in, the tracker open, ``key`` pressed on one form: the tracker."""
    await sign_in(pilot, "9999", 2)
    screen = await rems_screen(pilot, service)
    select(pilot, screen, session_id)
    await pilot.press(key)
    await settle(pilot)
    return screen


async def test_rems_due_and_overdue_on_worked_dates_then_all(service, clinic):
    app = desk_app(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "9999", 2)
        screen = await rems_screen(pilot, service)
        rows = table_rows(pilot, "#rems-table")
        # Oldest first; the submitted form and the IV/IM sessions are not there.
        assert [r[0] for r in rows] == ["MRN-OLD", "MRN-HIGH", "MRN-SED", "MRN-NO40", "MRN-NOW"]
        assert [r[1:5] for r in rows] == [
            ["Mon 09 Nov", "Mon 16 Nov", "11 d overdue", "no"],
            ["Thu 19 Nov", "Thu 26 Nov", "1 d overdue", "no"],
            ["Fri 20 Nov", "Fri 27 Nov", "due today", "no"],
            ["Wed 25 Nov", "Wed 02 Dec", "5 d left", "no"],
            ["Fri 27 Nov", "Fri 04 Dec", "7 d left", "no"],
        ]
        assert rows[2][5].startswith("1: no lot number")
        assert "no BP near 40 min" in rows[3][5]
        assert rows[4][5].startswith("1: not discharged")
        select(pilot, screen, clinic["no40"])
        await pilot.pause()
        assert "Missing: no BP near 40 min after dosing" in texts(pilot, "#rems-panel")
        await pilot.press("a")
        await settle(pilot)
        rows = table_rows(pilot, "#rems-table")
        assert [r[0] for r in rows][:3] == ["MRN-NOW", "MRN-NO40", "MRN-SENT"]
        sent = rows[2]
        assert sent[3:5] == ["submitted", "yes"]
        assert "all, newest first" in texts(pilot, "#desk-title")


async def test_the_form_shows_every_answer_and_what_is_missing(service, clinic):
    app = desk_app(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "9999", 2)
        screen = await rems_screen(pilot, service)
        select(pilot, screen, clinic["sedated"])
        await pilot.press("enter")
        await settle(pilot)
        form_screen = pilot.app.screen
        assert isinstance(form_screen, RemsFormScreen)
        form = service.rems(clinic["sedated"])
        expected = rems_story(form, TODAY)
        labels = [str(s.content) for s in form_screen.query(".label")]
        assert labels == [row.label for row in expected.rows]
        shown = " ".join(str(s.content) for s in form_screen.query("#rems-form Static"))
        for needed in (
            "due today",
            "no lot number",
            "MOAA/S 3 at +15 min",
            "56 mg, lot not recorded",
            "non-benzodiazepine sedative hypnotics no",
            "the clinic fills them in",
            "BP before dosing",
        ):
            assert needed in shown, needed
        await pilot.press("escape")
        await settle(pilot)
        assert pilot.app.screen is screen


async def test_a_supervisor_marks_a_form_submitted_after_a_wrong_pin(service, clinic):
    app = desk_app(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "9999", 2)
        screen = await rems_screen(pilot, service)
        select(pilot, screen, clinic["high"])
        await pilot.press("m")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, RemsSubmitDialog)
        await pilot.press(*"0000", "enter")
        await settle(pilot)
        assert pilot.app.screen is dialog
        assert "name or PIN not accepted" in texts(pilot, "#form-error")
        assert service.rems(clinic["high"]).submission is None
        pin = dialog.query_one("#pin", Input)
        assert pin.value == "" and pin.has_focus  # a refused PIN is cleared, to type again
        await pilot.press(*"9999", "enter")
        await settle(pilot)
        assert pilot.app.screen is screen
        form = service.rems(clinic["high"])
        assert form.submission is not None and form.submission.by == "sam"
        assert form.submission.at == NOW  # who and when, by the service clock
        assert "marked submitted by sam at 10:00" in status(pilot)
        # The due list no longer shows it; the audit trail has it.
        assert "MRN-HIGH" not in [r[0] for r in table_rows(pilot, "#rems-table")]
        assert [a.user for a in service.audit(clinic["high"]) if a.action == "rems.submit"] == [
            "sam"
        ]


async def test_a_supervisor_corrects_a_proposal_with_a_reason(service, clinic):
    app = desk_app(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "9999", 2)
        screen = await rems_screen(pilot, service)
        select(pilot, screen, clinic["sedated"])
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("c")  # from the form itself
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, RemsCorrectDialog)
        assert "MOAA/S 3 at +15 min" in str(dialog.query_one("#rems-now", Static).content)
        assert dialog.query_one("#value", Select).value is False  # the proposal turned over
        reason = dialog.query_one("#reason", Input)
        reason.focus()
        await pilot.press(*"roused at once, was asleep", "enter")
        await pilot.press(*"1234", "enter")  # ana's PIN, not sam's
        await settle(pilot)
        assert pilot.app.screen is dialog
        assert "name or PIN not accepted" in texts(pilot, "#form-error")
        assert reason.value == "roused at once, was asleep"  # kept; the PIN is cleared
        assert dialog.query_one("#pin", Input).has_focus
        await pilot.press(*"9999", "enter")
        await settle(pilot)
        assert pilot.app.screen is screen
        form = service.rems(clinic["sedated"])
        assert form.sedation.value is False and form.sedation.proposal is True
        assert form.sedation.correction is not None
        assert form.sedation.correction.by == "sam"
        assert form.sedation.correction.reason == "roused at once, was asleep"
        assert "Sedation of MRN-SED corrected to no" in status(pilot)


@screen_only
async def test_a_nurse_can_neither_mark_submitted_nor_correct(service, clinic):
    app = desk_app(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        screen = await rems_screen(pilot, service, ANA)
        select(pilot, screen, clinic["high"])
        await pilot.press("c")
        await settle(pilot)
        assert pilot.app.screen is screen
        # The core's reason (monitor.core.rems_rules), as the service says it.
        assert "ana is a nurse: only a supervisor corrects a REMS answer" in status(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert pilot.app.screen is screen
        assert "ana is a nurse: only a supervisor marks a REMS form submitted" in status(pilot)
    form = service.rems(clinic["high"])
    assert form.submission is None and not form.corrections


@screen_only
async def test_a_form_in_observation_is_not_offered_for_submission(service, clinic):
    app = desk_app(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "9999", 2)
        screen = await rems_screen(pilot, service)
        select(pilot, screen, clinic["today"])
        await pilot.press("m")
        await settle(pilot)
        assert pilot.app.screen is screen
        assert f"session {clinic['today']} is still in observation: discharge it first" in status(
            pilot
        )
    assert service.rems(clinic["today"]).submission is None


@screen_only
async def test_a_submitted_or_signed_off_form_takes_no_correction_dialog(service, clinic):
    """The tracker asks the core (monitor.core.rems_rules) before it opens a dialog, and shows
    the reason the service would give."""
    with_clock(service, lambda: NOW).sign(clinic["high"], by="sam", pin="9999")
    app = desk_app(service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await press_on(pilot, service, clinic["high"], "c")
        assert pilot.app.screen is screen
        assert f"session {clinic['high']} is signed off: it takes no new REMS correction" in (
            status(pilot)
        )
        await pilot.press("a")
        await settle(pilot)
        select(pilot, screen, clinic["sent"])
        for key, said in (
            ("c", "is already submitted: a correction would no longer match the form sent"),
            ("m", f"session {clinic['sent']} was already marked submitted by sam"),
        ):
            await pilot.press(key)
            await settle(pilot)
            assert pilot.app.screen is screen
            assert said in status(pilot)
    form = service.rems(clinic["high"])
    assert not form.corrections and form.submission is None


async def test_a_correction_that_changes_nothing_is_refused_in_the_dialog(service, clinic):
    app = desk_app(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await press_on(pilot, service, clinic["sedated"], "c")
        dialog = pilot.app.screen
        assert isinstance(dialog, RemsCorrectDialog)
        dialog.query_one("#value", Select).value = True  # the proposal as it stands
        dialog.query_one("#reason", Input).focus()
        await pilot.press(*"checked", "enter", *"9999", "enter")
        await settle(pilot)
        assert pilot.app.screen is dialog
        assert "sedation is already 'yes' (proposal): nothing to correct" in texts(
            pilot, "#form-error"
        )
    assert not service.rems(clinic["sedated"]).corrections


async def test_every_answer_is_offered_and_the_ready_minute_is_a_whole_number(service, clinic):
    """The dialog offers the form's seven answers (``rems correct --field``); which corrections
    are accepted is the services' answer, shown in the dialog when they refuse."""
    from monitor.core import rems_answers

    app = desk_app(service)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await press_on(pilot, service, clinic["sedated"], "c")
        dialog = pilot.app.screen
        assert isinstance(dialog, RemsCorrectDialog)
        field = dialog.query_one("#field", Select)
        assert [value for _, value in field._options] == [
            "ready_minute",
            "vitals_ok_before",
            "vitals_ok_end",
            "sedation",
            "dissociation",
            "respiratory_depression",
            "serious_adverse_event",
        ]
        field.value = "ready_minute"
        await pilot.pause()
        minute = dialog.query_one("#minute", Input)
        assert minute.display and not dialog.query_one("#value", Select).display
        assert minute.value == "40"  # the answer now, to change
        assert "proposed minute 40; 125 min monitored" in texts(pilot, "#rems-now")
        minute.value = ""
        minute.focus()
        await pilot.press(*"x0", "enter", *"ready earlier, waited for a taxi", "enter")
        await pilot.press(*"9999", "enter")
        await settle(pilot)
        assert minute.value == "0"  # digits only
        assert "the ready minute is a whole number from 1" in texts(pilot, "#form-error")
        minute.value = "35"
        dialog.query_one("#pin", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        if getattr(rems_answers, "FIELDS", None) is None:
            # The services of this branch correct the three proposals only: refused in place.
            assert pilot.app.screen is dialog
            assert "cannot be corrected" in texts(pilot, "#form-error")
            return
        assert pilot.app.screen is screen
        assert "corrected to minute 35" in status(pilot)
    assert service.rems(clinic["sedated"]).answer("ready_minute").value == 35


async def test_the_services_refuse_a_nurse_even_past_the_screen(service, clinic):
    """The screen's role check is a courtesy: the service refuses a nurse too, and the
    dialog shows it."""
    app = desk_app(service)
    ana = UserView(2, "ana", "supervisor")  # a stale view claiming a role ana does not have
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        screen = await rems_screen(pilot, service, ana)
        select(pilot, screen, clinic["high"])
        await pilot.press("m")
        await settle(pilot)
        await pilot.press(*"1234", "enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, RemsSubmitDialog)
        assert "only a supervisor marks a REMS form submitted" in texts(pilot, "#form-error")
    assert service.rems(clinic["high"]).submission is None


# -- quality -----------------------------------------------------------------------------------


def shown_figures(pilot) -> list[tuple[str, str]]:
    screen = pilot.app.screen
    labels = [str(s.content) for s in screen.query("#quality .label")]
    values = [
        str(screen.query_one(f"#quality-value-{i}", Static).content) for i in range(len(labels))
    ]
    return list(zip(labels, values, strict=True))


async def test_the_quality_summary_of_last_week_equals_the_report(service, clinic):
    app = desk_app(service)
    week = local_day(date(2026, 11, 16))[0], local_day(date(2026, 11, 22))[1]
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "9999", 2)
        await open_screen(pilot, QualityScreen(with_clock(service, lambda: NOW), lambda: NOW))
        assert "this week so far, Mon 23 Nov to Fri 27 Nov 2026" in texts(pilot, "#desk-title")
        await pilot.press("left_square_bracket")  # it opens on this week: last week is before
        await settle(pilot)
        assert "Mon 16 Nov to Sun 22 Nov 2026" in texts(pilot, "#desk-title")
        report = with_clock(service, lambda: NOW).quality_report(*week)
        assert report.sessions == 4
        assert shown_figures(pilot) == quality_lines(report)
        figures = dict(shown_figures(pilot))
        assert figures["Sessions"] == (
            "4: esketamine-56 1, esketamine-84 1, ketamine-im 1, ketamine-iv 1"
        )
        assert figures["Override discharges"] == "1"
        assert figures["Late entries"] == "1 reading in 1 session"
        assert figures["Adverse events"] == "2 (1 serious): headache 1, nausea 1"
        assert figures["High flag → ack"].startswith("median 6 min, 90th percentile 6 min")
        assert figures["Severe BP"].startswith("1 session with a high flag on SBP or DBP")
        # MRN-HIGH's form was due on Thursday; MRN-SED's is due today, not yet past due.
        assert figures["REMS forms overdue"] == "1 not marked submitted, of 1 past their due date"
        # The week before: the old session's alone.
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert "Mon 09 Nov to Sun 15 Nov 2026" in texts(pilot, "#desk-title")
        before = with_clock(service, lambda: NOW).quality_report(
            local_day(date(2026, 11, 9))[0], local_day(date(2026, 11, 15))[1]
        )
        assert shown_figures(pilot) == quality_lines(before) and before.sessions == 1
        await pilot.press("right_square_bracket", "right_square_bracket")
        await settle(pilot)
        assert "this week so far, Mon 23 Nov to Fri 27 Nov 2026" in texts(pilot, "#desk-title")


async def test_any_period_typed_and_a_bad_one_refused_with_the_text_kept(service, clinic):
    app = desk_app(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "9999", 2)
        await open_screen(pilot, QualityScreen(with_clock(service, lambda: NOW), lambda: NOW))
        await pilot.press("p")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, QualityPeriodDialog)
        since, until = dialog.query_one("#since", Input), dialog.query_one("#until", Input)
        since.value, until.value = "2026-11-25", "2026-11-20"
        until.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert pilot.app.screen is dialog
        assert "earlier time first" in texts(pilot, "#form-error")
        assert (since.value, until.value) == ("2026-11-25", "2026-11-20")
        since.value = "2026-11-01"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, QualityScreen)
        report = with_clock(service, lambda: NOW).quality_report(
            *parse_period("2026-11-01", "2026-11-20", NOW)
        )
        assert shown_figures(pilot) == quality_lines(report) and report.sessions == 5
        assert "Sun 01 Nov to Fri 20 Nov 2026" in texts(pilot, "#desk-title")


async def test_an_unreachable_database_is_one_line_and_the_screen_stays(service, clinic):
    app = desk_app(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "9999", 2)
        broken = with_clock(service, lambda: NOW)
        broken.engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
        await open_screen(pilot, QualityScreen(broken, lambda: NOW))
        assert isinstance(pilot.app.screen, QualityScreen)
        assert status(pilot) == "database unreachable: r tries again"


@screen_only
async def test_an_empty_week_says_which_keys_change_it(service, clinic):
    """The status line is plain text: '[ and ]' were once eaten as markup."""
    app = desk_app(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "9999", 2)
        await open_screen(pilot, QualityScreen(with_clock(service, lambda: NOW), lambda: NOW))
        for _ in range(4):
            await pilot.press("left_square_bracket")
            await settle(pilot)
        assert "[ and ] change the week" in status(pilot)


@screen_only
async def test_the_station_has_no_command_palette(service):
    """Ctrl+P's theme switch changed the alarm colours; its screenshot saved patient data."""
    app = desk_app(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screens = len(pilot.app.screen_stack)
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert len(pilot.app.screen_stack) == screens
        assert not pilot.app.ENABLE_COMMAND_PALETTE
