"""The supervisor's review queue (issue #11, deliverable 1): discharged sessions, newest
discharge first, a page at a time, with the counts a supervisor reviews by.

**Cost follows the page, not the history.** Candidates are chosen by the discharge time's index
(``ix_treatment_sessions_active``: ``discharged_at, id``), newest first, a batch at a time
(keyset: each batch starts below the last one read), with the filters the database can answer
per session through that session's own index rows: not yet signed, protocol, nurse, a high
flag, an override, an adverse event. Only a batch's sessions are then loaded and judged, with
the same views ``session show`` builds (:meth:`QueryServices._views`: a fixed number of
queries per batch). The filters that need that judgement ("late or missed checks", "late
entries") keep reading batches until the page is full or the period ends; a page with such a
filter can therefore read more sessions than it shows (at most all those in the period).

Decisions (docs/interface.md, "The review queue"):

- the period (``since``/``until``) is on the **discharge** time: the queue holds discharged
  sessions only, and a session enters it when it is discharged;
- ``unsigned`` keeps the sessions not signed now (never signed, or reopened): the queue a
  supervisor works through; without it, signed sessions are listed too, marked;
- a session's **nurse** is any user who started it, recorded one of its readings (corrections
  included) or discharged it;
- flags are counted on every reading of the record, corrected and voided ones included (a
  correction never clears an alarm); a high flag's wait is from the moment it was raised (its
  reading was saved) to its acknowledgement; unacknowledged high flags are counted apart;
- checks are those after dosing (the schedule's checks and the BP rechecks), as judged at the
  discharge: ``late`` done late, ``missed`` missed (explained or not); the baseline is the
  dosing gate's business and is not counted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, exists, or_, select
from sqlalchemy.orm import Session

from monitor.core.intake import expected_dose
from monitor.core.quality import SEVERE_BP_RULES, count_checks, minutes
from monitor.core.rules import Severity
from monitor.errors import EntryError, NotFound
from monitor.services.history import _SIGNED, SESSIONS, check_page
from monitor.services.queries import QueryServices
from monitor.store import models as m
from monitor.views import SessionView

#: Sessions loaded and judged at a time while a page is filled.
REVIEW_BATCH = 200
#: The page `review list` shows unless told otherwise.
REVIEW_PAGE = 50
#: A user name as typed: at most this long (docs/interface.md, "Input limits").
NAME_MAX = 64

_READINGS = cast(Table, m.Reading.__table__)
_FLAGS = cast(Table, m.Flag.__table__)
_EVENTS = cast(Table, m.Event.__table__)
_USERS = cast(Table, m.User.__table__)


@dataclass(frozen=True)
class SessionFacts:
    """What the queue and the quality summary count about one discharged session."""

    id: int
    patient: str
    protocol: str
    started_at: datetime
    discharged_at: datetime
    started_by: str
    discharged_by: str | None
    #: Everyone who recorded one of its readings, by name.
    recorded_by: tuple[str, ...]
    flags_high: int
    flags_medium: int
    flags_low: int
    #: Minutes from each acknowledged high flag's reading being saved to its acknowledgement.
    high_waits: tuple[float, ...]
    high_unacknowledged: int
    checks_on_time: int
    checks_late: int
    checks_missed: int
    #: Checks neither done nor missed when the session was discharged (not reached).
    checks_open: int
    late_entries: int
    #: Adverse events' types, one per event, in time order.
    adverse: tuple[str, ...]
    serious_adverse: int
    severe_bp: bool
    override: bool
    override_reason: str | None
    signed: bool
    signed_by: str | None
    signed_at: datetime | None
    esketamine: bool
    #: Of ``checks_open``, those an early discharge by override left (never missed).
    checks_ended_early: int = 0
    #: The session's stored values that could not be read, each named (docs/storage.md,
    #: "Unreadable records"); the counts hold the rest.
    unreadable: tuple[str, ...] = ()

    @property
    def slowest_high_ack_min(self) -> float | None:
        """The longest wait of an acknowledged high flag, in minutes (``None``: none)."""
        return max(self.high_waits) if self.high_waits else None

    @property
    def checks_late_or_missed(self) -> int:
        """Checks done late plus checks missed."""
        return self.checks_late + self.checks_missed


def session_facts(view: SessionView) -> SessionFacts:
    """The counts of one discharged session, from the view ``session show`` reads."""
    assert view.discharged_at is not None
    flags = [f for r in view.readings for f in r.flags]
    saved = {r.id: r.recorded_at for r in view.readings}
    high = [f for f in flags if f.severity is Severity.HIGH and f.reading_id is not None]
    waits = tuple(
        minutes(saved[f.reading_id or 0], f.acknowledged_at)
        for f in high
        if f.acknowledged_at is not None
    )
    counts = count_checks(view.checks)
    adverse = [e for e in view.events if e.kind == "adverse"]
    return SessionFacts(
        id=view.id,
        patient=view.patient,
        protocol=view.protocol,
        started_at=view.started_at,
        discharged_at=view.discharged_at,
        started_by=view.started_by,
        discharged_by=view.discharged_by,
        recorded_by=tuple(sorted({r.recorded_by for r in view.readings})),
        flags_high=len(high),
        flags_medium=sum(1 for f in flags if f.severity is Severity.MEDIUM),
        flags_low=sum(1 for f in flags if f.severity is Severity.LOW),
        high_waits=waits,
        high_unacknowledged=sum(1 for f in high if f.acknowledged_at is None),
        checks_on_time=counts.on_time,
        checks_late=counts.late,
        checks_missed=counts.missed,
        checks_open=counts.not_reached,
        late_entries=sum(1 for r in view.readings if r.late_entry),
        adverse=tuple(e.type or "other" for e in adverse),
        serious_adverse=sum(1 for e in adverse if e.serious),
        severe_bp=any(f.rule in SEVERE_BP_RULES for f in high),
        override=view.override_reason is not None,
        override_reason=view.override_reason,
        signed=view.signed_by is not None,
        signed_by=view.signed_by,
        signed_at=view.signed_at,
        esketamine=expected_dose(view.protocol) is not None,
        checks_ended_early=counts.ended_early,
        unreadable=tuple(str(u) for u in view.unreadable),
    )


@dataclass(frozen=True)
class ReviewPage:
    """One page of the queue, newest discharge first, and whether more sessions match."""

    rows: list[SessionFacts]
    more: bool


def discharged_between(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    """Discharged sessions, within ``since``..``until`` (both included) when given."""
    where: list[ColumnElement[bool]] = [SESSIONS.c.discharged_at.is_not(None)]
    if since is not None:
        where.append(SESSIONS.c.discharged_at >= since)
    if until is not None:
        where.append(SESSIONS.c.discharged_at <= until)
    return where


class ReviewServices(QueryServices):
    """The supervisor's review queue."""

    def _snapshot_session(self) -> Session:
        """A read session whose queries all see one snapshot (REPEATABLE READ on
        PostgreSQL; SQLite's read transaction does this by itself)."""
        session = self._read()
        if self.engine.dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return session

    def _facts_batches(
        self, session: Session, where: Sequence[ColumnElement[bool]], batch: int = REVIEW_BATCH
    ) -> Iterator[list[SessionFacts]]:
        """The facts of the discharged sessions ``where`` selects, newest discharge first, a
        batch at a time: each batch is chosen by the discharge index below the last one."""
        after: tuple[datetime, int] | None = None
        while True:
            keyset: list[ColumnElement[bool]] = []
            if after is not None:
                moment, last = after
                keyset.append(
                    or_(
                        SESSIONS.c.discharged_at < moment,
                        and_(SESSIONS.c.discharged_at == moment, SESSIONS.c.id < last),
                    )
                )
            query = (
                select(SESSIONS.c.id, SESSIONS.c.discharged_at)
                .where(*where, *keyset)
                .order_by(SESSIONS.c.discharged_at.desc(), SESSIONS.c.id.desc())
                .limit(batch)
            )
            found = session.execute(query).all()
            if not found:
                return
            ids = [row.id for row in found]
            loaded = {
                row.id: row
                for row in session.scalars(
                    select(m.TreatmentSession).where(m.TreatmentSession.id.in_(ids))
                )
            }
            views = self._views(session, [loaded[i] for i in ids])
            yield [session_facts(v) for v in views]
            if len(found) < batch:
                return
            after = (found[-1].discharged_at, found[-1].id)

    def _nurse_id(self, session: Session, name: str) -> int:
        if len(name) > NAME_MAX or not name.isprintable():
            raise EntryError(f"--nurse: a user name is one line of at most {NAME_MAX} characters")
        found = session.execute(select(_USERS.c.id).where(_USERS.c.name == name)).scalar()
        if found is None:
            raise NotFound(f"unknown user '{name}': see `monitor user list --by YOU`")
        return int(found)

    def review_queue(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        unsigned: bool = False,
        nurse: str | None = None,
        protocol: str | None = None,
        flagged: bool = False,
        override: bool = False,
        late: bool = False,
        late_entries: bool = False,
        adverse: bool = False,
        limit: int = REVIEW_PAGE,
    ) -> ReviewPage:
        """Discharged sessions (discharged within ``since``..``until``, aware times, both
        included), newest discharge first, the first ``limit`` that pass every filter given:
        ``unsigned`` not signed now; ``nurse`` started, recorded in or discharged by that user;
        ``protocol``; ``flagged`` had a high flag; ``override`` discharged by override;
        ``late`` a check done late or missed; ``late_entries`` a reading saved late;
        ``adverse`` an adverse event. An unknown nurse or protocol is refused."""
        check_page(since, until, limit)
        if protocol is not None:
            self.config.protocol(protocol)  # refuses an unknown key, naming the known ones
        with self._snapshot_session() as session:
            where = discharged_between(since, until)
            if unsigned:
                where.append(~_SIGNED)
            if protocol is not None:
                where.append(SESSIONS.c.protocol == protocol)
            if override:
                where.append(SESSIONS.c.override_reason.is_not(None))
            if nurse is not None:
                uid = self._nurse_id(session, nurse)
                recorded = exists().where(
                    _READINGS.c.session_id == SESSIONS.c.id, _READINGS.c.recorded_by_id == uid
                )
                where.append(
                    or_(
                        SESSIONS.c.started_by_id == uid,
                        SESSIONS.c.discharged_by_id == uid,
                        recorded,
                    )
                )
            if flagged:
                where.append(
                    exists()
                    .select_from(_READINGS.join(_FLAGS, _FLAGS.c.reading_id == _READINGS.c.id))
                    .where(
                        _READINGS.c.session_id == SESSIONS.c.id,
                        _FLAGS.c.severity == Severity.HIGH.value,
                    )
                )
            if adverse:
                where.append(
                    exists().where(
                        _EVENTS.c.session_id == SESSIONS.c.id, _EVENTS.c.kind == "adverse"
                    )
                )
            judged = late or late_entries
            # Without a filter that needs judgement, one batch of limit + 1 tells whether more
            # sessions match; with one, batches go on until the page is full.
            batch = min(limit + 1, REVIEW_BATCH) if not judged else REVIEW_BATCH
            rows: list[SessionFacts] = []
            for facts in self._facts_batches(session, where, batch):
                for row in facts:
                    if late and not row.checks_late_or_missed:
                        continue
                    if late_entries and not row.late_entries:
                        continue
                    if len(rows) == limit:
                        return ReviewPage(rows, more=True)
                    rows.append(row)
            return ReviewPage(rows, more=False)
