"""Checking a user's PIN: every action in a user's name starts here (docs/interface.md, "Who is
acting").

Every refused PIN is audited, and a user refused ``security.lockout_after`` times in a row (5)
is locked for ``security.lockout_min`` (15 min) or until a supervisor unlocks them. An unknown
name, a wrong PIN, a locked and a disabled user all get the same refusal, so that names and
roles cannot be probed. The refusal is its own transaction: it is kept even though the action
it guarded never runs.

The check runs on SQLAlchemy Core alone (the users table of :mod:`monitor.store.tables`), so
that ``monitor record``, which opens :class:`~monitor.services.recording.RecordServices` only,
does not import the ORM for it (issue #23). Adding, unlocking, disabling users and setting
PINs are :mod:`monitor.services.users`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select, text, update

from monitor.core.lockout import LockState, after_refusal, bounded
from monitor.errors import PinRefused
from monitor.pins import dummy_verify, hash_pin, looks_like_pin, needs_rehash, verify_pin
from monitor.services.base import ServiceBase
from monitor.store import tables as t
from monitor.views import UserView

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

#: The one refusal for a name or PIN that is not accepted, whatever the cause.
NOT_ACCEPTED = "name or PIN not accepted"
NAME_MAX = 64

_USERS = t.users.c
_USER = select(
    _USERS.id,
    _USERS.name,
    _USERS.role,
    _USERS.pin_hash,
    _USERS.failed_pins,
    _USERS.locks,
    _USERS.locked_until,
    _USERS.disabled_at,
).where(_USERS.name == bindparam("name"))
_OTHER_SUPERVISORS = (
    select(func.count())
    .select_from(t.users)
    .where(
        _USERS.role == "supervisor",
        _USERS.disabled_at.is_(None),
        _USERS.id != bindparam("user_id"),
    )
)
_SIGN_IN = text("SELECT monitor_auth.sign_in(:name, :pin, :after, :minutes, :at)")
_SIGN_OUT = text("SELECT monitor_auth.sign_out(:token)")


def shown_name(typed: str) -> str:
    """The name a refused sign-in keeps in the audit trail: never something shaped like a PIN
    (typed in the name field by mistake, it would be a PIN in clear)."""
    return "(not kept: shaped like a PIN)" if looks_like_pin(typed) else typed[:NAME_MAX]


def last_supervisor(session: Session | Connection, user: Any) -> bool:
    """Whether ``user`` (a users row or model) is the only active supervisor (who must never
    be shut out)."""
    if user.role != "supervisor" or user.disabled_at is not None:
        return False
    others = session.execute(_OTHER_SUPERVISORS, {"user_id": user.id}).scalar()
    return not others


class SignInServices(ServiceBase):
    """A user's PIN checked, and the sign-ins held here."""

    def authenticate(self, name: str, pin: str) -> UserView:
        """The user if the PIN matches and the user may act; otherwise the one refusal, audited
        and counted toward the lockout (monitor.core.lockout). On PostgreSQL the database
        checks the PIN itself and gives a sign-in token, presented with every action in this
        user's name (monitor.store.identity)."""
        now = self.now()
        after, minutes = bounded(
            self.config.security.lockout_after, self.config.security.lockout_min
        )
        if self._proves:
            with self._plain_action() as connection:
                token = connection.execute(
                    _SIGN_IN,
                    {"name": name, "pin": pin, "after": after, "minutes": minutes, "at": now},
                ).scalar()
                found = connection.execute(_USER, {"name": name}).first()
            if token is None or found is None:
                raise PinRefused(NOT_ACCEPTED)
            self._tokens[name] = token
            return UserView(found.id, found.name, found.role)
        refusal: str | None = None
        with self._plain_action() as connection:
            user = connection.execute(_USER, {"name": name}).first()
            if user is None:
                dummy_verify(pin)  # the same time as a real check
                refusal = "unknown user"
            elif user.disabled_at is not None:
                dummy_verify(pin)
                refusal = "disabled"
            elif user.locked_until is not None and user.locked_until > now:
                dummy_verify(pin)
                refusal = "locked"
            elif not verify_pin(pin, user.pin_hash):
                state, locked_for = after_refusal(
                    LockState(user.failed_pins or 0, user.locks or 0, user.locked_until),
                    now,
                    after,
                    minutes,
                    last_supervisor=last_supervisor(connection, user),
                )
                connection.execute(
                    update(t.users)
                    .where(_USERS.id == user.id)
                    .values(
                        failed_pins=state.failed,
                        locks=state.locks,
                        locked_until=state.locked_until,
                    )
                )
                refusal = (
                    "wrong PIN" if locked_for is None else f"wrong PIN; locked for {locked_for} min"
                )
            if refusal is None and user is not None:
                changes: dict[str, Any] = {}
                if needs_rehash(user.pin_hash):
                    changes["pin_hash"] = hash_pin(pin)  # made again under the clinic's secret
                if user.failed_pins or user.locks or user.locked_until is not None:
                    changes.update(failed_pins=0, locks=0, locked_until=None)
                if changes:
                    connection.execute(
                        update(t.users).where(_USERS.id == user.id).values(**changes)
                    )
                return UserView(user.id, user.name, user.role)
            self._audit(
                connection,
                now,
                None,
                "auth.refused",
                "user",
                user.id if user is not None else None,
                after={"name": shown_name(name), "why": refusal},
            )
        raise PinRefused(NOT_ACCEPTED)

    def sign_out_all(self) -> None:
        """Forget every sign-in held here (a station that locks): each token withdrawn."""
        for name in list(self._tokens):
            self.sign_out(name)

    def sign_out(self, name: str) -> None:
        """Forget ``name``'s sign-in here, and on PostgreSQL withdraw its token."""
        token = self._tokens.pop(name, None)
        if token is None or not self._proves:
            return
        with self._plain_action() as connection:
            connection.execute(_SIGN_OUT, {"token": token})
