"""The station's review mode on a poisoned record (issue #20, item 6; docs/storage.md,
"Unreadable records"): the queue loads for the supervisor with the poisoned session listed and
marked, its log names what could not be read, and the quality summary names it too; the
floor loads with a session it cannot judge and a flag whose severity it cannot read."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from textual.widgets import DataTable, Static

from monitor.core.rules import Severity
from tests.helpers import DOSED
from tests.services.test_unreadable import (
    forge_discharge,
    insert_flag,
    insert_session,
    observed,
    stored_gate,
)
from tests.station import settle, sign_in, station
from tests.tui.test_review_tui import (
    log_lines,
    open_log,
    open_review,
    queue_patients,
    review_station,
)
from tui.reports.quality import QualityScreen


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_queue_loads_with_the_poisoned_session_listed_as_unreadable(service, clock):
    clean = observed(service, clock, "CLEAN")
    gate = stored_gate(service.engine, clean)
    del gate["config"]["protocol"]
    forged = observed(service, clock, "FORGED", discharge=False)
    forge_discharge(service.engine, forged, json.dumps(gate), at=DOSED + timedelta(minutes=46))
    marker = f"session {forged}: stored gate unreadable (no 'protocol')"

    app = review_station(service)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        assert sorted(queue_patients(app)) == ["CLEAN", "FORGED"]
        status = str(app.screen.query_one("#review-status", Static).content)
        assert "Queue not loaded" not in status and f"UNREADABLE: {marker}" in status
        table = app.screen.query_one("#queue", DataTable)
        cells = [str(c) for c in table.get_row(str(forged))]
        assert cells[1].strip() == "?FORGED"

        await open_log(pilot, "FORGED")
        shown = "\n".join(log_lines(app))
        assert f"UNREADABLE: {marker}" in shown
        assert "gate stored at discharge UNREADABLE (no 'protocol')" in shown
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, QualityScreen)  # on this week, which holds the discharges
        said = str(app.screen.query_one("#desk-status", Static).content)
        assert said.startswith(f"UNREADABLE: {marker}")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_floor_loads_with_a_session_it_cannot_judge_and_a_flag_it_cannot_read(
    service, clock
):
    flagged = observed(service, clock, "FLAGGED", discharge=False)
    insert_flag(service.engine, service.session(flagged).readings[-1].id, "critical")
    insert_session(service.engine, "ODD", "esketamine-999", at=clock())
    app = station(service, clock=lambda: DOSED + timedelta(minutes=50))
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        rows = {row.patient: row for row in app.rows}
        assert set(rows) == {"FLAGGED", "ODD"}
        # The flag whose severity cannot be read counts as high: never missed.
        assert rows["FLAGGED"].alarm is Severity.HIGH and rows["FLAGGED"].high_unacknowledged
        assert not rows["ODD"].ready
