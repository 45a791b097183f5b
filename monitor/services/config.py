"""The clinic's rules as numbered, append-only versions in the database (docs/configuration.md).

Version 1 is made with the schema (the shipped defaults, or a clinic's TOML at the upgrade that
introduced versions); a supervisor loads each next one with a reason, in one transaction with
its audit row. The highest version is in force: :meth:`ConfigServices.rules_in_force` is what
every judgement made now uses, :meth:`ConfigServices.rules_of` the rules a record names.
A version never changes, so each is parsed once and kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy import text as sql
from sqlalchemy.exc import IntegrityError

from monitor.core.config import (
    ClinicConfig,
    rule_changes,
    rules_from_text,
    with_station,
)
from monitor.errors import ConfigError, NotFound, PermissionDenied, Refused
from monitor.services.base import ServiceBase, clean_text, connection_of
from monitor.store import tables as t

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: The longest source name a version keeps (the column's width).
SOURCE_MAX = 200

_VERSIONS = t.config_versions.c
_NEWEST = select(func.max(_VERSIONS.id))
_BODY = select(_VERSIONS.body, _VERSIONS.source).where(_VERSIONS.id == bindparam("number"))
_VERSION = (
    select(
        _VERSIONS.id,
        _VERSIONS.at,
        _VERSIONS.reason,
        _VERSIONS.source,
        _VERSIONS.body,
        t.users.c.name.label("by"),
    )
    .select_from(t.config_versions.outerjoin(t.users, t.users.c.id == _VERSIONS.by_id))
    .order_by(_VERSIONS.id)
)


@dataclass(frozen=True)
class ConfigVersionView:
    """One version of the clinic's rules: who made it, when, why, from what, and its body
    (TOML over the shipped defaults; empty: the shipped defaults)."""

    number: int
    at: datetime
    by: str | None
    reason: str
    source: str
    body: str


def _view(row: Any) -> ConfigVersionView:
    return ConfigVersionView(row.id, row.at, row.by, row.reason, row.source, row.body)


def _missing(number: int) -> NotFound:
    return NotFound(f"no version {number} of the clinic's rules: see `monitor config history`")


def source_label(number: int, source: str) -> str:
    """How ``config show`` names a value a version sets: ``version 2 (clinic.toml)``."""
    return f"version {number} ({source})"


class ConfigServices(ServiceBase):
    """Reading and loading the clinic's rules versions."""

    def rules_in_force(
        self, session_or_connection: Session | Connection | None = None
    ) -> tuple[int, ClinicConfig]:
        """The number and rules (with this station's settings) of the highest version, read
        on the given session or connection (in its transaction), else on a connection of its
        own. The number is read each time (one indexed lookup); the rules once per version."""
        if session_or_connection is None:
            with self.engine.connect() as connection:
                return self._newest(connection)
        return self._newest(connection_of(session_or_connection))

    def _newest(self, connection: Connection) -> tuple[int, ClinicConfig]:
        number = connection.execute(_NEWEST).scalar()
        if number is None:
            raise ConfigError(
                "this database holds no version of the clinic's rules: run `monitor db upgrade`"
            )
        return number, self._rules(connection, number)

    def rules_of(self, version: int | None) -> ClinicConfig:
        """The rules (with this station's settings) of one version; ``None`` (a record made
        before versions) is version 1. Refused for a version that does not exist."""
        number = 1 if version is None else version
        cached = self._versions.get(number)
        if cached is not None:
            return cached
        with self.engine.connect() as connection:
            return self._rules(connection, number)

    def _rules(self, connection: Connection, number: int) -> ClinicConfig:
        cached = self._versions.get(number)
        if cached is not None:
            return cached
        row = connection.execute(_BODY, {"number": number}).first()
        if row is None:
            raise _missing(number)
        rules = rules_from_text(
            row.body,
            source_label(number, row.source),
            f"version {number} of the clinic's rules",
            stored=True,
        )
        config = with_station(rules, self.local)
        self._versions[number] = config
        return config

    def config_versions(self) -> list[ConfigVersionView]:
        """Every version, oldest first."""
        with self.engine.connect() as connection:
            return [_view(row) for row in connection.execute(_VERSION)]

    def config_version(self, number: int) -> ConfigVersionView:
        """One version; refused when there is none of that number."""
        with self.engine.connect() as connection:
            found = connection.execute(_VERSION.where(_VERSIONS.id == number)).first()
        if found is None:
            raise _missing(number)
        return _view(found)

    def load_config(self, text: str, *, source: str, by: str, reason: str) -> ConfigVersionView:
        """Make the next version from ``text`` (TOML over the shipped defaults): a supervisor
        only, with a reason; refused, naming the key or the rule, for a station's setting, an
        unknown key, a bad value or a safety floor broken, with nothing saved. One transaction
        with its ``config.load`` audit row."""
        why = str(clean_text(reason, "the reason"))
        named = str(clean_text(source, "the source"))
        if len(named) > SOURCE_MAX:
            named = named[: SOURCE_MAX - 3] + "..."
        try:
            with self._action() as session:
                user = self._user(session, by)
                if user.role != "supervisor":
                    raise PermissionDenied(
                        "only a supervisor loads the clinic's rules (a nurse cannot change them)"
                    )
                newest = session.scalar(_NEWEST) or 0
                number = newest + 1
                rules = with_station(rules_from_text(text, source_label(number, named)), self.local)
                before = self._rules(connection_of(session), newest) if newest else None
                changed = [] if before is None else [k for k, _, _ in rule_changes(before, rules)]
                now = self.now()
                session.execute(
                    t.config_versions.insert().values(
                        id=number, at=now, by_id=user.id, reason=why, source=named, body=text
                    )
                )
                if self.engine.dialect.name == "postgresql":
                    # The database applies the lockout itself (monitor.store.identity).
                    security = rules.security
                    session.execute(
                        sql("SELECT monitor_auth.set_lockout(:after, :minutes)"),
                        {"after": security.lockout_after, "minutes": security.lockout_min},
                    )
                self._audit(
                    session,
                    now,
                    user,
                    "config.load",
                    "config_version",
                    number,
                    after={"version": number, "source": named, "changed": changed},
                    reason=why,
                )
        except IntegrityError:
            raise Refused(
                "another version of the clinic's rules was loaded at the same moment: nothing "
                "was saved; try again"
            ) from None
        self._versions[number] = rules
        return ConfigVersionView(number, now, user.name, why, named, text)
