"""The shared plumbing of the services: the clock, the database sessions, the audit row.

:class:`ServiceBase` holds what every capability needs: the engines, the configuration and the
clock; a write transaction with its audit row (:meth:`ServiceBase._action`,
:meth:`ServiceBase._audit`); and the lookups of users and sessions that refuse what is unknown.
The small row-to-view helpers used by more than one capability live here too.

This module imports SQLAlchemy Core and the tables (:mod:`monitor.store.tables`), never the ORM:
the ORM session and models are imported by the methods that use them (:meth:`_write`,
:meth:`_read`, :meth:`_user`, :meth:`_session_row`), so that saving a reading, which uses
none of them, does not pay for them (issue #23).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self, cast

from sqlalchemy import Connection, Engine, bindparam, func, select, text
from sqlalchemy.exc import OperationalError

from monitor.core.config import ClinicConfig, station_of
from monitor.core.review import signed_refusal
from monitor.core.schedule import for_infusion, infusion_minutes
from monitor.core.text import one_line
from monitor.core.vitals import Measure, Vitals
from monitor.errors import EntryError, NotFound, PermissionDenied, PinRefused
from monitor.store import tables as t
from monitor.store.engine import make_engine, writer
from monitor.store.migrate import ensure_schema

if TYPE_CHECKING:
    # The ORM is imported by the methods that use it, never by this module: saving a reading
    # (monitor.services.recording) runs on SQLAlchemy Core alone (issue #23).
    from sqlalchemy.orm import Session

    from monitor.core.schedule import Protocol
    from monitor.store import models as m

Clock = Callable[[], datetime]
_INSERT_AUDIT = t.audit_log.insert()
_USERS = t.users.c
_ACTOR = select(_USERS.id, _USERS.name, _USERS.role, _USERS.disabled_at).where(
    _USERS.name == bindparam("name")
)
_SIGNS = (
    select(func.count())
    .select_from(t.sign_offs)
    .where(t.sign_offs.c.session_id == bindparam("session_id"))
)
_REOPENINGS = (
    select(func.count())
    .select_from(t.reopenings)
    .where(t.reopenings.c.session_id == bindparam("session_id"))
)
_ACT = text("SELECT monitor_auth.act(:token)")


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


#: Free text a user types (reasons, actions, notes, escort): one line, at most this long.
TEXT_MAX = 500


def unreachable(error: BaseException | None) -> bool:
    """Whether ``error`` says the database could not be reached or used (server down,
    connection lost, file locked)."""
    return isinstance(error, OperationalError)


def clean_text(value: str | None, what: str, *, required: bool = True) -> str | None:
    """One line of printable text, at most 500 characters, trimmed; refused otherwise.

    ``None`` is "not given" (refused only when ``required``); given but blank is refused.
    """
    if value is None and not required:
        return None
    value = (value or "").strip()
    if not value:
        raise EntryError(f"{what} is empty: say it in a word or a sentence")
    if len(value) > TEXT_MAX:
        raise EntryError(f"{what} is {len(value)} characters long: at most {TEXT_MAX}")
    if not one_line(value):
        raise EntryError(f"{what} must be one line of printable text")
    return value


def _dump(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def _vitals_of(row: Any) -> Vitals:
    return Vitals(**{measure.value: getattr(row, measure.value) for measure in Measure})


def connection_of(session: Session | Connection) -> Connection:
    """The connection a statement runs on, in an ORM session's transaction or a plain one."""
    return session if isinstance(session, Connection) else session.connection()


@dataclass(frozen=True)
class _Actor:
    """Who is acting, as the record path reads it."""

    id: int
    name: str
    role: str


