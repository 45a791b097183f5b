"""The station's text field: Textual's ``Input`` with every key applied in the order typed.

Textual 8.2.8 inserts a printable key in the field's own handler, but runs the field's editing
keys (Backspace, Delete, the arrows, Home, End, Enter) as bindings only once the key has
bubbled up to the app. When keys arrive in one burst (a fast typist, a paste of keystrokes, a
terminal over SSH, a station busy for a moment) the letters typed after a Backspace are
inserted first and the Backspace then deletes the last of them: ``120/81``, Backspace, ``0``
became ``120/810`` instead of ``120/80``, and a corrected PIN was refused. A Tab in a burst
moved the focus only after the following letters had gone into the field it left.

This field runs every non-printable key's binding at once, in its place in the sequence, and
hands a key that reaches it after the focus has left it (a Tab or Enter before it in the same
burst moved the focus) to the widget that has the focus now. Every text field of the station
is this class (``tests/test_code_style.py`` checks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input as TextualInput

__all__ = ["Input", "PinInput", "pin_input", "put_cursor", "take_early_key"]

#: What a PIN field says when given anything but a digit.
DIGITS_ONLY = "a PIN is digits only"


class Input(TextualInput):
    """A text field whose keys take effect in the order they were typed."""

    async def _on_key(self, event: events.Key) -> None:
        if self.app.focused is not self:
            # The focus moved (a key before this one in the same burst): the key belongs
            # to wherever the focus is now, as it would have had it been typed slower.
            event.stop()
            event.prevent_default()
            target = self.app.focused or self.screen
            if target is not self:
                follow = events.Key(event.key, event.character)
                follow._set_forwarded()
                target.post_message(follow)
            return
        if event.is_printable:
            return  # Textual's own handler inserts it, now
        # Textual's App._check_bindings is what the key would reach once bubbled up: the
        # focused widget's bindings first, then its parents', the screen's and the app's.
        if await self.app._check_bindings(event.key):
            event.stop()
            event.prevent_default()

    async def action_submit(self) -> None:
        """Enter: a screen that acts on it at once (a dialog: ``submitted_now``) hears of it
        within this key's turn, so that when it moves the cursor (a refusal naming another
        field) the keys typed after the Enter, already on their way here, follow the cursor.
        Textual's field only posts its message, heard after those keys went in here."""
        now = getattr(self.screen, "submitted_now", None)
        if now is None:
            await super().action_submit()
            return
        await now(self)

    def _on_paste(self, event: events.Paste) -> None:
        # Textual's field keeps the first line of a paste and drops the rest without a word:
        # two readings pasted into the entry line would save one. Several lines are refused.
        event.stop()
        event.prevent_default()
        lines = [line for line in event.text.splitlines() if line.strip()]
        if not lines:
            return
        if len(lines) > 1:
            self.app.bell()
            self.notify(
                f"{len(lines)} lines pasted, nothing typed: a field takes one line, "
                "paste them one at a time",
                severity="warning",
            )
            return
        if self.selection.is_empty:
            self.insert_text_at_cursor(lines[0])
        else:
            self.replace(lines[0], *self.selection)


#: PINs are 4-12 digits (docs/interface.md): a PIN field takes digits only.
PIN_DIGITS = r"[0-9]*"


class PinInput(Input):
    """A PIN field: a key it refuses (a letter) is not dropped without a word: the screen is
    told (:class:`PinInput.NotADigit`) and says "digits only" where the PIN is asked."""

    @dataclass
    class NotADigit(Message):
        """A key that is not a digit was typed in ``field``."""

        field: PinInput

        @property
        def control(self) -> PinInput:
            return self.field

    async def _on_key(self, event: events.Key) -> None:
        # Textual's restrict= drops a letter with a bell only, unseen where no bell sounds.
        # (The handlers of Input and Textual's field run after this one, unless stopped.)
        character = event.character
        if (
            self.app.focused is self
            and event.is_printable
            and character
            and not character.isdigit()
        ):
            event.stop()
            event.prevent_default()
            self.app.bell()
            self.post_message(self.NotADigit(self))


def pin_input(placeholder: str, id: str, **options: object) -> PinInput:
    """A PIN field: hidden, digits only, at most 12 of them."""
    return PinInput(
        placeholder=placeholder,
        id=id,
        password=True,
        max_length=12,
        restrict=PIN_DIGITS,
        **options,  # type: ignore[arg-type]
    )


async def take_early_key(
    field: Input,
    event: events.Key,
    *,
    types: Callable[[str], bool] = lambda character: True,
    edits: bool = True,
) -> bool:
    """A key typed before the focus reached ``field`` (a paste, a barcode scanner, a fast
    typist, a burst after the key that opened a dialog) belongs to it: a printable key that
    ``types`` accepts is typed there and, when ``edits``, an editing key (Backspace, the
    arrows, Enter) edits it, each in its turn. When the focus is in the field already (set
    within a turn), the key joins the field's queue after its focus (a field whose text is
    selected on focus has it replaced, as when typed slower). Returns whether the key was
    taken (it then goes no further). The one helper of the entry line, the sign-in and every
    dialog."""
    if getattr(event, "_taken_early", False):
        return False  # handed on once already and left unhandled there: not again
    printable = bool(event.character) and event.is_printable
    if printable:
        if not types(event.character or ""):
            return False
    elif not (edits and field._bindings.key_to_bindings.get(event.key)):
        return False
    event.stop()
    event.prevent_default()
    if field.screen.focused is field:
        # The focus is there already (set within a turn, e.g. a dialog's first field): the
        # key joins the field's queue, after its focus, in its turn.
        follow = events.Key(event.key, event.character)
        follow._set_forwarded()
        follow._taken_early = True  # type: ignore[attr-defined]
        field.post_message(follow)
        return True
    field.focus()
    if printable:
        field.insert_text_at_cursor(event.character or "")
    else:
        for binding in field._bindings.key_to_bindings[event.key]:
            await field.app.run_action(binding.action, field)
    return True


def put_cursor(widget: Widget) -> None:
    """Give ``widget`` the focus now, within this turn (a key typed straight after lands
    there, never in the field the cursor was in), a text field with all of its text selected
    so that what is typed next replaces it. Textual's ``focus()`` waits for a later turn."""
    widget.screen.set_focus(widget)
    if isinstance(widget, TextualInput):
        widget.select_all()
