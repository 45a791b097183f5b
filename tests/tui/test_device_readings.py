"""A bedside monitor's reading on the station (docs/devices.md, docs/station.md): shown on the
floor at once with its alarm, marked ``?`` and the row ``m?`` while it awaits a nurse; `m`
validates the selected patient's readings in one go (the mark goes, the value counts), or
rejects one as an artefact with a reason (voided); a refusal is one line in the dialog, what
was ticked kept. Real databases, driven as a nurse drives the station."""

from __future__ import annotations

from textual.widgets import DataTable, Static

from monitor.core.rules import Severity
from monitor.services import Service, with_clock
from tests.helpers import at
from tests.station import screen_only, settle, sign_in, station
from tests.tui.test_tui import form_error, row_of, select
from tui.dialogs.validate import MonitorScreen
from tui.inputs import Input

FULL_SET = "128/82 hr 74 spo2 98 rr 14 moaas 5 cadss 0"
HIGH_BP = {"systolic": 185, "diastolic": 100, "heart_rate": 88, "spo2": 97, "resp_rate": 14}
PATIENT = "MRN-7001"


def with_monitor_reading(service: Service, *, readings: int = 1) -> tuple[int, list[int]]:
    """A session in Bay 1 dosed at minute 0, and ``readings`` from its monitor after +15."""

    def back(minutes: float) -> Service:
        return with_clock(service, lambda: at(minutes))

    sid = back(-40).start_session(
        patient=PATIENT, protocol="esketamine-56", by="ana", bay="Bay 1", age=45, meds=()
    )
    back(-10).record_reading(sid, FULL_SET, by="ana")
    back(0).record_dose(sid, by="ana")
    service.add_device("MP5-001", bay="Bay 1", by="sam")
    ids = []
    for n in range(readings):
        sent = back(15 + n).record_from_device(
            "MP5-001", HIGH_BP, measured_at=at(15 + n), message_id=f"MSG-{n}", by="ana"
        )
        ids.append(sent.recorded.reading.id)
    return sid, ids


def cell(app, column: str) -> str:
    table = app.query_one("#floor", DataTable)
    return str(table.get_cell(str(row_of(app, PATIENT).session_id), column)).strip()


async def test_the_monitor_reading_shows_marked_with_its_alarm_and_m_validates_it(service):
    sid, (reading_id,) = with_monitor_reading(service)
    app = station(service, clock=lambda: at(16))
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        row = row_of(app, PATIENT)
        assert row.alarm is Severity.HIGH  # the !!! alarm at once
        assert (cell(app, "bp"), cell(app, "hr"), cell(app, "rr")) == ("185/100?", "88?", "14?")
        assert cell(app, "ready") == "m?"
        await select(pilot, PATIENT)
        await pilot.press("enter")  # the detail says where it came from
        await settle(pilot)
        readings = str(app.screen.query_one("#readings", Static).content)
        assert "185/100 hr 88 spo2 97 rr 14" in readings
        assert "from monitor MP5-001, not validated" in readings
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, MonitorScreen)
        assert "185/100 hr 88 spo2 97 rr 14  (MP5-001)" in str(
            app.screen.query_one("#readings").get_option_at_index(0).prompt
        )
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, MonitorScreen)
        assert (cell(app, "bp"), cell(app, "hr")) == ("185/100", "88")  # the mark is gone
        assert cell(app, "ready") != "m?"
    reading = service.session(sid).reading(reading_id)
    assert reading is not None and reading.in_force and reading.validated_by == "ana"


async def test_a_refused_validation_is_one_line_in_the_dialog_and_it_stays(service):
    sid, (reading_id,) = with_monitor_reading(service)
    app = station(service, clock=lambda: at(16))
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, PATIENT)
        await pilot.press("m")
        await settle(pilot)
        service.validate_readings([reading_id], by="bo")  # another station was quicker
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MonitorScreen)
        said = form_error(app)
        assert "validated already" in said and "\n" not in said
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, MonitorScreen)
    reading = service.session(sid).reading(reading_id)
    assert reading is not None and reading.validated_by == "bo"


async def test_one_reading_is_rejected_as_an_artefact_with_the_reason(service):
    sid, (first, second) = with_monitor_reading(service, readings=2)
    app = station(service, clock=lambda: at(17))
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, PATIENT)
        await pilot.press("m")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, MonitorScreen)
        dialog.query_one("#reason", Input).focus()
        await pilot.press(*"cuff moved", "enter")
        await settle(pilot)
        assert "tick only the reading to reject" in form_error(app)  # both are ticked
        await pilot.press("escape")  # cancels the dialog
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, MonitorScreen)
        await pilot.press("space")  # untick the first (the cursor is on it)
        dialog.query_one("#reason", Input).focus()
        await pilot.press(*"cuff moved", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, MonitorScreen)
        assert cell(app, "ready") == "m?"  # the first still awaits
    view = service.session(sid)
    rejected, kept = view.reading(second), view.reading(first)
    assert rejected is not None and rejected.voided is not None
    assert rejected.voided.reason == "artefact: cuff moved"
    assert kept is not None and kept.awaits_validation and kept.voided is None


@screen_only
async def test_m_without_monitor_readings_says_so(service):
    with_clock(service, lambda: at(-40)).start_session(
        patient=PATIENT, protocol="esketamine-56", by="ana", bay="Bay 1", age=45, meds=()
    )
    app = station(service, clock=lambda: at(-30))
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await select(pilot, PATIENT)
        await pilot.press("m")
        await settle(pilot)
        assert not isinstance(app.screen, MonitorScreen)
        assert any("No monitor readings" in str(n.message) for n in app._notifications)


@screen_only
async def test_the_marks_room_comes_from_unused_width_and_the_row_fits_80_columns(service):
    from tests.station import NOW, build_floor
    from tui.floor.table import FLOOR_COLUMNS, floor_widths

    build_floor(service)  # Bay 2 holds MRN-HIGH; another patient is ready
    service.add_device("MP5-002", bay="Bay 2", by="sam")
    with_clock(service, lambda: NOW).record_from_device(
        "MP5-002", HIGH_BP, measured_at=NOW, message_id="M-1", by="ana"
    )
    app = station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        widths = floor_widths(80, app.rows)
        usual = {key: width for key, _, width in FLOOR_COLUMNS}
        assert sum(widths.values()) == 80
        assert widths["next"] == usual["next"]  # the check is not cut for the mark
        assert (widths["bp"], widths["rr"]) == (usual["bp"] + 1, usual["rr"] + 1)
        table = app.query_one("#floor", DataTable)
        high = next(r for r in app.rows if r.patient == "MRN-HIGH")
        assert str(table.get_cell(str(high.session_id), "bp")).strip() == "185/100?"
        assert floor_widths(80) == usual  # nothing awaiting: the usual layout
