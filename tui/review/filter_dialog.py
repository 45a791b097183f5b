"""The review queue's filter dialog (`f`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import (
    Button,
    Label,
    Select,
)

from monitor.errors import EntryError
from tui.dialogs.base import SavingDialog
from tui.dialogs.refusal import FieldRefusal, period_refusal
from tui.inputs import Input
from tui.review import DIALOG_CSS
from tui.review.filters import PERIODS, QUESTIONS, ReviewFilter
from tui.ticks import Ticks


class FilterScreen(SavingDialog[ReviewFilter]):
    """The queue's filters; Enter applies them, Esc leaves them as they were."""

    CSS_PATH = DIALOG_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_review_filter")]

    def __init__(
        self,
        current: ReviewFilter,
        users: list[str],
        protocols: list[str],
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__()  # nothing to save: Enter closes with the filters chosen
        self.current = current
        self.users = users
        self.protocols = protocols
        self.clock = clock

    def compose(self) -> ComposeResult:
        now = self.current
        with Vertical(id="dialog", classes="form review-filter"):
            yield Label(
                "Filter  (Tab: fields, arrows: boxes, Space ticks, Enter applies, Esc)",
                classes="title",
            )
            yield self.error_line()
            with Grid(classes="fields"):
                yield Label("Period")
                yield Select(
                    [(label, key) for key, label in PERIODS],
                    value=now.period,
                    allow_blank=False,
                    id="period",
                    compact=True,
                )
                yield Label("Nurse")
                yield Select(
                    [(name, name) for name in self.users],
                    prompt="every nurse",
                    value=now.nurse if now.nurse in self.users else Select.NULL,
                    id="nurse",
                    compact=True,
                )
                yield Label("From", classes="dates")
                yield Input(
                    now.since_text,
                    placeholder="2026-11-26",
                    id="since",
                    compact=True,
                    classes="dates",
                    max_length=40,
                )
                yield Label("To", classes="dates")
                yield Input(
                    now.until_text,
                    placeholder="2026-11-27 (whole day)",
                    id="until",
                    compact=True,
                    classes="dates",
                    max_length=40,
                )
                yield Label("Protocol")
                yield Select(
                    [(p, p) for p in self.protocols],
                    prompt="every protocol",
                    value=now.protocol if now.protocol in self.protocols else Select.NULL,
                    id="protocol",
                    compact=True,
                )
            yield Ticks(
                *[(label, key, bool(getattr(now, key))) for key, label in QUESTIONS],
                id="questions",
                compact=True,
            )
            with Horizontal(classes="buttons"):
                yield Button("Apply", variant="primary", id="apply", compact=True)
                yield Button("Clear", id="clear", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self._period_changed()
        self.set_focus(self.query_one("#period", Select))

    @on(Select.Changed, "#period")
    def _period_changed(self) -> None:
        dates = self.query_one("#period", Select).value == "dates"
        for widget in self.query(".dates"):
            widget.display = dates

    def form(self) -> ReviewFilter:
        """The filters as chosen; :class:`FieldRefusal` says what to fix, and where."""
        period = str(self.query_one("#period", Select).value)
        nurse = self.query_one("#nurse", Select).value
        protocol = self.query_one("#protocol", Select).value
        ticked = set(self.query_one("#questions", Ticks).selected)
        chosen = ReviewFilter(
            period=period,
            since_text=self.query_one("#since", Input).value.strip() if period == "dates" else "",
            until_text=self.query_one("#until", Input).value.strip() if period == "dates" else "",
            nurse=None if nurse is Select.NULL else str(nurse),
            protocol=None if protocol is Select.NULL else str(protocol),
            **{key: key in ticked for key, _ in QUESTIONS},
        )
        if period == "dates" and not (chosen.since_text or chosen.until_text):
            raise FieldRefusal(
                "between dates: type a first day (From), a last day (To), or both", "since"
            )
        try:
            chosen.bounds(self.clock())  # refuses a date it cannot read
        except EntryError as error:
            raise period_refusal(
                error, chosen.since_text, chosen.until_text, self.clock()
            ) from None
        return chosen

    @on(Input.Submitted)
    @on(Ticks.Submitted)
    @on(Button.Pressed, "#apply")
    def _enter(self) -> None:
        self.submit_form()

    @on(Button.Pressed, "#clear")
    def _clear(self) -> None:
        self.dismiss(ReviewFilter())
