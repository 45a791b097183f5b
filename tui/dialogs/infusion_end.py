"""The infusion-end dialog (`i`): when an IV infusion ended (the checks move); once recorded,
the same key corrects it with a reason (the first value and every correction are kept)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from monitor.core.gate import minutes_between
from monitor.core.schedule import Protocol, for_infusion, infusion_minutes
from monitor.core.timing import check_infusion_end
from monitor.errors import EntryError
from monitor.views import SessionView
from tui.dialogs.base import FieldRefusal, SavingDialog, typed_time
from tui.inputs import Input, put_cursor
from tui.render import hm


@dataclass(frozen=True)
class InfusionEnd:
    """When the infusion ended (None: now); ``reason``: why a recorded end is corrected
    (None: the first time it is recorded)."""

    at: datetime | None
    reason: str | None = None


def _checks_after(schedule: Protocol, length: int) -> str:
    """The checks from the end of an infusion of ``length`` minutes on: ``+50 +65 +80``."""
    return " ".join(f"+{c.at_min}" for c in schedule.checks if c.at_min >= length)


class InfusionEndScreen(SavingDialog[InfusionEnd]):
    """IV: when the infusion actually ended; the checks after it move with it. When the end
    is already recorded (``view.infusion_ended_at``), a correction: the new time and why."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_infusion")]
    #: The services refuse a time (before the start, ahead of now, the same as recorded).
    REFUSAL_FIELD = "ago"

    def __init__(
        self, view: SessionView, clock: Callable[[], datetime], save: Callable[[InfusionEnd], Any]
    ) -> None:
        super().__init__(save)
        self.view = view
        self.clock = clock
        self.correcting = view.infusion_ended_at is not None

    def compose(self) -> ComposeResult:
        view = self.view
        assert view.dosed_at is not None
        assert view.schedule is not None
        running = minutes_between(view.dosed_at, self.clock())
        what = "Correct the infusion end" if self.correcting else "Infusion ended"
        with Vertical(id="dialog"):
            yield Label(
                f"{what} for {view.bay or ''} {view.patient}  (Enter saves, Esc cancels)",
                classes="title",
            )
            yield self.error_line()
            if view.infusion_ended_at is not None:
                recorded = infusion_minutes(view.dosed_at, view.infusion_ended_at)
                by = f" by {view.infusion_ended_by}" if view.infusion_ended_by else ""
                facts = (
                    f"Started {hm(view.dosed_at)}; its end is recorded at "
                    f"{hm(view.infusion_ended_at)}{by} ({recorded} min). Type when it really "
                    "ended and why: the first time and every correction are kept."
                )
            else:
                facts = (
                    f"Started {hm(view.dosed_at)}, {running} min ago; the schedule assumes "
                    f"{view.schedule.infusion_min} min until the end is recorded."
                )
            yield Static(facts, id="infusion-facts")
            with Horizontal(classes="row"):
                yield Label("Ended", classes="field")
                yield Input(
                    placeholder="min" if self.correcting else "now",
                    id="ago",
                    compact=True,
                    max_length=40,
                    classes="short",
                )
                hint = "min ago or 10:28 (0: now)" if self.correcting else "min ago or 10:28"
                yield Label(hint, classes="hint")
            if self.correcting:
                with Horizontal(classes="row"):
                    yield Label("Reason", classes="field")
                    yield Input(
                        placeholder="why the recorded end is wrong (kept)",
                        id="reason",
                        compact=True,
                        max_length=500,
                    )
            yield Static(id="infusion-preview")

    def on_mount(self) -> None:
        self._preview()
        self.set_focus(self.query_one("#ago", Input))

    def _typed_end(self) -> datetime | None:
        """The end typed (None: now); a correction needs it typed (0 is now)."""
        at = typed_time(self.query_one("#ago", Input).value, self.clock(), "ago")
        if at is None and self.correcting:
            raise FieldRefusal(
                "type when the infusion really ended: minutes ago (0 for now) or the time", "ago"
            )
        return at

    def _ended_at(self) -> datetime:
        return self._typed_end() or self.clock()

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
            style = "dim" if self.correcting and not self.query_one("#ago", Input).value else ""
            target.update(Text(str(error), style=style or "bold red"))
            return
        actual = infusion_minutes(view.dosed_at, ended)
        # The schedule followed now: the planned length, or the recorded end's once recorded.
        length = view.schedule.infusion_min or 0
        moved = for_infusion(view.schedule, actual)
        text = Text()
        text.append(f"Infusion {actual} min (ended {hm(ended)}).\n", style="bold")
        text.append(f"Checks from its end, now:   {_checks_after(view.schedule, length)}\n")
        text.append(f"Checks from its end, after: {_checks_after(moved, actual)}", style="bold")
        target.update(text)

    def form(self) -> InfusionEnd:
        """The end as typed (and for a correction, why); ValueError says what to fix."""
        at = self._typed_end()
        if not self.correcting:
            return InfusionEnd(at)
        return InfusionEnd(at, self.reason("a correction of the infusion end"))

    @on(Input.Submitted, "#ago")
    def _ended(self) -> None:
        if self.correcting:
            try:
                self._typed_end()
            except FieldRefusal as error:
                self.refuse(str(error), field=error.field)
                return
            reason = self.query_one("#reason", Input)
            if not reason.value.strip():
                self.refuse("")
                put_cursor(reason)
                return
        self.submit_form()

    @on(Input.Submitted, "#reason")
    def _reason_given(self) -> None:
        self.submit_form()
