"""Saving a reading: the hot path, on SQLAlchemy Core alone (docs/architecture.md, "Start-up").

:class:`RecordServices` is what ``monitor record`` opens: saving readings with their flags,
their audit rows and the check each served, the PIN check (:mod:`.signin`) and the rules in
force (:mod:`.config`) they need, and nothing else; :class:`~monitor.services.readings.\
ReadingServices` (correcting, voiding) and so the whole :class:`~monitor.services.Service`
include it, so the station, the command line and a batch save a reading the one same way.
Its statements are built once on the tables (:mod:`.recording_sql`), so that SQLAlchemy's
compiled cache serves them and the ORM is never imported for a save (issue #23).

A batch (``record --stdin``) saves its lines in groups (:meth:`RecordServices.group`): one
transaction for several readings, each in a savepoint of its own, so that a busy disk costs one
sync per group and a refused line refuses only itself; the checks they served are judged once
for the group (:class:`Group`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Connection, exists, select
from sqlalchemy.exc import IntegrityError

from monitor.core.entry import parse_entry
from monitor.core.observations import Observation, RecordedFlag
from monitor.core.rules import Flag, Severity, evaluate, rise_flags
from monitor.core.schedule import CheckState, Windows, at_discharge, check_states, ends_early
from monitor.core.served import Served, served_by_reading
from monitor.core.timing import check_measured_at
from monitor.core.vitals import Vitals, validate_vitals
from monitor.errors import NotFound, PermissionDenied
from monitor.services import recording_sql as sql
from monitor.services.base import _Actor, connection_of
from monitor.services.config import ConfigServices
from monitor.services.keys import Given, answered_again, check_key, given_at, saved_under
from monitor.services.signin import SignInServices
from monitor.store.tables import MEASURE_COLUMNS
from monitor.views import FlagView, ReadingView

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Recorded:
    """A reading asked to be saved, whether this call saved it (``False``: a save with the
    same key had saved it before), and which check it served and which checks before it
    remain not done (``served``; its ``served_check`` is on the reading)."""

    reading: ReadingView
    saved_now: bool
    served: Served | None = None


def _vitals(entry: str | Vitals) -> Vitals:
    return parse_entry(entry) if isinstance(entry, str) else validate_vitals(entry)


class RecordServices(SignInServices, ConfigServices):
    """Saving readings, and what that needs: the PIN check and the rules in force."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Each session's readings as a batch's group last judged them (:meth:`group`).
        self._judged: dict[int, _Seen] = {}

    @staticmethod
    def _baseline(session: Session | Connection, row: Any, excluding: int | None = None) -> Vitals:
        """The latest pre-dose value of each measure, from readings in force."""
        if row.dosed_at is None:
            return Vitals()
        values = connection_of(session).execute(
            sql.BASELINE,
            {"session_id": row.id, "dosed_at": row.dosed_at, "excluding": excluding or -1},
        )
        baseline: dict[str, int] = {}
        for found in values:  # in time order: later values win
            baseline.update(
                {k: v for k, v in zip(MEASURE_COLUMNS, found, strict=True) if v is not None}
            )
        return Vitals(**baseline)

    def _save_reading(
        self,
        session: Session | Connection,
        row: Any,
        user: Any,
        vitals: Vitals,
        measured_at: datetime,
        now: datetime,
        *,
        corrects: Any = None,
        reason: str | None = None,
        key: str | None = None,
        device: tuple[int, str] | None = None,
    ) -> ReadingView:
        """Judge the flags as of now (the dosing time known now, the rules in force) and save
        reading and flags; a reading that changes the baseline judges the readings after
        dosing again for the rise rule (:meth:`_rejudge_rise`)."""
        before = row.dosed_at is None or measured_at <= row.dosed_at
        baseline = (
            Vitals() if before else self._baseline(session, row, corrects.id if corrects else None)
        )
        version, rules = self.rules_in_force(session)
        flags = evaluate(
            vitals,
            before_dosing=before,
            age=row.age,
            baseline=baseline,
            thresholds=rules.thresholds,
        )
        connection = connection_of(session)
        reading_id = connection.execute(
            sql.INSERT_READING,
            {
                "session_id": row.id,
                "measured_at": measured_at,
                "recorded_at": now,
                "recorded_by_id": user.id,
                "before_dosing": before,
                "corrects_id": corrects.id if corrects else None,
                "reason": reason,
                "client_key": key,
                "device_id": device[0] if device else None,
                **vitals.as_dict(),
            },
        ).scalar_one()
        flag_ids: list[int] = []
        if flags:
            flag_ids = list(
                connection.execute(
                    sql.INSERT_FLAGS,
                    [
                        {
                            "reading_id": reading_id,
                            "measure": flag.measure,
                            "severity": flag.severity.value,
                            "rule": flag.rule,
                            "message": flag.message,
                            "config_version": version,
                            "raised_by": "reading",
                        }
                        for flag in flags
                    ],
                ).scalars()
            )
        if before and row.dosed_at is not None:
            self._rejudge_rise(session, row, now)
        return ReadingView(
            id=reading_id,
            session_id=row.id,
            measured_at=measured_at,
            recorded_at=now,
            recorded_by=user.name,
            vitals=vitals,
            before_dosing=before,
            flags=tuple(
                FlagView(
                    fid,
                    reading_id,
                    f.measure,
                    f.severity,
                    f.rule,
                    f.message,
                    config_version=version,
                )
                for fid, f in zip(flag_ids, flags, strict=True)
            ),
            corrects=corrects.id if corrects else None,
            reason=reason,
            source=f"device {device[1]}" if device else "typed",
        )

    def _rejudge_rise(self, session: Session | Connection, row: Any, now: datetime) -> list[int]:
        """The baseline changed after dosing (a before-dosing reading entered late, corrected
        or voided): judge every reading in force after dosing again for the rise rule against
        the new baseline, and raise each rise flag that now holds and the reading does not
        carry yet ("raised when the baseline changed"; docs/clinical.md, "When the baseline
        changes after dosing"). No flag ever disappears. Returns the new flags' ids."""
        version, rules = self.rules_in_force(session)
        connection = connection_of(session)
        baseline = self._baseline(connection, row)
        after = connection.execute(
            select(sql.READINGS.c.id, *(sql.READINGS.c[name] for name in MEASURE_COLUMNS))
            .where(sql.READINGS.c.session_id == row.id)
            .where(sql.READINGS.c.measured_at > row.dosed_at)
            .where(~exists().where(sql.NEWER.c.corrects_id == sql.READINGS.c.id))
            .where(~exists().where(sql.VOIDS.reading_id == sql.READINGS.c.id))
            .order_by(sql.READINGS.c.measured_at, sql.READINGS.c.id)
        ).all()
        if not after:
            return []
        carried = {
            (found.reading_id, found.rule)
            for found in connection.execute(
                select(sql.FLAGS.c.reading_id, sql.FLAGS.c.rule).where(
                    sql.FLAGS.c.reading_id.in_([r.id for r in after])
                )
            )
        }
        raised = []
        for reading in after:
            vitals = Vitals(**dict(zip(MEASURE_COLUMNS, reading[1:], strict=True)))
            for flag in rise_flags(vitals, baseline, rules.thresholds.rise):
                if (reading.id, flag.rule) in carried:
                    continue
                raised.append(
                    {
                        "reading_id": reading.id,
                        "measure": flag.measure,
                        "severity": flag.severity.value,
                        "rule": flag.rule,
                        "message": f"{flag.message} (raised when the baseline changed)",
                        "config_version": version,
                        "raised_by": "baseline change",
                        "raised_at": now,
                    }
                )
        if not raised:
            return []
        return list(connection.execute(sql.INSERT_FLAGS, raised).scalars())

    def record_reading(
        self,
        session_id: int,
        entry: str | Vitals,
        *,
        by: str,
        measured_at: Given = None,
        key: str | None = None,
    ) -> ReadingView:
        """Parse, validate, flag and save one reading with its audit row, in one transaction.

        ``measured_at`` is an instant, or the time as the user typed it (``"5 min ago"``), read
        against the save's own clock; ``None`` is now. ``key`` is the client's key for this
        entry: saving the same entry again with the same key (a retry after a lost reply)
        returns the reading first saved instead of a duplicate; the same key with anything
        else is refused (:class:`~monitor.errors.KeyConflictError`;
        :func:`monitor.services.keys.difference` says what "the same" is).
        """
        return self.record_reading_once(
            session_id, entry, by=by, measured_at=measured_at, key=key
        ).reading

    def record_reading_once(
        self,
        session_id: int,
        entry: str | Vitals,
        *,
        by: str,
        measured_at: Given = None,
        key: str | None = None,
    ) -> Recorded:
        """:meth:`record_reading`, saying whether this call saved the reading or found it
        saved already under ``key`` (a re-sent batch must not report its lines as new)."""
        vitals = _vitals(entry)
        if key is None:
            with self._plain_action() as connection:
                return self._record(connection, session_id, vitals, by, measured_at, key)
        check_key(key)
        with self.engine.connect() as connection:
            earlier = self._keyed(connection, session_id, key, by, vitals, measured_at)
        if earlier is not None:
            return earlier
        try:
            with self._plain_action() as connection:
                return self._record(connection, session_id, vitals, by, measured_at, key)
        except IntegrityError:
            # Another save with this key won the race: it is the reading, if it is this one.
            with self.engine.connect() as connection:
                earlier = self._keyed(connection, session_id, key, by, vitals, measured_at)
            if earlier is not None:
                return earlier
            raise

    @contextmanager
    def group(self) -> Iterator[Group]:
        """One write transaction for several readings (a batch's group of lines): each
        :meth:`Group.record` saves one in a savepoint of its own, so that a refused reading
        refuses only itself; all are committed on leaving, or none if the group fails (a
        database error). Nothing saved in a group is to be acknowledged before it commits.
        The check each reading served is judged once for the group, just before it commits
        (:meth:`Group.record`). On SQLite the group holds the write lock: keep it short
        (docs/interface.md, "Batch entry")."""
        try:
            with self._plain_action() as connection:
                group = Group(self, connection)
                yield group
                group.judge()
        except BaseException:
            self._judged.clear()  # what a failed group judged was not saved
            raise

    def _keyed(
        self,
        connection: Connection,
        session_id: int,
        key: str,
        by: str,
        vitals: Vitals,
        given: Given,
    ) -> Recorded | None:
        """The reading saved with ``key`` if this request is its retry; ``None`` if the key
        is new; refused if the key holds another reading (:func:`~.keys.saved_under`). The
        answer to a retry is the reading as the session's full read shows it now
        (:func:`~.keys.answered_again`)."""
        found = saved_under(connection, key, session_id, by, vitals, given)
        if found is None:
            return None
        reading, served = answered_again(self, connection, session_id, found)
        label = served.checks[0].label if served.checks else None
        return Recorded(replace(reading, served_check=label), False, served)

    def _observations(
        self, connection: Connection, session_id: int, after: int | None = None
    ) -> list[Observation]:
        """The session's readings as this transaction sees them (those after the id
        ``after`` if given), with their voids and medium/high BP flags (what the checks and
        rechecks need), in one statement."""
        seen: dict[int, Any] = {}
        flags: dict[int, list[RecordedFlag]] = {}
        statement, given = (
            (sql.FOR_CHECKS, {}) if after is None else (sql.FOR_CHECKS_AFTER, {"after": after})
        )
        for found in connection.execute(statement, {"session_id": session_id, **given}):
            if found.id not in seen:
                seen[found.id] = found
                flags[found.id] = []
            if found.flag_measure is not None:
                flag = Flag(found.flag_measure, Severity(found.flag_severity), found.flag_rule, "")
                flags[found.id].append(RecordedFlag(flag))
        return [
            Observation(
                found.id,
                found.measured_at,
                Vitals(*found[sql.VALUES]),
                tuple(flags[found.id]),
                in_force=not (found.voided or found.superseded or found.awaits_validation),
                voided=bool(found.voided),
                corrects=found.corrects_id,
            )
            for found in seen.values()
        ]

    def _judged_readings(self, connection: Connection, session_id: int) -> list[Observation]:
        """The session's readings for a group's judgement: read in full the first time, then
        only those saved since, while nothing older changed (:data:`.recording_sql.MARKS`);
        else in full again."""
        seen = self._judged.get(session_id)
        readings: dict[int, Observation] = {}
        if seen is not None and seen.marks == self._marks(connection, session_id, seen.last):
            readings = seen.readings
            new = self._observations(connection, session_id, after=seen.last)
        else:
            new = self._observations(connection, session_id)
        readings.update((o.id, o) for o in new)
        for correction in new:  # a correction made since supersedes a reading read before
            old = readings.get(correction.corrects or 0)
            if old is not None and old.in_force:
                readings[old.id] = replace(old, in_force=False)
        last = max(readings, default=0)
        self._judged[session_id] = _Seen(readings, last, self._marks(connection, session_id, last))
        return list(readings.values())

    @staticmethod
    def _marks(connection: Connection, session_id: int, last: int) -> tuple[Any, ...]:
        return tuple(connection.execute(sql.MARKS, {"session_id": session_id, "last": last}).one())

    def _states(
        self, row: Any, readings: list[Observation], now: datetime, windows: Windows
    ) -> list[CheckState]:
        """The session's checks judged at ``now`` (a discharged session's as its closed
        record keeps them: a late entry after discharge)."""
        schedule = self.schedule_of(row)
        ended = row.discharged_at
        judged = now if ended is None else min(now, ended)
        states = check_states(schedule, row.dosed_at, readings, judged, windows)
        if ended is not None:
            states = at_discharge(states, ended_early=ends_early(schedule, row.dosed_at, ended))
        return states

    def _explained(self, connection: Connection, session_id: int, served: Served) -> Served:
        """``served`` without the checks not done whose reason is recorded (read only when a
        check before the reading is not done)."""
        if not served.not_done:
            return served
        skipped = set(connection.execute(sql.SKIPPED, {"session_id": session_id}).scalars())
        return Served(served.checks, tuple(c for c in served.not_done if c.label not in skipped))

    def _served(
        self, connection: Connection, row: Any, reading: ReadingView, now: datetime
    ) -> Served:
        """Which check ``reading`` (just saved) served and which checks before it remain not
        done, judged at ``now`` over the session's readings as this transaction sees them."""
        windows = self.rules_in_force(connection)[1].windows
        states = self._states(row, self._observations(connection, row.id), now, windows)
        return self._explained(
            connection, row.id, served_by_reading(states, reading.id, reading.measured_at)
        )

    def _prepare(
        self, connection: Connection, session_id: int, by: str, measured_at: Given
    ) -> _Prepared:
        """The session's row (locked on PostgreSQL), the acting user, the save's clock and the
        measurement time, refused as a reading there would be."""
        # The row lock (PostgreSQL) orders this reading against a discharge in progress.
        statement = (
            sql.SESSION_FOR_READING_SERVER_CLOCK if self._server_clock else sql.SESSION_FOR_READING
        )
        row = connection.execute(statement, {"session_id": session_id, "name": by}).first()
        if row is None:
            self._actor(connection, by)  # an unknown or disabled user is refused as such
            raise NotFound(f"no session {session_id}: see `monitor session list`")
        if row.user_disabled_at is not None:
            raise PermissionDenied(f"user '{by}' is disabled")
        user = _Actor(row.user_id, row.user_name, row.user_role)
        self._prove(connection, by)
        now = row.server_now.astimezone(UTC) if self._server_clock else self.now()
        when = given_at(measured_at, now)
        if row.discharged_at is not None:
            # A reading measured before the discharge may still be entered (a late entry
            # from paper), marked as entered after discharge; never into a signed record.
            self._refuse_if_signed(connection, session_id, "reading")
        check_measured_at(when, now, row.started_at, row.discharged_at)
        return _Prepared(row, user, now, when)

    def _save(
        self,
        connection: Connection,
        prepared: _Prepared,
        vitals: Vitals,
        key: str | None,
        device: tuple[int, str] | None = None,
    ) -> ReadingView:
        """Save the reading with its flags and audit row (not yet judged for the checks)."""
        row, user, now, when = prepared
        reading = self._save_reading(
            connection, row, user, vitals, when, now, key=key, device=device
        )
        sent = {"device": device[1]} if device else {}
        self._audit(
            connection,
            now,
            user,
            "reading.device" if device else "reading.record",
            "reading",
            reading.id,
            session_id=row.id,
            after={"measured_at": when.isoformat(), **vitals.as_dict(), **sent},
        )
        return reading

    def _record(
        self,
        connection: Connection,
        session_id: int,
        vitals: Vitals,
        by: str,
        measured_at: Given,
        key: str | None,
        device: tuple[int, str] | None = None,
    ) -> Recorded:
        """Save one reading with its flags and audit row on ``connection``, in its write
        transaction, and judge which check it served."""
        prepared = self._prepare(connection, session_id, by, measured_at)
        reading = self._save(connection, prepared, vitals, key, device)
        if device is not None:  # awaiting a nurse's validation, it serves no check yet
            return _answer(reading, Served((), ()))
        served = self._served(connection, prepared.row, reading, prepared.now)
        return _answer(reading, served)


