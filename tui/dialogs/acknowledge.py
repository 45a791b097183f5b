"""The acknowledge dialog (`a`): open flags and check alarms, ticked and answered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, SelectionList

from monitor.core.gate import minutes_between
from monitor.core.schedule import CheckState, CheckStatus
from monitor.views import FlagView, SessionView
from tui.dialogs.base import SavingDialog
from tui.inputs import Input
from tui.render import hm, severity_style
from tui.ticks import Ticks


@dataclass(frozen=True)
class Acknowledgement:
    """Which flags were acknowledged and which checks explained, with one statement."""

    flag_ids: list[int]
    check_labels: list[str]
    action: str


def check_alarm_text(check: CheckState, now: datetime) -> str:
    """``+15 min check missed: why was it not done?``"""
    when = ""
    if check.status is CheckStatus.OVERDUE and check.due_at is not None:
        when = f" {minutes_between(check.due_at, now)}m"
    return f"{check.label} check {check.status.value}{when}: why not done?"


class AcknowledgeScreen(SavingDialog[Acknowledgement]):
    """The open flags and the check alarms of a session; one line says what was done (for
    flags) or why a check was not done (for checks), Enter saves for the ticked ones."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_ack")]

    def __init__(self, view: SessionView, save: Callable[[Acknowledgement], Any]) -> None:
        super().__init__(save)
        self.view = view

    def compose(self) -> ComposeResult:
        flags = sorted(self.view.unacknowledged(), key=lambda f: -f.severity.rank)
        checks = self.view.check_alarms()
        any_flag_needs_action = any(f.severity.needs_action for f in flags)
        urgent = [f for f in flags if f.severity.needs_action]
        low = [f for f in flags if not f.severity.needs_action]

        measured = {reading.id: reading.measured_at for reading in self.view.readings}

        def flag_option(flag: FlagView) -> tuple[Text, str, bool]:
            # The reading's time: the same low flag ("MOAA/S 4") can stand open several times.
            text = Text(
                f"{flag.severity.symbol:<3} {hm(measured.get(flag.reading_id))} {flag.message}",
                style=severity_style(flag.severity),
            )
            return text, f"flag:{flag.id}", flag.severity.needs_action

        options = [flag_option(f) for f in urgent]
        options += [
            (
                Text(
                    f"!!  {hm(c.due_at)} {check_alarm_text(c, self.view.as_of)}",
                    style="bold yellow",
                ),
                f"check:{c.label}",
                # Ticked by default only when no flag is: one sentence rarely says both what
                # was done about a flag and why a check was not done.
                not any_flag_needs_action,
            )
            for c in checks
        ]
        options += [flag_option(f) for f in low]
        with Vertical(id="dialog"):
            yield Label(
                f"Alarms of {self.view.bay or ''} {self.view.patient}  "
                "(Space ticks, Enter saves, Esc cancels)",
                classes="title",
            )
            yield self.error_line()
            yield Ticks(*options, id="alarms")
            yield Label(id="action-label")
            yield Input(id="action")

    def on_mount(self) -> None:
        self._ticked()
        self.query_one("#action", Input).focus()

    def _chosen(self) -> tuple[list[int], list[str]]:
        ticked = list(self.query_one("#alarms", SelectionList).selected)
        flags = [int(v.removeprefix("flag:")) for v in ticked if v.startswith("flag:")]
        checks = [v.removeprefix("check:") for v in ticked if v.startswith("check:")]
        return flags, checks

    @on(SelectionList.SelectedChanged)
    def _ticked(self) -> None:
        flags, checks = self._chosen()
        if checks and not flags:
            said = "Why was the check not done? e.g. patient asleep, refused"
        elif checks:
            said = "What was done, and why the check was not done:"
        else:
            said = "What was done? e.g. rechecked, prescriber informed"
        self.query_one("#action-label", Label).update(said)

    @on(Ticks.Submitted)
    def _submit_from_list(self) -> None:
        self._submit()

    @on(Input.Submitted, "#action")
    def _submit(self) -> None:
        action = self.query_one("#action", Input).value.strip()
        flags, checks = self._chosen()
        if not flags and not checks:
            self.refuse("tick at least one alarm (Tab to the list, Space ticks)")
            return
        if not action:
            self.refuse(
                "say why the check was not done"
                if checks and not flags
                else "say what was done, in a word or a sentence"
            )
            return
        self.submit(Acknowledgement(flags, checks, action))
