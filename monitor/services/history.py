"""History reads that cost the same whatever the size of the history: the audit trail and the
list of sessions (interface.md: "they page and stream").

A page is chosen by filters an index serves (a session, a time range, the active sessions) and
a limit (the newest N rows). Its rows are read by plain Core selects, never as ORM objects, and
streamed: fetched a batch at a time (a server-side cursor on PostgreSQL) and handed to the
caller as they arrive, so a whole trail of a million rows never sits in memory at once.

A limit is served without counting the history: the newest matching id and the id of the first
row *outside* the page (``ORDER BY id DESC LIMIT 1 OFFSET N``) bound the page and say whether
more rows exist. All
the queries of one page run in one snapshot (a read transaction on SQLite, REPEATABLE READ on
PostgreSQL), so rows added meanwhile neither shift nor grow the page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import ColumnElement, Connection, Row, Select, Table, func, select

from monitor.errors import EntryError, NotFound
from monitor.services.base import ServiceBase
from monitor.store import models as m
from monitor.views import AuditView, SessionSummary

T = TypeVar("T")

#: Rows fetched from the database at a time while streaming.
BATCH = 1000
#: The largest page one may ask for (a database integer).
LIMIT_MAX = 2**31 - 1

AUDIT = cast(Table, m.AuditEntry.__table__)
SESSIONS = cast(Table, m.TreatmentSession.__table__)
_PATIENTS = cast(Table, m.Patient.__table__)
_SIGN_OFFS = cast(Table, m.SignOff.__table__)
_REOPENINGS = cast(Table, m.Reopening.__table__)

# In the order of AuditView's fields.
_AUDIT_COLUMNS = (
    AUDIT.c.id,
    AUDIT.c.at,
    AUDIT.c.user_name,
    AUDIT.c.action,
    AUDIT.c.session_id,
    AUDIT.c.entity,
    AUDIT.c.entity_id,
    AUDIT.c.before,
    AUDIT.c.after,
    AUDIT.c.reason,
)

# Signed while a session has more sign-offs than reopenings (they alternate); both counted by
# the session's own index rows, so the cost does not follow the number of sessions.
_SIGNED = (
    select(func.count()).where(_SIGN_OFFS.c.session_id == SESSIONS.c.id).scalar_subquery()
    > select(func.count()).where(_REOPENINGS.c.session_id == SESSIONS.c.id).scalar_subquery()
)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a history read: its rows, streamed while the page is open, and whether a
    limit left older rows out."""

    rows: Iterator[T]
    more: bool


def check_page(since: datetime | None, until: datetime | None, limit: int | None) -> None:
    """Refuse a period that ends before it begins, and a limit that is not a page size."""
    if since is not None and until is not None and since > until:
        raise EntryError(
            f"--from ({since.isoformat(timespec='seconds')}) is after --to "
            f"({until.isoformat(timespec='seconds')}): give the earlier time first"
        )
    if limit is not None and not 1 <= limit <= LIMIT_MAX:
        raise EntryError(f"--limit {limit} is out of range (1 to {LIMIT_MAX})")


def audit_filters(
    session_id: int | None, since: datetime | None, until: datetime | None
) -> list[ColumnElement[bool]]:
    """The audit rows of one session (or all) within ``since``..``until`` (both included)."""
    where: list[ColumnElement[bool]] = []
    if session_id is not None:
        where.append(AUDIT.c.session_id == session_id)
    if since is not None:
        where.append(AUDIT.c.at >= since)
    if until is not None:
        where.append(AUDIT.c.at <= until)
    return where


def session_filters(
    active_only: bool, since: datetime | None, until: datetime | None
) -> list[ColumnElement[bool]]:
    """Sessions (active ones only, or all) started within ``since``..``until``."""
    where: list[ColumnElement[bool]] = []
    if active_only:
        where.append(SESSIONS.c.discharged_at.is_(None))
    if since is not None:
        where.append(SESSIONS.c.started_at >= since)
    if until is not None:
        where.append(SESSIONS.c.started_at <= until)
    return where


