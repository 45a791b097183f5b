"""SavingDialog: the one base of every dialog that saves.

Attributes down, messages up: the caller hands each dialog the plain data it shows and a
``save`` callable (the service call, with the signed-in user bound). The dialog runs ``save`` in
its own thread worker and closes only once it succeeded, returning the plain dataclass that was
filled in; a refusal is shown inside the dialog, under its title, and everything typed stays
there to be corrected. Esc and the Cancel button close it unsaved; a refused PIN
(:class:`monitor.errors.PinRefused`) empties the PIN field (id ``pin``) and puts the cursor
there; a refused co-signer (:class:`tui.dialogs.cosign.CosignRefused`) empties the co-signer PIN
field and puts the cursor in the field to fix."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any, ClassVar, Generic, TypeVar

from rich.text import Text
from textual import on
from textual.screen import ModalScreen
from textual.widgets import Button, Static
from textual.worker import Worker, WorkerState

from monitor.errors import PinRefused, Refused
from tui.dialogs.cosign import COSIGN_CLASS, COSIGN_PIN, CosignRefused
from tui.failures import error_message
from tui.inputs import Input, pin_input

#: The sheet of every dialog: its frame, title, fields and buttons (the station reads it at
#: start-up with its own).
CSS = Path(__file__).with_name("dialogs.tcss")
Result = TypeVar("Result")


_WHOLE = re.compile(r"[0-9]{1,4}")


def whole_number(text: str, what: str, *, low: int = 0, high: int = 9999) -> int | None:
    """A typed whole number (ASCII digits only), ``None`` when blank; ValueError otherwise."""
    text = text.strip()
    if not text:
        return None
    if not _WHOLE.fullmatch(text) or not low <= int(text) <= high:
        raise ValueError(f"{what} is a whole number from {low} to {high}")
    return int(text)


class SavingDialog(ModalScreen[Result], Generic[Result]):
    """A dialog that saves through the services in a worker and closes only on success.

    The dialog's fields are read by :meth:`form` (a ``ValueError`` or a refusal says what to
    fix, shown under the title); :meth:`submit_form` saves what it returns. Esc (bind
    ``escape`` to ``cancel``) and a button with id ``cancel`` close the dialog unsaved, unless
    a save is under way. A dialog that is signed names its PIN field ``pin``
    (:meth:`pin_field`): a refused PIN empties that field (and only it) and puts the cursor
    there; everything else typed stays."""

    CSS_PATH: ClassVar[str | PurePath | list[str | PurePath] | None] = CSS
    #: The id of the PIN field of every signed dialog.
    PIN = "pin"
    #: Enter in a field moves on to the next one, and in the PIN field saves; a blank reason
    #: keeps the cursor where the reason goes (review mode's signed dialogs).
    ENTER_MOVES_ON: ClassVar[bool] = False
    #: A refusal is shown in the dialog only: the station's status line and toasts do not
    #: repeat it (the supervisor's desk). Otherwise the station hears of the failed save too.
    KEEPS_REFUSALS: ClassVar[bool] = False

    def __init__(self, save: Callable[[Result], Any] | None = None) -> None:
        """``save`` runs in a worker with what :meth:`submit` is given; without one (a filter)
        the dialog closes at once with it."""
        super().__init__()
        self._saver = save
        #: What is being saved now (one save at a time: Enter twice saves once).
        self.saving: Result | None = None
        #: The user names a co-signer for what needs a clinician (a nurse; set by the caller).
        self.cosigning = False

    def error_line(self) -> Static:
        """The line under the title that shows a refusal (hidden while there is none)."""
        line = Static(id="form-error", classes="error")
        line.display = False
        return line

    def pin_field(self, placeholder: str = "your PIN: this is signed", **options: object) -> Input:
        """The field a signed dialog asks the PIN in (compact unless told otherwise)."""
        options.setdefault("compact", True)
        return pin_input(placeholder, self.PIN, **options)

    def pin(self, missing: str = "type your PIN: it signs this") -> str:
        """The PIN typed; ValueError (``missing``) when blank."""
        field = self.query_one(f"#{self.PIN}", Input)
        if not field.value:
            field.focus()
            raise ValueError(missing)
        return field.value

    def reason(self, what: str) -> str:
        """The reason typed (field ``reason``); ValueError when blank."""
        field = self.query_one("#reason", Input)
        text = field.value.strip()
        if not text:
            field.focus()
            raise ValueError(f"{what}: say why, in a word or a sentence")
        return text

    def refuse(self, message: str, style: str = "bold red") -> None:
        """Show why the form cannot be saved as it is; what was typed stays."""
        line = self.query_one("#form-error", Static)
        line.update(Text(message, style=style))
        line.display = bool(message)

    def form(self) -> Result:
        """The dialog as filled in; ValueError (or a refusal) says what to fix."""
        raise NotImplementedError

    def submit_form(self) -> None:
        """Save the dialog as filled in, or say what to fix."""
        try:
            result = self.form()
        except (ValueError, Refused) as error:
            self.refuse(str(error))
            return
        self.submit(result)

    def submit(self, result: Result) -> None:
        """Save ``result`` in a worker; the dialog closes when the save succeeded."""
        if self.saving is not None:
            return
        saver = self._saver
        if saver is None:
            self.dismiss(result)
            return
        self.saving = result
        self.refuse("saving…", style="dim")
        self.run_worker(
            lambda: saver(result),
            thread=True,
            group="dialog-save",
            name="dialog-save",
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "dialog-save":
            return
        if self.KEEPS_REFUSALS:
            event.stop()
        if event.state is WorkerState.SUCCESS:
            result, self.saving = self.saving, None
            self.dismiss(result)
        elif event.state is WorkerState.ERROR:
            self.saving = None
            self.refused(event.worker.error)

    def refused(self, error: BaseException | None) -> None:
        """The services refused the save (or the database failed): say so in the dialog."""
        self.refuse(error_message(error))
        if isinstance(error, PinRefused):
            for pin in self.query(f"#{self.PIN}").results(Input):
                pin.value = ""
                pin.focus()
        elif isinstance(error, CosignRefused):
            self.show_cosign(True)
            for pin in self.query(f"#{COSIGN_PIN}").results(Input):
                pin.value = ""
            for field in self.query(f"#{error.field}").results(Input):
                field.focus()

    def show_cosign(self, shown: bool) -> None:
        """Show or hide the co-signer's rows (:func:`tui.dialogs.cosign.cosign_rows`)."""
        for widget in self.query(f".{COSIGN_CLASS}"):
            widget.display = shown
        for frame in self.query("#dialog"):
            frame.set_class(shown, "cosigning")

    def action_cancel(self) -> None:
        if self.saving is not None:
            return  # the save is under way: its outcome is shown here before closing
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.submit_form()

    @on(Input.Submitted)
    def _enter_moves_on(self, event: Input.Submitted) -> None:
        if not self.ENTER_MOVES_ON:
            return
        if event.input.id == "reason" and not event.value.strip():
            self.refuse("say why, in a word or a sentence, then Enter")
            return
        if event.input.id != self.PIN:
            self.refuse("")
            self.focus_next()
            return
        self.submit_form()
