"""SVG snapshots of the supervisor's desk at 80x24 (the audit view, the REMS tracker and its
dialogs, the quality summary), the clocks frozen at Friday 27 Nov 2026 10:00, no cursor blink.

Update on purpose with ``pytest tests/tui/test_review_reports_snapshots.py -n 0 --snapshot-update``
and look at them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert, select
from textual.widgets import Select

from monitor.periods import local_day
from monitor.services import with_clock
from monitor.services.history import AUDIT
from tests.station import no_blink, settle, sign_in, steady
from tests.tui.test_review_reports_tui import NOW, SAM, desk, desk_app
from tui.reports.audit import AuditScreen
from tui.reports.audit_filter import AuditFilter
from tui.reports.quality import QualityScreen
from tui.reports.rems import RemsScreen

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
SIZE = (80, 24)


def _snap(snap_compare, service, make_screen, steps=None) -> bool:
    """The station signed in as sam, ``make_screen(service at NOW, ids)`` pushed on it, then
    ``steps``; the picture once every worker is done."""
    ids = desk(service)
    frozen = with_clock(service, lambda: NOW)

    async def run_before(pilot) -> None:
        await sign_in(pilot, "9999", 2)
        pilot.app.push_screen(make_screen(frozen, ids))
        await settle(pilot)
        if steps is not None:
            await steps(pilot, ids)
            await settle(pilot)
        pilot.app.clear_notifications()
        no_blink(pilot)
        await steady(pilot)

    return snap_compare(desk_app(service), terminal_size=SIZE, run_before=run_before)


def _trigger_row_at_its_moment(service, session_id: int, moment: datetime) -> None:
    """The database's own row for the dose is written at the database's real clock; for a
    picture that does not change with the day it is taken, the same row again at the dose's
    moment (the trail takes inserts: this is what a trigger writes, with a fixed time)."""
    with service.engine.begin() as connection:
        row = connection.execute(
            select(AUDIT.c.action, AUDIT.c.entity, AUDIT.c.before, AUDIT.c.after)
            .where(AUDIT.c.session_id == session_id, AUDIT.c.action == "db.session.update")
            .order_by(AUDIT.c.id)
            .limit(1)
        ).one()
        connection.execute(
            insert(AUDIT).values(
                at=moment,
                user_name=None,
                action=row.action,
                session_id=session_id,
                entity=row.entity,
                entity_id=session_id,
                before=row.before,
                after=row.after,
            )
        )


def _session_on_its_day(service):
    """The trail of MRN-HIGH on its own day (the database's real-time rows stay out), with
    the database's row for its dose at the dose's moment."""

    def screen(frozen, ids):
        dosed = datetime(2026, 11, 19, 9, 0, 1, tzinfo=UTC)
        _trigger_row_at_its_moment(service, ids["high"], dosed)
        audit = AuditScreen(frozen, session_id=ids["high"])
        since, until = local_day(date(2026, 11, 19))
        audit.filter = AuditFilter(
            session_id=ids["high"], since=since, until=until, day=since.date()
        )
        return audit

    return screen


def test_audit_of_a_session_on_its_day(snap_compare, service):
    async def steps(pilot, ids):
        await pilot.press("down", "down", "down", "down", "down", "down")

    assert _snap(snap_compare, service, _session_on_its_day(service), steps)


def test_audit_filter_dialog(snap_compare, service):
    async def steps(pilot, ids):
        await pilot.press("slash", "tab", "tab", "tab", "tab", *"rea")

    assert _snap(snap_compare, service, _session_on_its_day(service), steps)


def test_rems_forms_due(snap_compare, service):
    async def steps(pilot, ids):
        await pilot.press("down", "down")

    assert _snap(snap_compare, service, lambda frozen, ids: RemsScreen(frozen, SAM), steps)


def test_rems_form(snap_compare, service):
    async def steps(pilot, ids):
        await pilot.press("down", "down", "enter")

    assert _snap(snap_compare, service, lambda frozen, ids: RemsScreen(frozen, SAM), steps)


def test_rems_mark_submitted_dialog(snap_compare, service):
    async def steps(pilot, ids):
        await pilot.press("down", "down", "down", "m")

    assert _snap(snap_compare, service, lambda frozen, ids: RemsScreen(frozen, SAM), steps)


def test_rems_correct_dialog(snap_compare, service):
    async def steps(pilot, ids):
        await pilot.press("down", "down", "c")

    assert _snap(snap_compare, service, lambda frozen, ids: RemsScreen(frozen, SAM), steps)


def test_rems_correct_dialog_ready_minute(snap_compare, service):
    """Every answer of the form is offered; the ready minute takes a whole number."""

    async def steps(pilot, ids):
        await pilot.press("down", "down", "c")
        await settle(pilot)
        pilot.app.screen.query_one("#field", Select).value = "ready_minute"
        await pilot.pause()

    assert _snap(snap_compare, service, lambda frozen, ids: RemsScreen(frozen, SAM), steps)


def test_quality_summary_of_last_week(snap_compare, service):
    async def steps(pilot, ids):
        await pilot.press("left_square_bracket")  # it opens on this week so far

    assert _snap(
        snap_compare, service, lambda frozen, ids: QualityScreen(frozen, lambda: NOW), steps
    )
