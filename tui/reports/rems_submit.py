"""Mark a REMS form submitted (`m`), signed with the PIN."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, Static

from monitor.core.rems import RemsForm
from monitor.present.rems import tracker_row
from tui.dialogs.base import SavingDialog
from tui.inputs import Input


@dataclass(frozen=True)
class RemsSubmit:
    """Mark submitted, signed with the PIN."""

    pin: str


class RemsSubmitDialog(SavingDialog[RemsSubmit]):
    """Mark a form submitted: the form's state, what is still missing, and the PIN again."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_rems_submit")]
    KEEPS_REFUSALS = True

    def __init__(self, form: RemsForm, today: date, save: Callable[[RemsSubmit], Any]) -> None:
        super().__init__(save)
        self.rems_form = form
        self.today = today

    def compose(self) -> ComposeResult:
        form = self.rems_form
        with Vertical(id="dialog"):
            yield Label(
                f"Mark the REMS form of {form.patient} (session {form.session_id}) submitted?  "
                "(Esc cancels)",
                classes="title",
            )
            yield self.error_line()
            row = tracker_row(form, self.today)
            facts = Text(f"Treated {row.treated_day}, due {row.due_day}: {row.status.text}.\n")
            if form.missing:
                facts.append("Still missing on the form:\n", style="bold yellow")
                for item in form.missing:
                    facts.append(f"  {item}\n", style="yellow")
            facts.append("Who and when are kept with the answers as they stand now.")
            yield Static(facts, id="rems-submit-facts")
            yield self.pin_field("your PIN: marking submitted is signed", compact=False)

    def on_mount(self) -> None:
        self.query_one(f"#{self.PIN}", Input).focus()

    @on(Input.Submitted, "#pin")
    def _signed(self, event: Input.Submitted) -> None:
        if not event.value:
            self.refuse("marking submitted is signed: type your PIN")
            return
        self.submit(RemsSubmit(event.value))
