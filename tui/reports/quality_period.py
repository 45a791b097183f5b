"""Which discharges the quality summary counts (`p`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Label, Static

from monitor.errors import Refused
from monitor.periods import local_day, typed_period
from tui.dialogs.base import SavingDialog
from tui.dialogs.refusal import period_refusal
from tui.inputs import Input, put_cursor
from tui.reports.periods import period_text


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class QualityPeriod:
    """The period of the summary: a Monday-Sunday week, or any typed period."""

    since: datetime | None
    until: datetime | None
    #: The Monday of the week shown, or of the week the typed period begins in.
    week: date
    typed: bool = False
    #: Today, when the week shown is the current one (its figures are so far).
    today: date | None = None

    @classmethod
    def for_week(cls, monday: date, today: date) -> QualityPeriod:
        """The local Monday 00:00 to Sunday 23:59:59.999999 of the week; ``today`` says
        whether it is the current week."""
        current = today if week_of(today) == monday else None
        since, until = local_day(monday)[0], local_day(monday + timedelta(days=6))[1]
        return cls(since, until, monday, today=current)

    @classmethod
    def this_week(cls, today: date) -> QualityPeriod:
        """The week that includes ``today``, so far: where the summary opens."""
        return cls.for_week(week_of(today), today)

    def describe(self) -> str:
        """The period in words; the current week as ``this week so far, Mon 23 Nov to Fri 27
        Nov 2026``."""
        if self.today is not None and not self.typed:
            return f"this week so far, {period_text(self.since, local_day(self.today)[1])}"
        return period_text(self.since, self.until)


class QualityPeriodDialog(SavingDialog[QualityPeriod]):
    """Type any period (a date alone as To is that whole day)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_quality_period")]
    KEEPS_REFUSALS = True

    def __init__(
        self,
        current: QualityPeriod,
        clock: Callable[[], datetime],
        save: Callable[[QualityPeriod], Any],
    ) -> None:
        super().__init__(save)
        self.current = current
        self.clock = clock

    def compose(self) -> ComposeResult:
        def typed(moment: datetime | None) -> str:
            return "" if moment is None else moment.astimezone().date().isoformat()

        with Vertical(id="dialog", classes="form"):
            yield Label("Quality summary: which discharges?  (Enter, Esc cancels)", classes="title")
            yield self.error_line()
            with Grid(classes="fields"):
                yield Label("From")
                yield Input(
                    value=typed(self.current.since),
                    placeholder="2026-11-01",
                    id="since",
                    compact=True,
                )
                yield Label("To")
                yield Input(
                    value=typed(self.current.until),
                    placeholder="2026-11-30",
                    id="until",
                    compact=True,
                )
            yield Static(
                "Sessions discharged from From to To, both included; a date alone as To is "
                "that whole day. Also 2026-11-27T09:00, now, 90 min ago.",
                classes="hint",
            )

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#since", Input))

    @on(Input.Submitted, "#since")
    def _to_until(self) -> None:
        put_cursor(self.query_one("#until", Input))

    @on(Input.Submitted, "#until")
    def _enter(self) -> None:
        since_text = self.query_one("#since", Input).value
        until_text = self.query_one("#until", Input).value
        try:
            since, until = typed_period(since_text, until_text, self.clock())
        except Refused as error:
            refusal = period_refusal(error, since_text, until_text, self.clock())
            self.refuse(str(refusal), field=refusal.field)
            return
        start = (since or until or self.clock()).astimezone().date()
        self.submit(QualityPeriod(since, until, week_of(start), typed=True))
