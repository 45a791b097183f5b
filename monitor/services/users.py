"""The users: adding nurses and supervisors, listing them, checking a PIN."""

from __future__ import annotations

from sqlalchemy import select

from monitor.errors import EntryError, PermissionDenied, Refused
from monitor.pins import hash_pin, validate_pin, verify_pin
from monitor.services.base import ServiceBase
from monitor.store import models as m
from monitor.views import UserView

ROLES = ("nurse", "supervisor")


class UserServices(ServiceBase):
    """Users and their PINs."""

    def add_user(self, name: str, role: str, pin: str, *, by: str | None = None) -> UserView:
        """Add a nurse or supervisor with a PIN (kept only as a scrypt hash)."""
        name = name.strip()
        if not name:
            raise EntryError("a user needs a name")
        if role not in ROLES:
            raise EntryError(f"role '{role}' is unknown: use nurse or supervisor")
        validate_pin(pin)
        now = self.now()
        with self._action() as session:
            actor = self._user(session, by) if by else None
            if session.scalar(select(m.User.id).where(m.User.name == name)) is not None:
                raise Refused(f"user '{name}' already exists")
            user = m.User(name=name, role=role, pin_hash=hash_pin(pin), created_at=now)
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
            return UserView(user.id, user.name, user.role)

    def users(self) -> list[UserView]:
        """Every user, by name."""
        with self._read() as session:
            rows = session.scalars(select(m.User).order_by(m.User.name))
            return [UserView(u.id, u.name, u.role) for u in rows]

    def authenticate(self, name: str, pin: str) -> UserView:
        """The user if the PIN matches; otherwise a refusal that does not say which was wrong."""
        with self._read() as session:
            user = session.scalar(select(m.User).where(m.User.name == name))
            if user is None or not verify_pin(pin, user.pin_hash):
                raise PermissionDenied("wrong user or PIN")
            return UserView(user.id, user.name, user.role)
