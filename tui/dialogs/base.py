"""SavingDialog: the one base of every dialog that saves.

Attributes down, messages up: the caller hands each dialog the plain data it shows and a
``save`` callable (the service call, with the signed-in user bound). The dialog runs ``save`` in
its own thread worker and closes only once it succeeded, returning the plain dataclass that was
filled in; a refusal is shown inside the dialog, under its title, and everything typed stays
there to be corrected. Esc and the Cancel button close it unsaved.

Focus follows the refusal (docs/station.md, "Dialogs"): every refusal names one field
(:class:`FieldRefusal`; after a save, a refused PIN, a refused co-signer or the dialog's
:attr:`SavingDialog.REFUSAL_FIELD`), and the cursor goes there at once, its text selected so
that what is typed next replaces it; the refusal goes once that field is changed. Keys typed
before the dialog's focus settles (a burst after the key that opened it) go to the field that
has or will have the focus, and a letter in a PIN field says "digits only" in the dialog."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any, ClassVar, Generic, TypeVar

from rich.text import Text
from textual import events, on
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Select, SelectionList, Static
from textual.widgets._toast import ToastRack
from textual.worker import Worker, WorkerState

from monitor.errors import EntryError, PinRefused, Refused
from monitor.timeparse import parse_minutes_ago_or_time
from tui.dialogs.cosign import COSIGN_CLASS, COSIGN_PIN, CosignRefused
from tui.dialogs.refusal import FieldRefusal
from tui.failures import error_message
from tui.inputs import DIGITS_ONLY, Input, PinInput, pin_input, put_cursor, take_early_key

#: The sheet of every dialog: its frame, title, fields and buttons (the station reads it at
#: start-up with its own).
CSS = Path(__file__).with_name("dialogs.tcss")
Result = TypeVar("Result")
__all__ = ["CSS", "FieldRefusal", "SavingDialog", "whole_number"]


_WHOLE = re.compile(r"[0-9]{1,4}")


def whole_number(
    text: str, what: str, *, low: int = 0, high: int = 9999, field: str | None = None
) -> int | None:
    """A typed whole number (ASCII digits only), ``None`` when blank; ValueError otherwise
    (a :class:`FieldRefusal` naming ``field`` when given)."""
    text = text.strip()
    if not text:
        return None
    if not _WHOLE.fullmatch(text) or not low <= int(text) <= high:
        message = f"{what} is a whole number from {low} to {high}"
        raise ValueError(message) if field is None else FieldRefusal(message, field)
    return int(text)


def typed_time(text: str, now: datetime, field: str) -> datetime | None:
    """A "when" field: blank is now (``None``), a bare number minutes ago, anything else a time
    as every other place reads it (``10:28``, ``5 min ago``, ISO 8601:
    :func:`monitor.timeparse.parse_minutes_ago_or_time`); a refusal names ``field``."""
    try:
        return parse_minutes_ago_or_time(text, now)
    except EntryError as error:
        raise FieldRefusal(str(error), field) from None


#: Marks a key that went through a dialog on its way up to the app (SavingDialog.early_key).
_PASSED = "_passed_a_dialog"


def _state(widget: Widget) -> object:
    """What a field holds now (to tell whether it was changed since a refusal)."""
    if isinstance(widget, SelectionList):
        return tuple(widget.selected)
    return getattr(widget, "value", None)


class SavingDialog(ModalScreen[Result], Generic[Result]):
    """A dialog that saves through the services in a worker and closes only on success.

    The dialog's fields are read by :meth:`form` (a :class:`FieldRefusal` says what to fix
    and where, shown under the title, the cursor put there); :meth:`submit_form` saves what it
    returns. Esc (bind ``escape`` to ``cancel``) and a button with id ``cancel`` close the
    dialog unsaved, unless a save is under way. A dialog that is signed names its PIN field
    ``pin`` (:meth:`pin_field`): a refused PIN empties that field (and only it) and puts the
    cursor there; everything else typed stays."""

    CSS_PATH: ClassVar[str | PurePath | list[str | PurePath] | None] = CSS
    #: The id of the PIN field of every signed dialog.
    PIN = "pin"
    #: Enter in a field moves on to the next one, and in the PIN field saves; a blank reason
    #: keeps the cursor where the reason goes (review mode's signed dialogs).
    ENTER_MOVES_ON: ClassVar[bool] = False
    #: A refusal is shown in the dialog only: the station's status line and toasts do not
    #: repeat it (a toast would cover the dialog's own fields). False: the station hears of
    #: the failed save too.
    KEEPS_REFUSALS: ClassVar[bool] = True
    #: The field a refusal of the services that names none is about (None: the cursor stays).
    REFUSAL_FIELD: ClassVar[str | None] = None
    #: The ids of the fields that the core's names of answers are asked in, where they differ
    #: (``dose_mg``: ``dose``).
    FIELD_IDS: ClassVar[dict[str, str]] = {}

    def __init__(self, save: Callable[[Result], Any] | None = None) -> None:
        """``save`` runs in a worker with what :meth:`submit` is given; without one (a filter)
        the dialog closes at once with it."""
        super().__init__()
        self._saver = save
        #: What is being saved now (one save at a time: Enter twice saves once).
        self.saving: Result | None = None
        #: The user names a co-signer for what needs a clinician (a nurse; set by the caller).
        self.cosigning = False
        #: The field the refusal shown names, and what it held then (the refusal goes once
        #: that field holds something else).
        self._refusal: tuple[str, object] | None = None

    def error_line(self) -> Static:
        """The line under the title that shows a refusal (hidden while there is none)."""
        line = Static(id="form-error", classes="error")
        line.display = False
        return line

    def pin_field(
        self, placeholder: str = "your PIN: this is signed", **options: object
    ) -> PinInput:
        """The field a signed dialog asks the PIN in (compact unless told otherwise)."""
        options.setdefault("compact", True)
        return pin_input(placeholder, self.PIN, **options)

    def pin(self, missing: str = "type your PIN: it signs this") -> str:
        """The PIN typed; :class:`FieldRefusal` (``missing``) when blank."""
        field = self.query_one(f"#{self.PIN}", Input)
        if not field.value:
            raise FieldRefusal(missing, self.PIN)
        return field.value

    def reason(self, what: str) -> str:
        """The reason typed (field ``reason``); :class:`FieldRefusal` when blank."""
        text = self.query_one("#reason", Input).value.strip()
        if not text:
            raise FieldRefusal(f"{what}: say why, in a word or a sentence", "reason")
        return text

    def field_named(self, name: str) -> Widget | None:
        """The field with id ``name``, or that asks the core's answer ``name``
        (:attr:`FIELD_IDS`); None: the dialog has none."""
        try:
            return self.query_one(f"#{self.FIELD_IDS.get(name, name)}")
        except NoMatches:
            return None

    def refuse(self, message: str, style: str = "bold red", *, field: str | None = None) -> None:
        """Show why the form cannot be saved as it is; what was typed stays. ``field``: the id
        of the field to fix: the cursor goes there now, its text selected, and the refusal
        goes once that field is changed."""
        line = self.query_one("#form-error", Static)
        line.update(Text(message, style=style))
        line.display = bool(message)
        self._refusal = None
        widget = self.field_named(field) if field else None
        if widget is None or not message:
            return
        if widget.focusable:
            put_cursor(widget)
        self._refusal = (widget.id or "", _state(widget))

    def form(self) -> Result:
        """The dialog as filled in; ValueError (or a refusal) says what to fix."""
        raise NotImplementedError

    def submit_form(self) -> None:
        """Save the dialog as filled in, or say what to fix (and put the cursor there)."""
        try:
            result = self.form()
        except (ValueError, Refused) as error:
            self.refuse(str(error), field=getattr(error, "field", None))
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
        """The services refused the save (or the database failed): say so in the dialog, with
        the cursor in the field the refusal is about."""
        field: str | None = None
        if isinstance(error, PinRefused) and self.field_named(self.PIN) is not None:
            field = self.PIN
            self.query_one(f"#{self.PIN}", Input).value = ""
        elif isinstance(error, CosignRefused):
            self.show_cosign(True)
            for pin in self.query(f"#{COSIGN_PIN}").results(Input):
                pin.value = ""
            field = error.field
        elif isinstance(error, Refused):
            field = getattr(error, "field", None) or self.REFUSAL_FIELD
        self.refuse(error_message(error), field=field)

    def show_cosign(self, shown: bool) -> None:
        """Show or hide the co-signer's rows (:func:`tui.dialogs.cosign.cosign_rows`)."""
        for widget in self.query(f".{COSIGN_CLASS}"):
            widget.display = shown
        for frame in self.query("#dialog"):
            frame.set_class(shown, "cosigning")

    def first_field(self) -> Widget | None:
        """The field that has the focus when the dialog opens (keys typed before it has it
        go there). The focused one once set; otherwise the first text field."""
        for field in self.query(Input):
            if field.focusable:
                return field
        return None

    async def submitted_now(self, field: Input) -> None:
        """(Asked by a text field on Enter, :meth:`tui.inputs.Input.action_submit`.) The
        dialog's Enter handlers run now, within the key's turn, not once the message has
        travelled up: a refusal's cursor is where the next key typed lands."""
        message = Input.Submitted(field, field.value)
        message.set_sender(field)
        await self._dispatch_message(message)

    def _extend_compose(self, widgets: list[Widget]) -> None:
        # No notices over a dialog: they covered its lower fields and buttons for seconds. One
        # said while it is open waits for the screen below (Textual shows the notices on the
        # screen in front, when it has a rack for them); the dialog says its own refusals.
        super()._extend_compose(widgets)
        widgets[:] = [w for w in widgets if not isinstance(w, ToastRack)]

    def on_screen_resume(self) -> None:
        # Notices said before the dialog opened are done with: the nurse has moved on.
        self.app.clear_notifications()

    def early_key(self, event: events.Key) -> bool:
        """(Asked by the app.) A key that reached the app without passing through this dialog
        was typed in the same burst as the key that opened it, and went to the screen below
        before the dialog was there: it is handed to the dialog, in its turn. Returns whether
        it was."""
        if getattr(event, _PASSED, False):
            return False
        event.stop()
        event.prevent_default()
        follow = events.Key(event.key, event.character)
        follow._set_forwarded()
        self.post_message(follow)
        return True

    async def on_key(self, event: events.Key) -> None:
        """A key that reaches the dialog itself, not a field (typed before the focus settled,
        in the same burst as the key that opened the dialog or moved the cursor), goes to the
        text field that has or will have the focus, in its turn."""
        setattr(event, _PASSED, True)
        focused = self.focused
        target = focused if focused is not None else self.first_field()
        if isinstance(target, Input):
            if focused is None:
                self.set_focus(target)  # now: the keys after this one follow it
            await take_early_key(target, event)

    @on(PinInput.NotADigit)
    def _not_a_digit(self, event: PinInput.NotADigit) -> None:
        event.stop()
        self.refuse(DIGITS_ONLY)
        self._refusal = (event.field.id or "", _state(event.field))

    @on(Input.Changed)
    @on(Select.Changed)
    @on(SelectionList.SelectedChanged)
    @on(Checkbox.Changed)
    def _changed(self, event: Input.Changed) -> None:
        """The field the refusal named holds something else: the refusal goes."""
        refusal = self._refusal
        widget = event.control
        if refusal is None or widget is None or widget.id != refusal[0]:
            return
        if _state(widget) != refusal[1]:
            self.refuse("")

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
            self.refuse("say why, in a word or a sentence, then Enter", field="reason")
            return
        if event.input.id != self.PIN:
            self.refuse("")
            self.focus_next()
            return
        self.submit_form()