class ServiceBase:
    """The engines, configuration and clock every capability of the services works with."""

    def __init__(self, engine: Engine, config: ClinicConfig | None = None, clock: Clock = utc_now):
        """``config`` gives this station's own settings (``clinic_name``, ``bays``: its
        ``--config`` file); its clinical rules are not used: those are the database's
        (docs/configuration.md), read by :meth:`rules_in_force`."""
        self.engine = engine
        self.write_engine = writer(engine)
        #: This station's settings, over the defaults for everything else.
        self.local = station_of(config) if config is not None else ClinicConfig()
        #: Parsed rules versions by number (with this station's settings): they never change.
        self._versions: dict[int, ClinicConfig] = {}
        self.clock = clock
        # "Now" is the database's clock when the database is a server, so that stations whose
        # clocks differ still agree (docs/clinical.md, "Times"); an injected clock (tests) wins.
        self._server_clock = engine.dialect.name == "postgresql" and clock is utc_now
        #: PostgreSQL: the sign-in token of each user who proved a PIN here (name -> token),
        #: presented to the database by every action in that user's name (monitor.store.identity).
        self._tokens: dict[str, str] = {}
        self._proves = engine.dialect.name == "postgresql"

    @classmethod
    def open(
        cls,
        db: str | None = None,
        config: ClinicConfig | None = None,
        clock: Clock = utc_now,
        *,
        create: bool = True,
    ) -> Self:
        """Open ``--db`` (URL, file path or the default), creating or refusing its schema;
        ``create=False`` refuses a missing SQLite file other than the default."""
        engine = make_engine(db, create=create)
        ensure_schema(engine)
        return cls(engine, config, clock)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    @property
    def config(self) -> ClinicConfig:
        """The clinic's rules in force (the database's newest version) with this station's
        settings: what every judgement made now uses."""
        return self.rules_in_force()[1]

    def rules_in_force(
        self, session_or_connection: Session | Connection | None = None
    ) -> tuple[int, ClinicConfig]:
        """The number and rules of the version in force (:mod:`monitor.services.config`)."""
        raise NotImplementedError

    def rules_of(self, version: int | None) -> ClinicConfig:
        """The rules of one version (:mod:`monitor.services.config`)."""
        raise NotImplementedError

    # -- helpers -----------------------------------------------------------------------

    def now(self) -> datetime:
        """The service clock, always aware UTC: the database server's, or the local one."""
        if self._server_clock:
            return self.database_now()
        return self.clock().astimezone(UTC)

    def database_now(self) -> datetime:
        """The database's clock (PostgreSQL); for SQLite, a file, the local clock."""
        if self.engine.dialect.name != "postgresql":
            return utc_now()
        with self.engine.connect() as connection:
            moment = connection.execute(text("SELECT clock_timestamp()")).scalar_one()
        return cast(datetime, moment).astimezone(UTC)

    def clock_offset(self, local: datetime) -> float | None:
        """Seconds by which the database server's clock is ahead of ``local``; ``None`` when
        the database is a file (there is no other clock to disagree with)."""
        if self.engine.dialect.name != "postgresql":
            return None
        return (self.database_now() - local).total_seconds()

    def schedule_of(self, row: Any) -> Protocol:
        """The schedule a session (its row) follows: its protocol's under the rules version in
        force when it started, moved by the actual end of an IV infusion once it is recorded."""
        protocol = self.rules_of(row.config_version).protocol(row.protocol)
        if row.dosed_at is not None and row.infusion_ended_at is not None:
            return for_infusion(protocol, infusion_minutes(row.dosed_at, row.infusion_ended_at))
        return protocol

    def _write(self) -> Session:
        from sqlalchemy.orm import Session

        return Session(self.write_engine, expire_on_commit=False)

    def _read(self) -> Session:
        from sqlalchemy.orm import Session

        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def _action(self) -> Iterator[Session]:
        """One user action: a write transaction, committed on leaving, rolled back on error.

        The action adds its audit row (:meth:`_audit`) inside, so both commit or neither does.
        """
        with self._write() as session, session.begin():
            yield session

    @contextmanager
    def _plain_action(self) -> Iterator[Connection]:
        """:meth:`_action` for the hot path (recording a reading): the same write transaction
        on a plain connection, without the ORM session's bookkeeping (about a tenth of a
        save's CPU time, measured on tmpfs)."""
        with self.write_engine.begin() as connection:
            yield connection

    def _user(self, session: Session, name: str) -> m.User:
        """The acting user (or co-signer) by name, refused when unknown or disabled; on
        PostgreSQL the user's sign-in is presented to the database for this transaction."""
        from monitor.store import models as m

        user = session.scalar(select(m.User).where(m.User.name == name))
        if user is None:
            raise NotFound(f"unknown user '{name}': add one with `monitor user add`")
        if user.disabled_at is not None:
            raise PermissionDenied(f"user '{name}' is disabled")
        self._prove(session, name)
        return user

    def _prove(self, session: Session | Connection, name: str) -> None:
        """Present ``name``'s sign-in token to the database (PostgreSQL), so that rows in that
        name are accepted in this transaction; nothing to do without one (the database then
        refuses such rows) or on SQLite."""
        token = self._tokens.get(name) if self._proves else None
        if token is None:
            return
        from sqlalchemy.exc import DBAPIError

        try:
            connection_of(session).execute(_ACT, {"token": token})
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) != "28000":
                raise
            self._tokens.pop(name, None)
            raise PinRefused(f"{name}: sign in again (the sign-in has expired)") from None

    def _actor(self, session: Session | Connection, name: str) -> _Actor:
        """The acting user by a plain Core select (the hot path), read every time: a user
        disabled at another station stops acting here at once."""
        row = connection_of(session).execute(_ACTOR, {"name": name}).first()
        if row is None:
            raise NotFound(f"unknown user '{name}': add one with `monitor user add`")
        if row.disabled_at is not None:
            raise PermissionDenied(f"user '{name}' is disabled")
        self._prove(session, name)
        return _Actor(row.id, row.name, row.role)

    def _clinician(
        self, session: Session, actor: m.User | _Actor, cosign: str | None, what: str
    ) -> m.User | None:
        """The clinician behind an action that needs one (docs/clinical.md: a dosing or
        discharge override, a before-dosing flag's or a serious event's acknowledgement): the
        actor is a supervisor, or ``cosign`` names another supervisor, whose PIN the caller
        has checked (``authenticate``). Returns the co-signer (``None`` when a supervisor acts
        alone); refuses a nurse acting alone, and a co-signer who is not another supervisor."""
        if cosign is None:
            if actor.role == "supervisor":
                return None
            raise PermissionDenied(
                f"{what} needs a clinician: a supervisor acts, or co-signs with name and PIN "
                "(--cosign NAME)"
            )
        cosigner = self._user(session, cosign)
        if cosigner.id == actor.id:
            raise PermissionDenied(f"{what}: the co-signer must be another user than {actor.name}")
        if cosigner.role != "supervisor":
            raise PermissionDenied(
                f"{what}: the co-signer must be a supervisor, and {cosigner.name} is not"
            )
        return cosigner

    @staticmethod
    def _session_row(
        session: Session, session_id: int, *, lock: bool = False
    ) -> m.TreatmentSession:
        from monitor.store import models as m

        query = select(m.TreatmentSession).where(m.TreatmentSession.id == session_id)
        if lock:
            query = query.with_for_update(of=m.TreatmentSession)
        row = session.scalar(query)
        if row is None:
            raise NotFound(f"no session {session_id}: see `monitor session list`")
        return row

    @staticmethod
    def _audit(
        session: Session | Connection,
        at: datetime,
        user: m.User | _Actor | None,
        action: str,
        entity: str,
        entity_id: int | None,
        *,
        session_id: int | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        connection_of(session).execute(
            _INSERT_AUDIT,
            {
                "at": at,
                "user_name": user.name if user else None,
                "action": action,
                "session_id": session_id,
                "entity": entity,
                "entity_id": entity_id,
                "before": _dump(before),
                "after": _dump(after),
                "reason": reason,
            },
        )

    @staticmethod
    def _signed(session: Session | Connection, session_id: int) -> bool:
        """Signed while it has more sign-offs than reopenings (they alternate)."""
        connection = connection_of(session)
        signs = connection.execute(_SIGNS, {"session_id": session_id}).scalar()
        reopenings = connection.execute(_REOPENINGS, {"session_id": session_id}).scalar()
        return (signs or 0) > (reopenings or 0)

    def _refuse_if_signed(self, session: Session | Connection, session_id: int, what: str) -> None:
        refusal = signed_refusal(session_id, what, signed=self._signed(session, session_id))
        if refusal is not None:
            raise refusal.error()

    @staticmethod
    def _utc(when: datetime | None, now: datetime) -> datetime:
        """A given time as aware UTC, or now."""
        if when is None:
            return now
        if when.tzinfo is None:
            raise ValueError("times given to the services must be timezone-aware")
        return when.astimezone(UTC)
