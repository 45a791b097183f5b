"""The users: adding nurses and supervisors, unlocking, disabling, setting PINs.

Checking a PIN (the lockout, the one refusal for every cause) is :mod:`monitor.services.signin`,
which every action in a user's name needs and which runs without the ORM; this module, the
management of users, is the ORM's.
"""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from monitor.errors import EntryError, PermissionDenied, Refused
from monitor.pins import hash_pin, validate_pin
from monitor.services.signin import (
    NAME_MAX,
    NOT_ACCEPTED,
    SignInServices,
    last_supervisor,
    shown_name,
)
from monitor.store import models as m
from monitor.views import UserView

ROLES = ("nurse", "supervisor")
__all__ = ["NAME_MAX", "NOT_ACCEPTED", "ROLES", "UserServices", "shown_name"]


def _valid_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise EntryError(f"a user name is one line of 1 to {NAME_MAX} printable characters")
    return name


def _view(user: m.User) -> UserView:
    return UserView(user.id, user.name, user.role)


_ADD = text("SELECT monitor_auth.add_user(:name, :role, :pin, :at)")
_SET_PIN = text("SELECT monitor_auth.set_pin(:name, :pin)")
_UNLOCK = text("SELECT monitor_auth.unlock(:name)")
_DISABLE = text("SELECT monitor_auth.disable(:name, :at)")
_RECOVER = text("SELECT monitor_auth.recover(:name, :pin, :at)")


