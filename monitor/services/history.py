"""History reads that cost the same whatever the size of the history: the audit trail and the
list of sessions (docs/interface.md, "Times": they page and stream).

A page is chosen by filters an index serves (a session, a time range, the active sessions) and
a limit (the newest N rows). Its rows are read by plain Core selects, never as ORM objects, and
streamed: fetched a batch at a time (a server-side cursor on PostgreSQL) and handed to the
caller as they arrive, so a whole trail of a million rows never sits in memory at once.

A limit is served without counting the history: the newest matching id and the id of the first
row *outside* the page (``ORDER BY id DESC LIMIT 1 OFFSET N``) bound the page and say whether
more rows exist. All
the queries of one page run in one snapshot (a read transaction on SQLite, REPEATABLE READ on
PostgreSQL), so rows added meanwhile neither shift nor grow the page.

The station's audit view pages by key instead (:meth:`HistoryServices.audit_keyset`): newest
first by the row's time then id, each page "older than audit row N" or "newer than audit row
N", so page 1,000 reads what page 1 does. Time-then-id is the order the time index already
holds (on SQLite an index carries the row id after its columns; PostgreSQL finishes ties with a
cheap incremental sort), and the cursor narrows that index's own range, so a page reads about
its own rows whatever the length of the trail or of the period.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    Table,
    func,
    or_,
    select,
)

from monitor.errors import EntryError, NotFound
from monitor.services.base import ServiceBase
from monitor.store import models as m
from monitor.views import AuditView, SessionSummary

T = TypeVar("T")

#: Rows fetched from the database at a time while streaming.
BATCH = 1000
#: The largest page one may ask for (a database integer).
LIMIT_MAX = 2**31 - 1
#: Rows in one page of the station's audit view.
AUDIT_PAGE = 50
#: The user filter's value for the rows the database's own triggers wrote (they have no user;
#: no user name is empty).
BY_DATABASE = ""
#: An action filter: an action (``reading.record``) or a group of them (``reading``).
_ACTION = re.compile(r"[a-z][a-z_]{0,39}(\.[a-z][a-z_]{0,39}){0,3}")
#: The longest user name (as :mod:`monitor.services.users` allows).
_NAME_MAX = 64

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
class AuditSlice:
    """One page of the station's audit view: its rows newest first, and whether older and
    newer rows match the same filters."""

    rows: tuple[AuditView, ...]
    older: bool
    newer: bool


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


def check_audit_filters(user: str | None, action: str | None) -> None:
    """Refuse a user or action filter that could never match, saying what would."""
    if user and (len(user) > _NAME_MAX or not user.isprintable()):
        raise EntryError(f"a user name is one line of 1 to {_NAME_MAX} printable characters")
    if action is not None and not _ACTION.fullmatch(action):
        raise EntryError(
            f"'{action[:60]}' is not an action: give one such as reading.record, or a group "
            "such as reading (every reading.* action)"
        )


def audit_filters(
    session_id: int | None,
    since: datetime | None,
    until: datetime | None,
    *,
    user: str | None = None,
    action: str | None = None,
) -> list[ColumnElement[bool]]:
    """The audit rows of one session (or all) within ``since``..``until`` (both included),
    written by ``user`` (:data:`BY_DATABASE`: by the database's triggers), of ``action`` or of
    its group (``reading`` is every ``reading.*``)."""
    where: list[ColumnElement[bool]] = []
    if session_id is not None:
        where.append(AUDIT.c.session_id == session_id)
    if since is not None:
        where.append(AUDIT.c.at >= since)
    if until is not None:
        where.append(AUDIT.c.at <= until)
    if user == BY_DATABASE:
        where.append(AUDIT.c.user_name.is_(None))
    elif user is not None:
        where.append(AUDIT.c.user_name == user)
    if action is not None:
        # "_" is a LIKE wildcard: escape it so that a group matches only its own actions.
        group = action.replace("_", "\\_") + ".%"
        where.append(or_(AUDIT.c.action == action, AUDIT.c.action.like(group, escape="\\")))
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

    @staticmethod
    def _known(connection: Connection, session_id: int | None, user: str | None) -> None:
        """Refuse an unknown session or user before any row is read."""
        if session_id is not None:
            known = select(SESSIONS.c.id).where(SESSIONS.c.id == session_id)
            if connection.execute(known).first() is None:
                raise NotFound(f"no session {session_id}: see `monitor session list`")
        if user is not None and user != BY_DATABASE:
            users = cast(Table, m.User.__table__)
            if connection.execute(select(users.c.id).where(users.c.name == user)).first() is None:
                raise NotFound(f"no user '{user}': see `monitor user list --by YOU`")

    @contextmanager
    def audit_page(
        self,
        session_id: int | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        user: str | None = None,
        action: str | None = None,
    ) -> Iterator[Page[AuditView]]:
        """The audit trail of one session or all, within ``since``..``until`` (aware times,
        both included), by ``user`` and of ``action`` (see :func:`audit_filters`), oldest
        first; with ``limit``, the newest ``limit`` rows of it (still oldest first, as a log's
        tail). Rows stream while the ``with`` block is open.

        An unknown session or user is refused before any row is read."""
        check_page(since, until, limit)
        check_audit_filters(user, action)
        with self._snapshot() as connection:
            self._known(connection, session_id, user)
            where = audit_filters(session_id, since, until, user=user, action=action)
            ids, more = _bounds(connection, AUDIT, where, limit)
            if ids is not None:
                where.append(ids)
            query = select(*_AUDIT_COLUMNS).where(*where).order_by(AUDIT.c.id)
            yield Page(_stream(connection, query, _audit_view), more=more)

    def audit_keyset(
        self,
        session_id: int | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        user: str | None = None,
        action: str | None = None,
        before: int | None = None,
        after: int | None = None,
        limit: int = AUDIT_PAGE,
    ) -> AuditSlice:
        """A page of the audit trail, newest first by time then id, filtered as
        :meth:`audit_page` is: the newest ``limit`` rows, or those just older than audit row
        ``before``, or just newer than audit row ``after``. Each page costs what the first
        does, however deep in the trail it lies."""
        check_page(since, until, limit)
        check_audit_filters(user, action)
        if before is not None and after is not None:
            raise EntryError("a page is older than one row or newer than another, not both")
        with self._snapshot() as connection:
            self._known(connection, session_id, user)

            def where(lo: datetime | None, hi: datetime | None) -> list[ColumnElement[bool]]:
                return audit_filters(session_id, lo, hi, user=user, action=action)

            def matches(
                lo: datetime | None, hi: datetime | None, beyond: Any, *, newer: bool
            ) -> bool:
                # The nearest row beyond the page, by the same order as the page: read from
                # the index at the page's edge (an EXISTS may be planned as a scan from the
                # table's start, which costs the depth of the page).
                order = (
                    (AUDIT.c.at, AUDIT.c.id) if newer else (AUDIT.c.at.desc(), AUDIT.c.id.desc())
                )
                probe = select(AUDIT.c.id).where(*where(lo, hi), beyond).order_by(*order)
                return connection.execute(probe.limit(1)).first() is not None

            cursor = before if before is not None else after
            mark: datetime | None = None
            if cursor is not None:
                mark = connection.execute(select(AUDIT.c.at).where(AUDIT.c.id == cursor)).scalar()
                if mark is None:
                    raise NotFound(f"no audit row {cursor}")
            columns: Select[Any] = select(*_AUDIT_COLUMNS)
            if after is None:
                # Newest first; older than the cursor row: the cursor's time caps the range
                # the time index is read over (the narrower of it and the period's end).
                hi = until if mark is None else mark if until is None else min(until, mark)
                query = columns.where(*where(since, hi)).order_by(
                    AUDIT.c.at.desc(), AUDIT.c.id.desc()
                )
                if mark is not None:
                    query = query.where(or_(AUDIT.c.at < mark, AUDIT.c.id < cast(int, before)))
                found = [_audit_view(r) for r in connection.execute(query.limit(limit + 1))]
                rows, older = found[:limit], len(found) > limit
                newer = False
                if rows:
                    top = rows[0]
                    newer = mark is not None and matches(
                        top.at, until, or_(AUDIT.c.at > top.at, AUDIT.c.id > top.id), newer=True
                    )
                elif mark is not None:
                    newer = matches(
                        mark, until, or_(AUDIT.c.at > mark, AUDIT.c.id >= before), newer=True
                    )
                return AuditSlice(tuple(rows), older=older, newer=newer)
            # Newer than the cursor row: oldest first from it, then turned newest first.
            assert mark is not None
            lo = mark if since is None else max(since, mark)
            query = (
                columns.where(*where(lo, until), or_(AUDIT.c.at > mark, AUDIT.c.id > after))
                .order_by(AUDIT.c.at, AUDIT.c.id)
                .limit(limit + 1)
            )
            found = [_audit_view(r) for r in connection.execute(query)]
            rows, newer = found[:limit], len(found) > limit
            if rows:
                bottom = rows[0]
                older = matches(
                    since,
                    bottom.at,
                    or_(AUDIT.c.at < bottom.at, AUDIT.c.id < bottom.id),
                    newer=False,
                )
            else:
                older = matches(
                    since, mark, or_(AUDIT.c.at < mark, AUDIT.c.id <= after), newer=False
                )
            return AuditSlice(tuple(reversed(rows)), older=older, newer=newer)

    def audit_users(self) -> list[str]:
        """Every user name (disabled users too: their rows stay in the trail), by name."""
        users = cast(Table, m.User.__table__)
        with self._snapshot() as connection:
            return list(connection.execute(select(users.c.name).order_by(users.c.name)).scalars())

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
