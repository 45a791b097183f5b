"""The discharge dialog (`x`): the gate as a checklist, the escort, a signed override (a
nurse's co-signed by a supervisor)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Label, Select, Static

from monitor.core.intake import expected_dose
from monitor.errors import GateNotMet
from monitor.views import SessionView
from tui.dialogs.base import FieldRefusal, SavingDialog, whole_number
from tui.dialogs.cosign import CoSign, cosign_rows, read_cosign
from tui.inputs import Input
from tui.render import checklist

#: The checklist keeps at least this many rows (it scrolls) however little room is left.
CHECKLIST_MIN_ROWS = 3


@dataclass(frozen=True)
class Discharge:
    """Discharge: escort, no-driving instruction, the REMS minute, and an override reason
    when the gate is not met."""

    override_reason: str | None
    escort: str
    instructions_given: bool
    ready_minute: int | None
    #: The user's PIN, asked again to sign an override.
    pin: str | None = None
    #: The supervisor who co-signs a nurse's override, and their PIN.
    cosign: CoSign | None = None


class AnswerSelect(Select[bool]):
    """A yes/no select whose Enter, once answered, saves the dialog (Down or Space open the
    list again); unanswered, Enter opens the list."""

    BINDINGS = [Binding("enter", "enter", "Save", show=False)]

    class Answered(Message):
        """Enter on an answered select."""

    def action_enter(self) -> None:
        if self.value is Select.NULL:
            self.action_show_overlay()
        else:
            self.post_message(self.Answered())


class DischargeScreen(SavingDialog[Discharge]):
    """The discharge gate as a checklist; who goes home with the patient, the no-driving
    instruction, for esketamine the REMS ready minute (proposed, confirm or change), and a
    written reason when the gate is not met, signed, and co-signed when ``cosigning`` (the user
    is a nurse: a clinician stands behind an override)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_discharge")]
    #: The services refuse a REMS ready minute they do not accept (the other answers are
    #: read here first).
    REFUSAL_FIELD = "ready-minute"

    def __init__(
        self, view: SessionView, save: Callable[[Discharge], Any], *, cosigning: bool = False
    ) -> None:
        super().__init__(save)
        self.view = view
        self.rems = expected_dose(view.protocol) is not None
        self.gate_ready = view.gate.ready
        self.cosigning = cosigning

    def compose(self) -> ComposeResult:
        view = self.view
        with Vertical(id="dialog", classes="form"):
            yield Label(id="discharge-title", classes="title")
            yield self.error_line()
            with VerticalScroll(id="checklist-box"):
                yield Static(checklist(view.gate.items, failing_first=True), id="checklist")
            with Grid(classes="fields", id="discharge-fields"):
                yield Label("Escort")
                yield Input(
                    placeholder="who takes the patient home, or none: why",
                    id="escort",
                    compact=True,
                    max_length=500,
                    classes="wide",
                )
                yield Label("No driving")
                yield AnswerSelect(
                    [
                        ("yes: told not to drive until the next day", True),
                        ("no: instruction not given", False),
                    ],
                    prompt="no-driving instruction given?",
                    id="instructions",
                    compact=True,
                    classes="wide",
                )
                if self.rems:
                    proposed = view.ready_minute_proposed
                    shown = "no proposal" if proposed is None else f"proposed {proposed}"
                    yield Label("REMS ready")
                    yield Input(
                        value="" if proposed is None else str(proposed),
                        placeholder="minute",
                        id="ready-minute",
                        compact=True,
                        max_length=4,
                    )
                    yield Label(
                        f"min after dose ({shown})",
                        classes="hint span2",
                    )
                yield Label("Override", classes="override")
                yield Input(
                    placeholder="why discharge with the gate not met",
                    id="override",
                    compact=True,
                    # The whole row: the reason is read back before it is signed.
                    classes="override wide",
                )
                yield Label("Your PIN", classes="override")
                yield self.pin_field("signs the override", classes="override wide")
                yield from cosign_rows(wide=True)
            with Horizontal(classes="buttons"):
                yield Button("Discharge", variant="success", id="discharge", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self._show_verdict()
        self.set_focus(self.query_one("#escort", Input))
        # Whenever the dialog's rows change height (a refusal wraps, a row comes or goes),
        # fit the checklist again once that layout is done: measuring only when a change
        # was asked for could read the rows before they were laid out (a snapshot under load
        # once caught the checklist a row too tall, the buttons pushed off the screen).
        self.watch(self.query_one("#dialog"), "virtual_size", self._rows_changed, init=False)

    def _rows_changed(self) -> None:
        self.call_after_refresh(self._fit_checklist)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_checklist)

    def _fit_checklist(self) -> None:
        """The checklist as tall as its lines, up to the rows the screen has left once the
        dialog's other rows are shown: it scrolls only when they do not all fit (a fixed
        height scrolled it at 120x40 with empty rows below). Asked again whenever a row
        comes or goes (a refusal, the override, the co-signer)."""
        if not self.is_attached:
            return
        dialog = self.query_one("#dialog")
        box = self.query_one("#checklist-box")
        others = dialog.outer_size.height - dialog.size.height  # its frame
        for child in dialog.children:
            if child is not box and child.display:
                margin = child.styles.margin
                others += child.outer_size.height + margin.top + margin.bottom
        box.styles.max_height = max(CHECKLIST_MIN_ROWS, self.size.height - others)

    def refuse(self, message: str, style: str = "bold red", *, field: str | None = None) -> None:
        super().refuse(message, style, field=field)
        self.call_after_refresh(self._fit_checklist)

    def _show_verdict(self) -> None:
        title = Text(f"Discharge {self.view.bay or ''} {self.view.patient}: ")
        if self.gate_ready:
            title.append("gate met", style="bold green")
        else:
            title.append("gate NOT met", style="bold red")
        title.append("  (Esc cancels)")
        self.query_one("#discharge-title", Label).update(title)
        for widget in self.query(".override"):
            widget.display = not self.gate_ready
        self.show_cosign(self.cosigning and not self.gate_ready)

    def show_cosign(self, shown: bool) -> None:
        self.cosigning = self.cosigning or shown
        super().show_cosign(shown)
        self.call_after_refresh(self._fit_checklist)

    def form(self) -> Discharge:
        """The discharge as typed; :class:`FieldRefusal` says what to fix, and where."""
        escort = self.query_one("#escort", Input).value.strip()
        if not escort:
            raise FieldRefusal(
                "say who takes the patient home (a name or relation), or none: why", "escort"
            )
        instructions = self.query_one("#instructions", Select).value
        if instructions is Select.NULL:
            raise FieldRefusal("say whether the no-driving instruction was given", "instructions")
        ready_minute = None
        if self.rems:
            # Which minutes are accepted is the services' answer, shown when they refuse.
            ready_minute = whole_number(
                self.query_one("#ready-minute", Input).value,
                "the REMS ready minute",
                field="ready-minute",
            )
        override = pin = cosign = None
        if not self.gate_ready:
            override = self.query_one("#override", Input).value.strip()
            if not override:
                raise FieldRefusal(
                    "the gate is not met: write why the patient leaves anyway", "override"
                )
            pin = self.pin("an override is signed: type your PIN")
            if self.cosigning:
                cosign = read_cosign(lambda field: self.query_one(f"#{field}", Input))
        return Discharge(override, escort, bool(instructions), ready_minute, pin, cosign)

    def _discharge(self) -> None:
        self.submit_form()

    def refused(self, error: BaseException | None) -> None:
        if isinstance(error, GateNotMet) and self.gate_ready:
            # The gate held when the dialog opened and no longer does: show the override.
            self.gate_ready = False
            self._show_verdict()
            reasons = Text("\n".join(f"[ ] {r}" for r in error.reasons), style="bold red")
            self.query_one("#checklist", Static).update(reasons)
            self.refuse(
                "the gate is no longer met: write why the patient leaves anyway", field="override"
            )
            return
        super().refused(error)

    @on(Input.Submitted)
    @on(AnswerSelect.Answered)
    def _enter(self) -> None:
        self._discharge()

    @on(Button.Pressed, "#discharge")
    def _discharge_pressed(self) -> None:
        self._discharge()