def _answer(reading: ReadingView, served: Served) -> Recorded:
    label = served.checks[0].label if served.checks else None
    return Recorded(replace(reading, served_check=label), True, served)


class _Prepared(NamedTuple):
    row: Any
    user: _Actor
    now: datetime
    when: datetime


class _Seen(NamedTuple):
    """A session's readings as a batch last judged them, and their marks then."""

    readings: dict[int, Observation]
    last: int
    marks: tuple[Any, ...]


class _Pending(NamedTuple):
    """A reading saved in a group, not judged yet: its place in the group's results."""

    place: int
    reading: ReadingView
    row: Any
    now: datetime


class Group:
    """Readings saved in one write transaction (:meth:`RecordServices.group`).

    Which check each reading served is judged once for the group, over the session's readings
    as they stand when the group ends, not once a reading (the session's whole list read and
    judged at every line made a long batch slow with its length). The answer is the same: the
    checks a reading served depend only on the readings measured before it, and a reading
    measured before one saved earlier in the group first has those judged
    (:meth:`record`). The checks not done before it are those at the group's end.
    """

    def __init__(self, services: RecordServices, connection: Connection) -> None:
        self._services = services
        self._connection = connection
        #: Each reading asked for, in order; complete once the group has ended.
        self.recorded: list[Recorded | None] = []
        self._pending: dict[int, list[_Pending]] = {}

    def record(
        self,
        session_id: int,
        entry: str | Vitals,
        *,
        by: str,
        measured_at: Given = None,
        key: str | None = None,
    ) -> int:
        """:meth:`RecordServices.record_reading_once` in this group's transaction, in a
        savepoint of its own: refused (an error raised), it leaves the group's other
        readings as they are. Returns its place in :attr:`recorded`, which holds its
        :class:`Recorded` once the group has ended. Saved only once the group commits."""
        services, connection = self._services, self._connection
        vitals = _vitals(entry)
        if key is not None:
            check_key(key)
            earlier = services._keyed(connection, session_id, key, by, vitals, measured_at)
            if earlier is not None:
                return self._add(earlier)
        try:
            with connection.begin_nested():
                prepared = services._prepare(connection, session_id, by, measured_at)
                pending = self._pending.get(session_id, [])
                if any(p.reading.measured_at > prepared.when for p in pending):
                    self._judge(session_id)  # as they stood before this earlier reading
                reading = services._save(connection, prepared, vitals, key)
        except IntegrityError:
            # Another save with this key won the race (PostgreSQL: it committed while this
            # one waited on the key's index): it is the reading, if it is this one.
            if key is not None:
                earlier = services._keyed(connection, session_id, key, by, vitals, measured_at)
                if earlier is not None:
                    return self._add(earlier)
            raise
        index = self._add(None)
        self._pending.setdefault(session_id, []).append(
            _Pending(index, reading, prepared.row, prepared.now)
        )
        return index

    def _add(self, recorded: Recorded | None) -> int:
        self.recorded.append(recorded)
        return len(self.recorded) - 1

    def judge(self) -> None:
        """Judge the readings saved in the group and not judged yet (the group ends)."""
        for session_id in list(self._pending):
            self._judge(session_id)

    def _judge(self, session_id: int) -> None:
        pending = self._pending.pop(session_id, [])
        if not pending:
            return
        services, connection = self._services, self._connection
        row = pending[-1].row
        now = max(p.now for p in pending)
        windows = services.rules_in_force(connection)[1].windows
        readings = services._judged_readings(connection, session_id)
        states = services._states(row, readings, now, windows)
        for saved in pending:
            reading = saved.reading
            served = services._explained(
                connection, session_id, served_by_reading(states, reading.id, reading.measured_at)
            )
            self.recorded[saved.place] = _answer(reading, served)