class UserServices(SignInServices):
    """Users and their PINs."""

    def add_user(self, name: str, role: str, pin: str, *, by: str | None = None) -> UserView:
        """Add a nurse or supervisor with a PIN (kept only as a scrypt hash).

        The first user of a database must be a supervisor; after that only a supervisor
        (``by``, authenticated by the caller) adds users.
        """
        name = _valid_name(name)
        if role not in ROLES:
            raise EntryError(f"role '{role}' is unknown: use nurse or supervisor")
        validate_pin(pin)
        now = self.now()
        with self._action() as session:
            count = session.scalar(select(func.count()).select_from(m.User)) or 0
            actor = None
            if count == 0:
                if role != "supervisor":
                    raise PermissionDenied(
                        "the first user of a database must be a supervisor (--role supervisor)"
                    )
            else:
                if by is None:
                    raise PermissionDenied("only a supervisor adds users: give --by SUPERVISOR")
                actor = self._user(session, by)
                if actor.role != "supervisor" or actor.disabled_at is not None:
                    raise PermissionDenied(f"{actor.name} may not add users: a supervisor does")
            if session.scalar(select(m.User.id).where(m.User.name == name)) is not None:
                raise Refused(f"user '{name}' already exists")
            if self._proves:
                uid = session.execute(
                    _ADD, {"name": name, "role": role, "pin": pin, "at": now}
                ).scalar_one()
                user = session.get_one(m.User, uid)
            else:
                user = m.User(
                    name=name,
                    role=role,
                    pin_hash=hash_pin(pin),
                    created_at=now,
                    failed_pins=0,
                    locks=0,
                )
                session.add(user)
                session.flush()
            self._audit(
                session,
                now,
                actor or user,
                "user.add",
                "user",
                user.id,
                after={"name": name, "role": role},
            )
            return _view(user)

    def users(self) -> list[UserView]:
        """Every user who may act, by name."""
        with self._read() as session:
            rows = session.scalars(
                select(m.User).where(m.User.disabled_at.is_(None)).order_by(m.User.name)
            )
            return [_view(u) for u in rows]

    def has_users(self) -> bool:
        """True once the database has its first user."""
        with self._read() as session:
            return bool(session.scalar(select(func.count()).select_from(m.User)))

    def is_demo(self) -> bool:
        """True when ``monitor demo`` made this database (its first audit row says so)."""
        with self._read() as session:
            first = session.scalar(select(m.AuditEntry.action).order_by(m.AuditEntry.id))
            return first == "demo.create"

    def mark_demo(self) -> None:
        """Mark a new, empty database as the demo's own (before anything else is written)."""
        with self._action() as session:
            if session.scalar(select(func.count()).select_from(m.AuditEntry)):
                raise Refused("only a new, empty database can become a demo")
            self._audit(session, self.now(), None, "demo.create", "database", None)

    def _supervisor_acts_on(self, session: Session, by: str, name: str) -> tuple[m.User, m.User]:
        actor = self._user(session, by)
        if actor.role != "supervisor":
            raise PermissionDenied(f"{actor.name} is not a supervisor: a supervisor does this")
        target = session.scalar(select(m.User).where(m.User.name == name))
        if target is None:
            raise Refused(f"no user '{name}'")
        return actor, target

    def unlock_user(self, name: str, *, by: str) -> UserView:
        """A supervisor lifts a PIN lockout."""
        now = self.now()
        with self._action() as session:
            actor, target = self._supervisor_acts_on(session, by, name)
            if self._proves:
                session.execute(_UNLOCK, {"name": name})
                session.refresh(target)
            else:
                target.failed_pins = 0
                target.locks = 0
                target.locked_until = None
                session.flush()
            self._audit(session, now, actor, "user.unlock", "user", target.id)
            return _view(target)

    def disable_user(self, name: str, *, by: str) -> UserView:
        """A supervisor disables a user for good (the user stays in the record)."""
        now = self.now()
        with self._action() as session:
            actor, target = self._supervisor_acts_on(session, by, name)
            if target.disabled_at is not None:
                raise Refused(f"user '{name}' is already disabled")
            if last_supervisor(session, target):
                raise Refused(
                    f"{name} is the last active supervisor and cannot be disabled: add another "
                    "supervisor first"
                )
            if self._proves:
                session.execute(_DISABLE, {"name": name, "at": now})
                session.refresh(target)
            else:
                target.disabled_at = now
                session.flush()
            self._tokens.pop(name, None)
            self._audit(session, now, actor, "user.disable", "user", target.id)
            return _view(target)

    def set_pin(self, name: str, pin: str, *, by: str) -> UserView:
        """A user sets their own PIN; a supervisor sets anyone's."""
        validate_pin(pin)
        now = self.now()
        with self._action() as session:
            actor = self._user(session, by)
            target = session.scalar(select(m.User).where(m.User.name == name))
            if target is None:
                raise Refused(f"no user '{name}'")
            if target.id != actor.id and actor.role != "supervisor":
                raise PermissionDenied("a nurse sets only her own PIN: a supervisor sets others'")
            if self._proves:
                session.execute(_SET_PIN, {"name": name, "pin": pin})
                session.refresh(target)
            else:
                target.pin_hash = hash_pin(pin)
                target.failed_pins = 0
                target.locks = 0
                target.locked_until = None
                session.flush()
            self._audit(session, now, actor, "user.set_pin", "user", target.id)
            return _view(target)

    def recover_user(self, name: str, pin: str) -> UserView:
        """The database's owner restores a supervisor: ``name`` becomes (or is added as) an
        active supervisor with a new PIN and no lock, audited as ``user.recover``. On
        PostgreSQL only a connection as the database's owner may; on SQLite whoever can write
        the file can do anything anyway (docs/storage.md, "Security model")."""
        name = _valid_name(name)
        validate_pin(pin)
        now = self.now()
        try:
            with self._action() as session:
                target = session.scalar(select(m.User).where(m.User.name == name))
                if target is not None and target.disabled_at is not None:
                    raise Refused(f"user '{name}' is disabled for good: recover another name")
                before = None if target is None else {"role": target.role}
                if self._proves:
                    uid = session.execute(
                        _RECOVER, {"name": name, "pin": pin, "at": now}
                    ).scalar_one()
                    target = session.get_one(m.User, uid)
                    session.refresh(target)
                elif target is None:
                    target = m.User(
                        name=name,
                        role="supervisor",
                        pin_hash=hash_pin(pin),
                        created_at=now,
                        failed_pins=0,
                        locks=0,
                    )
                    session.add(target)
                else:
                    target.role = "supervisor"
                    target.pin_hash = hash_pin(pin)
                    target.failed_pins = 0
                    target.locks = 0
                    target.locked_until = None
                session.flush()
                self._audit(
                    session,
                    now,
                    None,
                    "user.recover",
                    "user",
                    target.id,
                    before=before,
                    after={"name": name, "role": "supervisor"},
                    reason="restored by the database's owner",
                )
                return _view(target)
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) != "42501":
                raise
            raise PermissionDenied(
                "only the database's owner recovers a supervisor: run it with --db naming the "
                "owner's role (the station role may not)"
            ) from None
