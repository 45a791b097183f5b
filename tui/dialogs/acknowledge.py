"""The acknowledge dialog (`a`): open flags, serious events' alarms and check alarms, ticked and
answered; a supervisor co-signs a nurse's acknowledgement of a before-dosing flag or a serious
event's alarm."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Label, SelectionList, Static

from monitor.core.gate import minutes_between
from monitor.core.schedule import CheckState, CheckStatus
from monitor.views import FlagView, SessionView
from tui.dialogs.base import FieldRefusal, SavingDialog
from tui.dialogs.cosign import COSIGN_CLASS, COSIGN_PIN, COSIGNER, CoSign, cosign_rows, read_cosign
from tui.inputs import Input, put_cursor
from tui.render import hm, severity_style
from tui.ticks import Ticks


@dataclass(frozen=True)
class Acknowledgement:
    """Which flags were acknowledged and which checks explained, with one statement."""

    flag_ids: list[int]
    check_labels: list[str]
    action: str
    #: The supervisor who co-signs a nurse's acknowledgement of a flag that needs a clinician.
    cosign: CoSign | None = None


def check_alarm_text(check: CheckState, now: datetime) -> str:
    """``+15 min check missed: why was it not done?``"""
    when = ""
    if check.status is CheckStatus.OVERDUE and check.due_at is not None:
        when = f" {minutes_between(check.due_at, now)}m"
    return f"{check.label} check {check.status.value}{when}: why not done?"


def clinician_flags(view: SessionView) -> set[int]:
    """The open flags of ``view`` whose acknowledgement needs a clinician (docs/station.md,
    "Co-signature"): a before-dosing flag, a serious event's alarm."""
    before = {r.id for r in view.readings if r.before_dosing}
    return {
        f.id
        for f in view.unacknowledged()
        if f.event_id is not None or (f.reading_id is not None and f.reading_id in before)
    }


class AcknowledgeScreen(SavingDialog[Acknowledgement]):
    """The open flags, serious events' alarms and check alarms of a session; one line says
    what was done (for flags) or why a check was not done (for checks), Enter saves for the
    ticked ones. When ``cosigning`` (the user is a nurse) and a ticked flag needs a clinician,
    a supervisor's name and PIN are asked too."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_ack")]
    #: What the services refuse without naming a field is about the statement (or a flag
    #: acknowledged meanwhile): the cursor goes to the statement.
    REFUSAL_FIELD = "action"

    def __init__(
        self,
        view: SessionView,
        save: Callable[[Acknowledgement], Any],
        *,
        cosigning: bool = False,
    ) -> None:
        super().__init__(save)
        self.view = view
        self.cosigning = cosigning
        self.clinician_flags = clinician_flags(view)
        #: The co-signer was asked for (a refusal of the services can ask too).
        self.asked = False

    def compose(self) -> ComposeResult:
        flags = sorted(self.view.unacknowledged(), key=lambda f: -f.severity.rank)
        checks = self.view.check_alarms()
        any_flag_needs_action = any(f.severity.needs_action for f in flags)
        urgent = [f for f in flags if f.severity.needs_action]
        low = [f for f in flags if not f.severity.needs_action]

        # The reading's time (the same low flag, "MOAA/S 4", can stand open several times), or
        # for a serious event's alarm the event's.
        measured = {reading.id: reading.measured_at for reading in self.view.readings}
        happened = {e.alarm.id: e.at for e in self.view.events if e.alarm is not None}

        def flag_option(flag: FlagView) -> tuple[Text, str, bool]:
            when = measured.get(flag.reading_id) if flag.reading_id else happened.get(flag.id)
            text = Text(
                f"{flag.severity.symbol:<3} {hm(when)} {flag.message}",
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
            yield Input(id="action", max_length=500)
            yield Static(
                "A supervisor co-signs a before-dosing flag or a serious event's alarm:",
                id="cosign-why",
                classes=COSIGN_CLASS,
            )
            with Grid(classes=f"pairs {COSIGN_CLASS}"):
                yield from cosign_rows()

    def on_mount(self) -> None:
        self._ticked()
        self.set_focus(self.query_one("#action", Input))

    def _needs_cosigner(self) -> bool:
        """A ticked flag needs a clinician and the user is a nurse (or the services said so)."""
        flags, _ = self._chosen()
        return self.asked or (self.cosigning and bool(self.clinician_flags & set(flags)))

    def show_cosign(self, shown: bool) -> None:
        self.asked = self.asked or shown
        super().show_cosign(shown)

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
        super().show_cosign(self._needs_cosigner())

    @on(Ticks.Submitted)
    def _submit_from_list(self) -> None:
        self._submit()

    @on(Input.Submitted, f"#{COSIGNER}")
    def _to_cosign_pin(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.refuse("")
            put_cursor(self.query_one(f"#{COSIGN_PIN}", Input))
        else:
            self._submit()

    @on(Input.Submitted, "#action")
    def _said(self, event: Input.Submitted) -> None:
        cosigner = self.query_one(f"#{COSIGNER}", Input)
        if event.value.strip() and self._needs_cosigner() and not cosigner.value.strip():
            self.refuse("")
            put_cursor(cosigner)  # what was done is said: the co-signer next
            return
        self._submit()

    @on(Input.Submitted, f"#{COSIGN_PIN}")
    def _submit(self) -> None:
        self.submit_form()

    def form(self) -> Acknowledgement:
        """The acknowledgement as typed; :class:`FieldRefusal` says what to fix, and where."""
        action = self.query_one("#action", Input).value.strip()
        flags, checks = self._chosen()
        if not flags and not checks:
            raise FieldRefusal("tick at least one alarm (arrows move, Space ticks)", "alarms")
        if not action:
            raise FieldRefusal(
                "say why the check was not done"
                if checks and not flags
                else "say what was done, in a word or a sentence",
                "action",
            )
        cosign = None
        if flags and self._needs_cosigner():
            cosign = read_cosign(lambda name: self.query_one(f"#{name}", Input))
        return Acknowledgement(flags, checks, action, cosign)