def _bounds(
    connection: Connection, table: Table, where: list[ColumnElement[bool]], limit: int | None
) -> tuple[ColumnElement[bool] | None, bool]:
    """The ids of the newest ``limit`` matching rows as a condition (``None``: no limit), and
    whether the limit leaves older rows out.

    Both ends are read by the filters' index: the newest matching id, and the id of the first
    row the limit leaves out (``ORDER BY id DESC LIMIT 1 OFFSET limit``). Bounding the page by
    both lets the database read it as one short range of ids, whichever index it picks."""
    if limit is None:
        return None, False
    newest_first = select(table.c.id).where(*where).order_by(table.c.id.desc()).limit(1)
    top = connection.execute(newest_first).scalar()
    if top is None:
        return None, False
    below = connection.execute(newest_first.offset(limit)).scalar()
    if below is None:
        return table.c.id <= top, False
    return table.c.id.between(int(below) + 1, int(top)), True


def _stream(
    connection: Connection, query: Select[Any], make: Callable[[Row[Any]], T]
) -> Iterator[T]:
    """The rows of ``query`` as ``make`` turns them into views, a batch at a time."""
    result = connection.execute(query.execution_options(stream_results=True, yield_per=BATCH))
    for row in result:
        yield make(row)


def _audit_view(row: Row[Any]) -> AuditView:
    return AuditView(*cast("tuple[Any, ...]", row))  # the columns are in the fields' order


def _summary(row: Row[Any]) -> SessionSummary:
    return SessionSummary(
        id=row.id,
        patient=row.identifier,
        protocol=row.protocol,
        bay=row.bay,
        status="active" if row.discharged_at is None else "discharged",
        started_at=row.started_at,
        dosed_at=row.dosed_at,
        discharged_at=row.discharged_at,
        signed=bool(row.signed),
    )


class HistoryServices(ServiceBase):
    """The audit trail and the sessions, paged and streamed."""

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """One read transaction in which every query of a page sees the same rows."""
        with self.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execution_options(isolation_level="REPEATABLE READ")
            yield connection

    @contextmanager
    def audit_page(
        self,
        session_id: int | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[Page[AuditView]]:
        """The audit trail of one session or all, within ``since``..``until`` (aware times,
        both included), oldest first; with ``limit``, the newest ``limit`` rows of it (still
        oldest first, as a log's tail). Rows stream while the ``with`` block is open.

        An unknown session is refused before any row is read."""
        check_page(since, until, limit)
        with self._snapshot() as connection:
            if session_id is not None:
                known = select(SESSIONS.c.id).where(SESSIONS.c.id == session_id)
                if connection.execute(known).first() is None:
                    raise NotFound(f"no session {session_id}: see `monitor session list`")
            where = audit_filters(session_id, since, until)
            ids, more = _bounds(connection, AUDIT, where, limit)
            if ids is not None:
                where.append(ids)
            query = select(*_AUDIT_COLUMNS).where(*where).order_by(AUDIT.c.id)
            yield Page(_stream(connection, query, _audit_view), more=more)

    @contextmanager
    def session_page(
        self,
        *,
        active_only: bool = False,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[Page[SessionSummary]]:
        """Sessions (or only those in observation) started within ``since``..``until``,
        newest first; with ``limit``, the newest ``limit`` of them. Rows stream while the
        ``with`` block is open."""
        check_page(since, until, limit)
        with self._snapshot() as connection:
            where = session_filters(active_only, since, until)
            ids, more = _bounds(connection, SESSIONS, where, limit)
            if ids is not None:
                where.append(ids)
            query = (
                select(
                    SESSIONS.c.id,
                    _PATIENTS.c.identifier,
                    SESSIONS.c.protocol,
                    SESSIONS.c.bay,
                    SESSIONS.c.started_at,
                    SESSIONS.c.dosed_at,
                    SESSIONS.c.discharged_at,
                    _SIGNED.label("signed"),
                )
                .join_from(SESSIONS, _PATIENTS, _PATIENTS.c.id == SESSIONS.c.patient_id)
                .where(*where)
                .order_by(SESSIONS.c.id.desc())
            )
            yield Page(_stream(connection, query, _summary), more=more)

    def audit(self, session_id: int | None = None) -> list[AuditView]:
        """The audit trail of one session, or all of it, oldest first, as one list (for a
        trail of any size, stream it with :meth:`audit_page`)."""
        with self.audit_page(session_id) as page:
            return list(page.rows)

    def list_sessions(self, *, active_only: bool = False) -> list[SessionSummary]:
        """Sessions, newest first, as one list (for a page, :meth:`session_page`)."""
        with self.session_page(active_only=active_only) as page:
            return list(page.rows)
