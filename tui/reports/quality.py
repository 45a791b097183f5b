"""The quality summary screen: a week (`[`/`]`) or any period."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from monitor.present.quality import quality_story
from monitor.services import Service
from monitor.services.report import QualityReport
from tui.footer import ScreenFooter
from tui.reports.desk import DeskScreen, lines_grid
from tui.reports.quality_period import QualityPeriod, QualityPeriodDialog, week_of
from tui.styled import PLAIN_STYLE, row_text


@dataclass(frozen=True)
class QualityLoaded:
    """A summary as read, with the period it is of."""

    period: QualityPeriod
    report: QualityReport


class QualityScreen(DeskScreen):
    """The quality summary of the sessions discharged in a period: the week that includes
    today (Monday to Sunday, local time; its figures so far) at first, ``[``/``]`` the week
    before/after (never past the current week), ``p`` any period."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="quality_close"),
        Binding(
            "left_square_bracket", "week(-1)", "Prev week", key_display="[", id="quality_previous"
        ),
        Binding("right_square_bracket", "week(1)", "Next week", key_display="]", id="quality_next"),
        Binding("p", "period", "Period", id="quality_period"),
        Binding("r", "reload", "Reload", id="quality_reload"),
        Binding("f5", "reload", "Reload", show=False, id="quality_reload_f5"),
        Binding("q", "app.quit", "Quit", id="quality_quit"),
    ]

    def __init__(self, service: Service, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.service = service
        self.clock = clock
        self.period = QualityPeriod.this_week(clock().astimezone().date())
        self.report: QualityReport | None = None
        #: The figures the grid holds (a period's summary may add its unreadable records).
        self.figures = 0

    def compose(self) -> ComposeResult:
        yield self.title_line()
        yield self.status_line()
        with VerticalScroll(classes="desk-scroll", id="quality-scroll"):
            # Every figure's label, the values once read.
            empty = quality_story(QualityReport(None, None))
            self.figures = len(empty.rows)
            yield lines_grid([(row.label, "") for row in empty.rows], "quality")
        yield ScreenFooter()

    def on_mount(self) -> None:
        self._title()
        self.say("reading…")
        self.action_reload()

    def _title(self) -> None:
        self.query_one("#desk-title", Static).update(
            f"Quality summary · discharged {self.period.describe()}"
        )

    def action_reload(self) -> None:
        service, period = self.service, self.period

        def work() -> QualityLoaded:
            return QualityLoaded(period, service.quality_report(period.since, period.until))

        self.load(work, "quality")

    def loaded(self, name: str, result: Any) -> None:
        if not isinstance(result, QualityLoaded) or result.period != self.period:
            return
        self.report = result.report
        for i, row in enumerate(quality_story(result.report).rows):
            if i >= self.figures:
                break  # the unreadable records: on the status line below
            self.query_one(f"#quality-value-{i}", Static).update(row_text(row, PLAIN_STYLE))
        if result.report.unreadable:
            # Named, never left out (docs/storage.md, "Unreadable records").
            first, rest = result.report.unreadable[0], len(result.report.unreadable) - 1
            more = f" (+{rest} more: `monitor report` lists them)" if rest else ""
            self.say(f"UNREADABLE: {first}{more}; the figures count the rest", "error")
        elif result.report.sessions:
            self.say("Sessions discharged in the period: their figures are final at discharge.")
        else:
            self.say("No session was discharged in this period: [ and ] change the week.")

    def action_week(self, step: int) -> None:
        today = self.clock().astimezone().date()
        monday = self.period.week + timedelta(days=7 * step)
        if monday > week_of(today):
            self.say("This is the current week, so far: [ goes to the week before.")
            return
        self.period = QualityPeriod.for_week(monday, today)
        self._title()
        self.say("reading…")
        self.action_reload()

    def action_period(self) -> None:
        service = self.service
        read: list[QualityLoaded] = []

        def save(period: QualityPeriod) -> None:
            # The summary is read in the dialog's worker: a failure shows there, with the
            # period typed kept.
            read.append(QualityLoaded(period, service.quality_report(period.since, period.until)))

        def closed(period: QualityPeriod | None) -> None:
            if period is not None and read:
                self.period = period
                self._title()
                self.loaded("quality", read[-1])

        self.app.push_screen(QualityPeriodDialog(self.period, self.clock, save), closed)
