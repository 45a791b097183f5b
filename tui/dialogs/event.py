"""The event dialog (`e`): a note, an intervention or an adverse event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Checkbox, Label, Select

from monitor.core.events import EVENT_SEVERITIES, EVENT_TYPES
from monitor.views import SessionView
from tui.dialogs.base import FieldRefusal, SavingDialog, typed_time
from tui.inputs import Input


@dataclass(frozen=True)
class NewEvent:
    """A note, an adverse event or an intervention."""

    kind: str
    type: str | None
    severity: str | None
    serious: bool | None
    text: str
    #: When it happened (None: now).
    at: datetime | None


class EventScreen(SavingDialog[NewEvent]):
    """One short form: kind, type, severity and serious (adverse), what happened, when."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_event")]
    #: The services refuse an event's time (before the session, ahead of now) here.
    REFUSAL_FIELD = "ago"

    def __init__(
        self,
        view: SessionView,
        save: Callable[[NewEvent], Any],
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(save)
        self.view = view
        self.clock = clock

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="form"):
            yield Label(
                f"Event for {self.view.bay or ''} {self.view.patient}  "
                "(Enter saves, Shift+Tab: kind, Esc cancels)",
                classes="title",
            )
            yield self.error_line()
            with Grid(classes="fields"):
                yield Label("Kind")
                yield Select(
                    [
                        ("note", "note"),
                        ("adverse event", "adverse"),
                        ("intervention", "intervention"),
                    ],
                    value="note",
                    allow_blank=False,
                    id="kind",
                    compact=True,
                )
                yield Label("Type")
                yield Select([], prompt="type", id="type", compact=True)
                yield Label("Severity", classes="adverse")
                yield Select(
                    [(s, s) for s in EVENT_SEVERITIES],
                    prompt="severity",
                    id="severity",
                    compact=True,
                    classes="adverse",
                )
                yield Label("Serious?", classes="adverse")
                yield Checkbox("serious AE", id="serious", compact=True, classes="adverse")
                yield Label("What")
                yield Input(id="text", compact=True, classes="wide")
                yield Label("When")
                yield Input(placeholder="now", id="ago", compact=True, max_length=40)
                yield Label("min ago, or 10:28 (blank: now)", classes="hint wide")

    def on_mount(self) -> None:
        self._kind_changed()
        # What happened is what is typed first (most events are notes): keys typed with `e`
        # go there; the kind is one Shift+Tab away.
        self.set_focus(self.query_one("#text", Input))

    @property
    def kind(self) -> str:
        return str(self.query_one("#kind", Select).value)

    @on(Select.Changed, "#kind")
    def _kind_changed(self) -> None:
        kind = self.kind
        types = self.query_one("#type", Select)
        types.set_options([(t, t) for t in EVENT_TYPES[kind]])
        types.disabled = not EVENT_TYPES[kind]
        for widget in self.query(".adverse"):
            widget.display = kind == "adverse"
        text = self.query_one("#text", Input)
        text.placeholder = {
            "note": "the note",
            "adverse": "what happened",
            "intervention": "what was given or done, e.g. ondansetron 4 mg",
        }[kind]

    def form(self) -> NewEvent:
        """The event as typed; :class:`FieldRefusal` says what to fix, and where."""
        kind = self.kind
        chosen = self.query_one("#type", Select).value
        type_ = None if chosen is Select.NULL else str(chosen)
        if EVENT_TYPES[kind] and type_ is None:
            raise FieldRefusal(f"choose the {kind} type", "type")
        severity = None
        serious = None
        if kind == "adverse":
            level = self.query_one("#severity", Select).value
            if level is Select.NULL:
                raise FieldRefusal("choose the severity: mild, moderate or severe", "severity")
            severity = str(level)
            serious = self.query_one("#serious", Checkbox).value
        text = self.query_one("#text", Input).value.strip()
        if not text:
            raise FieldRefusal("say what happened, in a word or a sentence", "text")
        at = typed_time(self.query_one("#ago", Input).value, self.clock(), "ago")
        return NewEvent(kind, type_, severity, serious, text, at)

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.submit_form()
