"""The infusion-end dialog (`i`): when an IV infusion ended (the checks move)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from monitor.core.gate import minutes_between
from monitor.core.schedule import for_infusion, infusion_minutes
from monitor.core.timing import check_infusion_end
from monitor.errors import EntryError
from monitor.views import SessionView
from tui.dialogs.base import SavingDialog, whole_number
from tui.inputs import Input
from tui.render import hm


@dataclass(frozen=True)
class InfusionEnd:
    """The infusion ended now, or this many minutes ago."""

    minutes_ago: int


class InfusionEndScreen(SavingDialog[InfusionEnd]):
    """IV: when the infusion actually ended; the checks after it move with it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_infusion")]

    def __init__(
        self, view: SessionView, clock: Callable[[], datetime], save: Callable[[InfusionEnd], Any]
    ) -> None:
        super().__init__(save)
        self.view = view
        self.clock = clock

    def compose(self) -> ComposeResult:
        view = self.view
        assert view.dosed_at is not None
        assert view.schedule is not None
        running = minutes_between(view.dosed_at, self.clock())
        with Vertical(id="dialog"):
            yield Label(
                f"Infusion ended for {view.bay or ''} {view.patient}  (Enter saves, Esc cancels)",
                classes="title",
            )
            yield self.error_line()
            yield Static(
                f"Started {hm(view.dosed_at)}, {running} min ago; the schedule assumes "
                f"{view.schedule.infusion_min} min until the end is recorded.",
                id="infusion-facts",
            )
            with Horizontal(classes="row"):
                yield Label("Ended", classes="field")
                yield Input(
                    placeholder="now", id="ago", compact=True, max_length=3, classes="short"
                )
                yield Label("min ago (blank: now)", classes="hint")
            yield Static(id="infusion-preview")

    def on_mount(self) -> None:
        self._preview()
        self.query_one("#ago", Input).focus()

    def _ended_at(self) -> datetime:
        ago = whole_number(self.query_one("#ago", Input).value, "minutes ago", high=600) or 0
        return self.clock() - timedelta(minutes=ago)

    @on(Input.Changed, "#ago")
    def _preview(self) -> None:
        """The checks after the infusion as scheduled now, and where they move to."""
        view = self.view
        assert view.dosed_at is not None
        assert view.schedule is not None
        target = self.query_one("#infusion-preview", Static)
        try:
            ended = self._ended_at()
            # The core's time rule (docs/clinical.md, "Times"): after the start, not ahead.
            check_infusion_end(ended, self.clock(), view.dosed_at, view.discharged_at)
        except (ValueError, EntryError) as error:
            target.update(Text(str(error), style="bold red"))
            return
        actual = infusion_minutes(view.dosed_at, ended)
        planned = view.schedule.infusion_min or 0
        moved = for_infusion(view.schedule, actual)

        def after(schedule, length: int) -> str:
            return " ".join(f"+{c.at_min}" for c in schedule.checks if c.at_min >= length)

        text = Text()
        text.append(f"Infusion {actual} min (ended {hm(ended)}).\n", style="bold")
        text.append(f"Checks from its end, now:   {after(view.schedule, planned)}\n")
        text.append(f"Checks from its end, after: {after(moved, actual)}", style="bold")
        target.update(text)

    @on(Input.Submitted, "#ago")
    def _ended(self, event: Input.Submitted) -> None:
        try:
            ago = whole_number(event.value, "minutes ago", high=600) or 0
        except ValueError as error:
            self.refuse(str(error))
            return
        self.submit(InfusionEnd(ago))
