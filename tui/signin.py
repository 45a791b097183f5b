"""Who is at the station: a name and a PIN, typed, checked in a worker before the screen closes.

Nothing clinical is on screen until someone has signed in
(docs/station.md#signing-in-and-locking): the screen covers the whole station and the floor
behind it holds no data. In a browser (``monitor serve``, which any local account may open)
the names are typed, never listed, so that whoever sees the sign-in learns nothing from it. At
the station's own terminal, run by the account that can read the database anyway, the names
are also offered as a list: Enter picks the highlighted one, then the PIN.

A refusal says the same whatever was wrong (an unknown name, a wrong PIN, a locked name), so
that names cannot be probed; after :data:`HINT_AFTER` refusals at the same terminal it adds
how the lockout works, from the rules in force (docs/station.md#signing-in-and-locking).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from weakref import WeakKeyDictionary

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from monitor.core.lockout import bounded
from monitor.errors import PinRefused, Refused
from monitor.views import UserView
from tui.failures import error_message
from tui.inputs import DIGITS_ONLY, Input, PinInput, pin_input, put_cursor, take_early_key

#: The sign-in's own sheet: an opaque screen (the station reads it at start-up too).
CSS = Path(__file__).with_name("signin.tcss")
#: The dialogs' sheet (tui.dialogs.base.CSS), named here: the sign-in is the first frame, and
#: the dialogs' module is imported after it (tui.opening).
DIALOG_CSS = Path(__file__).parent / "dialogs" / "dialogs.tcss"
#: User names are at most 64 characters (docs/interface.md).
NAME_MAX = 64
#: After this many refusals at one terminal (one station app), the sign-in says how the
#: lockout works.
HINT_AFTER = 3
#: Refusals in a row at each terminal (a station app; each browser has its own).
_REFUSALS: WeakKeyDictionary[App[object], int] = WeakKeyDictionary()


class NameField(Input):
    """The name field: Enter moves to the PIN field at once, within the key's own turn, so
    that a PIN typed straight after it (a fast typist, a burst over a browser's websocket)
    lands in the PIN field, never at the end of the name."""

    async def action_submit(self) -> None:
        if self.value.strip():
            self.screen.set_focus(self.screen.query_one("#pin", Input))
        else:
            await super().action_submit()  # the screen says what is missing


class SignInScreen(ModalScreen[UserView]):
    """Type your name and your PIN; everything saved after carries that user."""

    CSS_PATH = [DIALOG_CSS, CSS]
    BINDINGS = [
        Binding("escape", "cancel", "Back or quit", id="cancel_sign_in"),
        Binding("shift+tab", "previous", "Previous field", show=False, id="previous_sign_in"),
    ]

    def __init__(
        self,
        authenticate: Callable[[str, str], UserView],
        allow_cancel: bool,
        *,
        has_users: Callable[[], bool] | None = None,
        why: str | None = None,
        users: list[UserView] | None = None,
    ) -> None:
        """``allow_cancel``: Esc may close the screen, keeping who is signed in (a switch of
        user); otherwise Esc on an empty name leaves the station. ``has_users`` is asked in a
        worker, to tell a new database's first user how to begin; ``why`` says why the station
        asks (it locked)."""
        super().__init__(id="sign-in")
        self.authenticate = authenticate
        self.allow_cancel = allow_cancel
        self.has_users = has_users
        self.why = why
        #: The names offered as a list (the station's own terminal); ``None`` in a browser.
        self.users = users or None
        #: A PIN is being checked: Enter again does not check it twice.
        self.checking = False
        #: What the line under the fields says now.
        self.said = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            how = "pick or type your name" if self.users else "your name"
            yield Label(f"Sign in: {how}, Enter, your PIN, Enter", classes="title")
            why = Static(self.why or "", id="sign-in-why")
            why.display = bool(self.why)
            yield why
            hint = Static(
                "No users yet. Add one with `monitor user add NAME --role supervisor`, "
                "or try `monitor demo`.",
                id="no-users",
            )
            hint.display = False
            yield hint
            if self.users:
                yield OptionList(
                    *[Option(f"{u.name}  ({u.role})", id=u.name) for u in self.users], id="users"
                )
            # Not selected on focus: a name typed on the list goes on after its first letter.
            yield NameField(
                placeholder="name", id="name", max_length=NAME_MAX, select_on_focus=False
            )
            yield pin_input("PIN", "pin")
            yield Static(id="sign-in-error", classes="error")
            leave = "keep who is signed in" if self.allow_cancel else "leave the station"
            yield Static(f"Esc: back a field; on an empty name, {leave}", classes="hint")

    def on_mount(self) -> None:
        if self.users:
            options = self.query_one("#users", OptionList)
            options.highlighted = 0
            options.focus()
        else:
            self.query_one("#name", Input).focus()
        if self.has_users is not None:
            self.run_worker(
                self.has_users, thread=True, group="sign-in", name="has-users", exit_on_error=False
            )

    @on(OptionList.OptionSelected, "#users")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#name", Input).value = str(event.option.id)
        self.set_focus(self.query_one("#pin", Input))

    async def on_key(self, event: events.Key) -> None:
        """A key that reaches the screen itself (no field had the focus) is typed in the
        name: the sign-in is the one thing to do here. On the list, a digit typed straight
        after the name's Enter, before the PIN field has the focus, is the PIN. A key that
        reaches it through the list after the focus has left the list (typed in the same
        burst as the letter that left it) goes where the focus is now, in its turn."""
        options = self.query(OptionList)
        # Asked of the screen, not of the list: the list's own ``has_focus`` changes only
        # when its blur is handled, after the keys of the same burst (a name typed on the
        # list then became the highlighted one).
        if options and self.users and self.focused is options.first():
            name, pin = self.query_one("#name", Input), self.query_one("#pin", Input)
            highlighted = options.first().highlighted
            if event.character and event.character.isdigit() and highlighted is not None:
                name.value = self.users[highlighted].name
            elif event.is_printable and event.character:
                self.set_focus(name)  # a name typed rather than picked: at once, so that
                # the Enter typed after it in the same burst reaches the name, not the list
                name.insert_text_at_cursor(event.character)
                event.stop()
                return
            await take_early_key(pin, event, types=str.isdigit, edits=bool(pin.value))
            return
        focused = self.focused
        await take_early_key(
            focused if isinstance(focused, Input) else self.query_one("#name", Input), event
        )

    def say(self, message: str) -> None:
        self.said = message
        self.query_one("#sign-in-error", Static).update(message)

    @on(PinInput.NotADigit)
    def _not_a_digit(self, event: PinInput.NotADigit) -> None:
        event.stop()
        self.say(DIGITS_ONLY)

    @on(Input.Changed, "#pin")
    def _pin_typed(self, event: Input.Changed) -> None:
        if event.value and self.said == DIGITS_ONLY:
            self.say("")  # a digit now: said of the key before

    @on(Input.Changed, "#name")
    def _name_typed(self) -> None:
        if self.said and not self.checking:
            self.say("")  # what was said (a refusal) was of the name before

    def lockout_hint(self) -> str:
        """How the lockout works, by the rules in force (said whoever the name is)."""
        config = getattr(self.app, "config", None)
        if config is None:
            return ""
        after, minutes = bounded(config.security.lockout_after, config.security.lockout_min)
        return (
            f"after {after} refusals a name is locked for {minutes} min; a supervisor can unlock it"
        )

    @on(Input.Submitted, "#name")
    def _name_missing(self) -> None:
        self.say("type your name, then Enter")

    @on(Input.Submitted, "#pin")
    def _check(self, event: Input.Submitted) -> None:
        name_field = self.query_one("#name", Input)
        name, pin = name_field.value.strip(), event.value
        if not name:
            self.set_focus(name_field)
            self.say("type your name, then Enter")
            return
        if not pin:
            self.say("type your PIN, then Enter")
            return
        if self.checking:
            return
        self.checking = True
        self.say("checking…")
        self.run_worker(
            lambda: self.authenticate(name, pin),
            thread=True,
            group="sign-in",
            name="sign-in",
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.name == "has-users" and event.state is WorkerState.SUCCESS:
            self.query_one("#no-users", Static).display = worker.result is False
            return
        if worker.name != "sign-in":
            return
        if event.state is WorkerState.SUCCESS:
            self.checking = False
            _REFUSALS.pop(self.app, None)
            self.dismiss(worker.result)
        elif event.state is WorkerState.ERROR:
            self.checking = False
            error = worker.error
            said = str(error) if isinstance(error, Refused) else error_message(error)
            if isinstance(error, PinRefused):
                refusals = _REFUSALS[self.app] = _REFUSALS.get(self.app, 0) + 1
                if refusals >= HINT_AFTER and (hint := self.lockout_hint()):
                    said = f"{said}: {hint}"
            self.say(said)
            pin = self.query_one("#pin", Input)
            pin.value = ""
            self.set_focus(pin)

    def back_to_name(self) -> None:
        """From the PIN back to the name: the PIN emptied, the name selected (what is typed
        next replaces it), at once (the keys typed straight after follow)."""
        self.query_one("#pin", Input).value = ""
        put_cursor(self.query_one("#name", Input))

    def action_previous(self) -> None:
        """Shift+Tab: from the PIN back to the name as Esc goes; elsewhere the field before."""
        if self.query_one("#pin", Input).has_focus:
            self.back_to_name()
        else:
            self.focus_previous()

    def action_cancel(self) -> None:
        """Esc in the PIN field goes back to the name; in the name it empties it, and on an
        empty name it keeps the user already signed in or, with nobody signed in, leaves the
        station (there is nothing else to do without a PIN)."""
        pin = self.query_one("#pin", Input)
        name = self.query_one("#name", Input)
        if pin.has_focus:
            self.back_to_name()
        elif name.value:
            name.value = ""
            self.set_focus(name)
        elif self.allow_cancel:
            self.dismiss(None)
        else:
            self.app.exit()
