"""The audit trail's filter and its dialog (`f`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Label, Select, Static

from monitor.errors import EntryError
from monitor.present.audit import DATABASE_USER, NO_USER
from monitor.services.history import BY_DATABASE, check_audit_filters
from tui.dialogs.base import FieldRefusal, SavingDialog
from tui.dialogs.refusal import period_refusal
from tui.inputs import Input
from tui.reports.periods import period_text

#: Actions and groups the action filter suggests as one types (any other action also works).
KNOWN_ACTIONS = (
    "auth",
    "auth.refused",
    "check",
    "check.skip",
    "db",
    "db.session.update",
    "db.user.update",
    "event",
    "event.adverse",
    "event.intervention",
    "event.note",
    "flag",
    "flag.acknowledge",
    "reading",
    "reading.amend",
    "reading.record",
    "reading.void",
    "rems",
    "rems.correct",
    "rems.submit",
    "session",
    "session.discharge",
    "session.dose",
    "session.infusion_end",
    "session.reopen",
    "session.sign",
    "session.start",
    "user",
    "user.add",
    "user.disable",
    "user.set_pin",
    "user.unlock",
)


@dataclass(frozen=True)
class AuditFilter:
    """What the audit view shows: one session's trail or a period, a user, an action."""

    session_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    #: ``None``: every user; :data:`monitor.services.history.BY_DATABASE`: the database's rows.
    user: str | None = None
    action: str | None = None
    #: The period is today, to be worked out by the database's clock when first read.
    today: bool = False
    #: Set for a period that is one local calendar day.
    day: date | None = None

    def describe(self) -> str:
        """The filter in words, for the title."""
        parts = [f"session {self.session_id}"] if self.session_id is not None else []
        if self.since is not None or self.until is not None:
            parts.append(period_text(self.since, self.until))
        elif self.session_id is None:
            parts.append("the whole trail")
        if self.user is not None:
            who = f"{DATABASE_USER} or {NO_USER}" if self.user == BY_DATABASE else self.user
            parts.append(f"by {who}")
        if self.action is not None:
            parts.append(self.action)
        return " · ".join(parts)


@dataclass(frozen=True)
class AuditFilterForm:
    """The audit filter as typed: the period stays text until the worker reads it by the
    database's clock."""

    session_id: int | None
    user: str | None
    action: str | None
    since_text: str
    until_text: str


class AuditFilterDialog(SavingDialog[AuditFilterForm]):
    """Which trail to read: a session (or all), a period, a user, an action. Enter reads the
    first page in the dialog's worker; a filter that matches nothing known (no such session,
    a period that ends before it begins) is refused here, with what was typed kept."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_audit_filter")]
    KEEPS_REFUSALS = True
    #: Read in the worker: no such session (a period it cannot read names its own field).
    REFUSAL_FIELD = "session"

    def __init__(
        self, current: AuditFilter, users: Sequence[str], save: Callable[[AuditFilterForm], Any]
    ) -> None:
        super().__init__(save)
        self.current = current
        self.users = tuple(users)

    def compose(self) -> ComposeResult:
        current = self.current

        def typed(moment: datetime | None) -> str:
            return "" if moment is None else moment.astimezone().strftime("%Y-%m-%dT%H:%M")

        since = "" if current.since is None else typed(current.since)
        until = "" if current.until is None else typed(current.until)
        if current.day is not None:
            since = until = current.day.isoformat()
        users: list[tuple[str, str]] = [(u, u) for u in self.users]
        users.append((f"{DATABASE_USER} or {NO_USER}", BY_DATABASE))
        with Vertical(id="dialog", classes="form"):
            yield Label("Audit filter  (Tab moves, Enter reads, Esc cancels)", classes="title")
            yield self.error_line()
            with Grid(classes="fields"):
                yield Label("Session")
                yield Input(
                    value="" if current.session_id is None else str(current.session_id),
                    placeholder="blank: all",
                    id="session",
                    compact=True,
                    max_length=10,
                )
                yield Label("User")
                yield Select(
                    users,
                    prompt="all users",
                    value=current.user if current.user is not None else Select.NULL,
                    id="user",
                    compact=True,
                )
                yield Label("From")
                yield Input(
                    value=since, placeholder="2026-11-27 or 09:00", id="since", compact=True
                )
                yield Label("To")
                yield Input(value=until, placeholder="blank: now", id="until", compact=True)
                yield Label("Action")
                yield Input(
                    value=current.action or "",
                    placeholder="blank: all, or e.g. reading",
                    id="action",
                    compact=True,
                    max_length=80,
                    suggester=SuggestFromList(KNOWN_ACTIONS),
                    classes="wide",
                )
            yield Static(
                "A date alone as To is that whole day. Action: one (reading.record) or a group "
                "(reading). Right arrow takes a suggestion.",
                classes="hint",
            )

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#session", Input))

    def form(self) -> AuditFilterForm:
        """The filter as typed (the period is read in the worker, by the database's clock)."""
        session_text = self.query_one("#session", Input).value.strip()
        session_id = None
        if session_text:
            if not re.fullmatch(r"[0-9]{1,10}", session_text) or not 0 < int(session_text) < 2**31:
                raise FieldRefusal(
                    "a session is its number, e.g. 12 (blank: all sessions)", "session"
                )
            session_id = int(session_text)
        chosen = self.query_one("#user", Select).value
        user = None if chosen is Select.NULL else str(chosen)
        action = self.query_one("#action", Input).value.strip() or None
        try:
            check_audit_filters(user, action)
        except EntryError as error:
            raise FieldRefusal(str(error), "action" if action else "user") from None
        return AuditFilterForm(
            session_id,
            user,
            action,
            self.query_one("#since", Input).value,
            self.query_one("#until", Input).value,
        )

    def refused(self, error: BaseException | None) -> None:
        """A period the worker could not read names From or To; the rest, the session."""
        if isinstance(error, EntryError):
            since = self.query_one("#since", Input).value
            until = self.query_one("#until", Input).value
            refusal = period_refusal(error, since, until, datetime.now(UTC))
            self.refuse(str(refusal), field=refusal.field)
            return
        super().refused(error)

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.submit_form()
