"""Who is at the station: a name and a PIN, checked in a worker before the screen closes."""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import (
    Label,
    OptionList,
    Static,
)
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from monitor.errors import Refused
from monitor.views import UserView
from tui.dialogs.base import CSS as DIALOG_CSS
from tui.inputs import Input, pin_input, take_early_key


class SignInScreen(ModalScreen[UserView]):
    """Pick your user and type your PIN; everything saved after carries that user."""

    CSS_PATH = DIALOG_CSS
    BINDINGS = [
        Binding("escape", "cancel", "Cancel or quit", id="cancel_sign_in"),
        # A modal screen does not inherit the app's keys; in the PIN field q is typed.
        Binding("q", "app.quit", "Quit", id="quit_at_sign_in"),
    ]

    def __init__(self, users: list[UserView], authenticate, allow_cancel: bool) -> None:
        super().__init__()
        self.users = users
        self.authenticate = authenticate
        self.allow_cancel = allow_cancel

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Sign in: pick your name, type your PIN, Enter", classes="title")
            if not self.users:
                yield Static(
                    "No users yet. Add one with `monitor user add NAME --role nurse`, "
                    "or try `monitor demo`.",
                    id="no-users",
                )
            yield OptionList(
                *[Option(f"{u.name}  ({u.role})", id=u.name) for u in self.users], id="users"
            )
            yield pin_input("PIN", "pin")
            yield Static(id="sign-in-error", classes="error")

    def on_mount(self) -> None:
        if self.users:
            self.query_one("#users", OptionList).highlighted = 0
        self.query_one("#users", OptionList).focus()

    @on(OptionList.OptionSelected, "#users")
    def _to_pin(self) -> None:
        self.query_one("#pin", Input).focus()

    async def on_key(self, event: events.Key) -> None:
        """A PIN typed straight after the name's Enter, before the PIN field has the focus,
        is the PIN, not keys lost on the list: a digit reaching the screen goes into the PIN
        field (a PIN is digits only, so `q` still quits from the list), and once it holds
        something Backspace, the arrows and Enter edit or submit it, each in its turn."""
        if not self.users:
            return
        pin = self.query_one("#pin", Input)
        await take_early_key(pin, event, types=lambda c: c in "0123456789", edits=bool(pin.value))

    @on(Input.Submitted, "#pin")
    def _check(self, event: Input.Submitted) -> None:
        options = self.query_one("#users", OptionList)
        if options.highlighted is None or not self.users:
            return
        name = self.users[options.highlighted].name
        pin = event.value
        self.run_worker(
            lambda: self.authenticate(name, pin),
            thread=True,
            group="sign-in",
            name="sign-in",
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "sign-in":
            return
        if event.state is WorkerState.SUCCESS:
            self.dismiss(event.worker.result)
        elif event.state is WorkerState.ERROR:
            error = event.worker.error
            message = str(error) if isinstance(error, Refused) else f"cannot sign in: {error}"
            self.query_one("#sign-in-error", Static).update(message)
            pin = self.query_one("#pin", Input)
            pin.value = ""
            pin.focus()

    def action_cancel(self) -> None:
        """Esc in the PIN field goes back to the names (so that q then quits); on the names it
        keeps the user already signed in, or with nobody signed in leaves the station (there
        is nothing else to do without a PIN)."""
        pin = self.query_one("#pin", Input)
        if pin.has_focus and self.users:
            pin.value = ""
            self.query_one("#users", OptionList).focus()
        elif self.allow_cancel:
            self.dismiss(None)
        else:
            self.app.exit()
