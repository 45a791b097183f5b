"""Saving a reading: the hot path, on SQLAlchemy Core alone (docs/architecture.md, "Start-up").

:class:`RecordServices` is what ``monitor record`` opens: saving readings with their flags,
their audit rows and the check each served, the PIN check (:mod:`.signin`) and the rules in
force (:mod:`.config`) they need, and nothing else; :class:`~monitor.services.readings.\
ReadingServices` (correcting, voiding) and so the whole :class:`~monitor.services.Service`
include it, so the station, the command line and a batch save a reading the one same way.
Its statements are built once on the tables (:mod:`monitor.store.tables`), so that
SQLAlchemy's compiled cache serves them and the ORM is never imported for a save (issue #23).

A batch (``record --stdin``) saves its lines in groups (:meth:`RecordServices.group`): one
transaction for several readings, each in a savepoint of its own, so that a busy disk costs one
sync per group and a refused line refuses only itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, exists, func, select, true
from sqlalchemy.exc import IntegrityError

from monitor.core.entry import parse_entry
from monitor.core.observations import Observation, RecordedFlag
from monitor.core.rules import Flag, Severity, evaluate, rise_flags
from monitor.core.schedule import at_discharge, check_states, ends_early
from monitor.core.served import Served, served_by_reading
from monitor.core.timing import check_measured_at
from monitor.core.vitals import Vitals, validate_vitals
from monitor.errors import NotFound, PermissionDenied
from monitor.services.base import _Actor, connection_of
from monitor.services.config import ConfigServices
from monitor.services.keys import Given, answered_again, check_key, given_at, saved_under
from monitor.services.signin import SignInServices
from monitor.store import tables as t
from monitor.store.tables import MEASURE_COLUMNS
from monitor.store.types import UTCDateTime
from monitor.views import FlagView, ReadingView

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_READINGS = t.readings
_FLAGS = t.flags
_SESSIONS = t.treatment_sessions.c
_USERS = t.users.c
_VOIDS = t.voids.c
#: A reading that corrects another.
_NEWER = t.readings.alias("newer")

# Statements on the hot path, built once so SQLAlchemy's compiled cache serves them: a nurse's
# entry costs a few plain inserts, not ORM bookkeeping.
_INSERT_READING = _READINGS.insert().returning(_READINGS.c.id)
_INSERT_FLAGS = _FLAGS.insert().returning(_FLAGS.c.id, sort_by_parameter_order=True)
# The session's row and the acting user's, in one round trip: the user is read every time (a
# user disabled at another station stops acting here at once).
_SESSION_FOR_READING = (
    select(
        _SESSIONS.id,
        _SESSIONS.dosed_at,
        _SESSIONS.discharged_at,
        _SESSIONS.age,
        _SESSIONS.started_at,
        _SESSIONS.protocol,
        _SESSIONS.infusion_ended_at,
        _SESSIONS.config_version,
        _USERS.id.label("user_id"),
        _USERS.name.label("user_name"),
        _USERS.role.label("user_role"),
        _USERS.disabled_at.label("user_disabled_at"),
    )
    .select_from(t.treatment_sessions.join(t.users, true()))
    .where(_SESSIONS.id == bindparam("session_id"))
    .where(_USERS.name == bindparam("name"))
    .with_for_update(of=t.treatment_sessions)
)
# On PostgreSQL "now" is the server's clock: read it with the session row, in the same round trip.
_SESSION_FOR_READING_SERVER_CLOCK = _SESSION_FOR_READING.add_columns(
    func.clock_timestamp().label("server_now")
)
_BASELINE = (
    select(*(_READINGS.c[name] for name in MEASURE_COLUMNS))
    .where(_READINGS.c.session_id == bindparam("session_id"))
    .where(_READINGS.c.measured_at <= bindparam("dosed_at", type_=UTCDateTime()))
    .where(_READINGS.c.id != bindparam("excluding"))
    .where(~exists().where(_NEWER.c.corrects_id == _READINGS.c.id))
    .where(~exists().where(_VOIDS.reading_id == _READINGS.c.id))
    .order_by(_READINGS.c.measured_at, _READINGS.c.id)
)

# What a reading saved now served (docs/clinical.md, "Check windows and statuses"): the
# session's readings with their voids and medium/high BP flags (what the checks and rechecks
# need), in one statement, read in the save's own transaction.
_BP_FLAGS = _FLAGS.c.measure.in_(("systolic", "diastolic")) & _FLAGS.c.severity.in_(
    (Severity.MEDIUM.value, Severity.HIGH.value)
)
_FOR_CHECKS = (
    select(
        _READINGS.c.id,
        _READINGS.c.measured_at,
        _READINGS.c.corrects_id,
        *(_READINGS.c[name] for name in MEASURE_COLUMNS),
        exists().where(_VOIDS.reading_id == _READINGS.c.id).label("voided"),
        exists().where(_NEWER.c.corrects_id == _READINGS.c.id).label("superseded"),
        _FLAGS.c.measure.label("flag_measure"),
        _FLAGS.c.severity.label("flag_severity"),
        _FLAGS.c.rule.label("flag_rule"),
    )
    .select_from(_READINGS.outerjoin(_FLAGS, (_FLAGS.c.reading_id == _READINGS.c.id) & _BP_FLAGS))
    .where(_READINGS.c.session_id == bindparam("session_id"))
    .order_by(_READINGS.c.measured_at, _READINGS.c.id)
)
_SKIPPED = select(t.check_skips.c.label).where(
    t.check_skips.c.session_id == bindparam("session_id")
)


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

    @staticmethod
    def _baseline(session: Session | Connection, row: Any, excluding: int | None = None) -> Vitals:
        """The latest pre-dose value of each measure, from readings in force."""
        if row.dosed_at is None:
            return Vitals()
        values = connection_of(session).execute(
            _BASELINE,
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
            _INSERT_READING,
            {
                "session_id": row.id,
                "measured_at": measured_at,
                "recorded_at": now,
                "recorded_by_id": user.id,
                "before_dosing": before,
                "corrects_id": corrects.id if corrects else None,
                "reason": reason,
                "client_key": key,
                **vitals.as_dict(),
            },
        ).scalar_one()
        flag_ids: list[int] = []
        if flags:
            flag_ids = list(
                connection.execute(
                    _INSERT_FLAGS,
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
            select(_READINGS.c.id, *(_READINGS.c[name] for name in MEASURE_COLUMNS))
            .where(_READINGS.c.session_id == row.id)
            .where(_READINGS.c.measured_at > row.dosed_at)
            .where(~exists().where(_NEWER.c.corrects_id == _READINGS.c.id))
            .where(~exists().where(_VOIDS.reading_id == _READINGS.c.id))
            .order_by(_READINGS.c.measured_at, _READINGS.c.id)
        ).all()
        if not after:
            return []
        carried = {
            (found.reading_id, found.rule)
            for found in connection.execute(
                select(_FLAGS.c.reading_id, _FLAGS.c.rule).where(
                    _FLAGS.c.reading_id.in_([r.id for r in after])
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
        return list(connection.execute(_INSERT_FLAGS, raised).scalars())

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
        On SQLite the group holds the write lock: keep it short (docs/interface.md, "Batch
        entry")."""
        with self._plain_action() as connection:
            yield Group(self, connection)

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

    def _served(
        self, connection: Connection, row: Any, reading: ReadingView, now: datetime
    ) -> Served:
        """Which check ``reading`` (just saved) served and which checks before it remain not
        done, judged at ``now`` over the session's readings as this transaction sees them: one
        statement for the readings, another for the reasons recorded only when a check before
        it is not done."""
        seen: dict[int, Observation] = {}
        flags: dict[int, list[RecordedFlag]] = {}
        for found in connection.execute(_FOR_CHECKS, {"session_id": row.id}):
            if found.id not in seen:
                seen[found.id] = Observation(
                    found.id,
                    found.measured_at,
                    Vitals(**{name: getattr(found, name) for name in MEASURE_COLUMNS}),
                    in_force=not (found.voided or found.superseded),
                    voided=bool(found.voided),
                    corrects=found.corrects_id,
                )
                flags[found.id] = []
            if found.flag_measure is not None:
                flag = Flag(found.flag_measure, Severity(found.flag_severity), found.flag_rule, "")
                flags[found.id].append(RecordedFlag(flag))
        readings = [replace(o, flags=tuple(flags[i])) for i, o in seen.items()]
        schedule = self.schedule_of(row)
        ended = row.discharged_at
        judged = now if ended is None else min(now, ended)
        windows = self.rules_in_force(connection)[1].windows
        states = check_states(schedule, row.dosed_at, readings, judged, windows)
        if ended is not None:  # a late entry after discharge: the closed record's checks
            states = at_discharge(states, ended_early=ends_early(schedule, row.dosed_at, ended))
        served = served_by_reading(states, reading.id, reading.measured_at)
        if served.not_done:
            skipped = set(connection.execute(_SKIPPED, {"session_id": row.id}).scalars())
            served = Served(
                served.checks, tuple(c for c in served.not_done if c.label not in skipped)
            )
        return served

    def _record(
        self,
        connection: Connection,
        session_id: int,
        vitals: Vitals,
        by: str,
        measured_at: Given,
        key: str | None,
    ) -> Recorded:
        """Save one reading with its flags and audit row on ``connection``, in its write
        transaction (one of its own, or a savepoint of a group)."""
        # The row lock (PostgreSQL) orders this reading against a discharge in progress.
        statement = (
            _SESSION_FOR_READING_SERVER_CLOCK if self._server_clock else _SESSION_FOR_READING
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
        reading = self._save_reading(connection, row, user, vitals, when, now, key=key)
        self._audit(
            connection,
            now,
            user,
            "reading.record",
            "reading",
            reading.id,
            session_id=row.id,
            after={"measured_at": when.isoformat(), **vitals.as_dict()},
        )
        served = self._served(connection, row, reading, now)
        label = served.checks[0].label if served.checks else None
        return Recorded(replace(reading, served_check=label), True, served)


class Group:
    """Readings saved in one write transaction (:meth:`RecordServices.group`)."""

    def __init__(self, services: RecordServices, connection: Connection) -> None:
        self._services = services
        self._connection = connection

    def record(
        self,
        session_id: int,
        entry: str | Vitals,
        *,
        by: str,
        measured_at: Given = None,
        key: str | None = None,
    ) -> Recorded:
        """:meth:`RecordServices.record_reading_once` in this group's transaction, in a
        savepoint of its own: refused (an error raised), it leaves the group's other
        readings as they are. Saved only once the group commits."""
        services, connection = self._services, self._connection
        vitals = _vitals(entry)
        if key is not None:
            check_key(key)
            earlier = services._keyed(connection, session_id, key, by, vitals, measured_at)
            if earlier is not None:
                return earlier
        try:
            with connection.begin_nested():
                return services._record(connection, session_id, vitals, by, measured_at, key)
        except IntegrityError:
            # Another save with this key won the race (PostgreSQL: it committed while this
            # one waited on the key's index): it is the reading, if it is this one.
            if key is not None:
                earlier = services._keyed(connection, session_id, key, by, vitals, measured_at)
                if earlier is not None:
                    return earlier
            raise
