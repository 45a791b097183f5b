"""Readings: recording one, correcting or voiding one, and the flags judged as each is saved.

Readings are never updated or deleted: a correction is a new reading that supersedes the
original; a void ("entered in error") is a row beside it. Neither clears the original's flags.
Recording a reading is the hot path, so its statements are built once here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, exists, func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from monitor.core.entry import parse_entry
from monitor.core.observations import Observation, RecordedFlag
from monitor.core.review import change_refusal
from monitor.core.rules import Flag, Severity, evaluate, rise_flags
from monitor.core.schedule import at_discharge, check_states, ends_early
from monitor.core.served import Served, served_by_reading
from monitor.core.timing import check_measured_at
from monitor.core.vitals import Vitals, validate_vitals
from monitor.errors import EntryError, NotFound, PermissionDenied
from monitor.services.base import _Actor, _vitals_of, clean_text, connection_of
from monitor.services.keys import Given, check_key, given_at, saved_under
from monitor.services.queries import QueryServices
from monitor.store import models as m
from monitor.store.types import UTCDateTime
from monitor.views import FlagView, ReadingView

# Built once: a reading that corrects another.
_NEWER = aliased(m.Reading)

# Statements on the hot path (recording a reading), built once so SQLAlchemy's compiled cache
# serves them: a nurse's entry costs a few plain inserts, not ORM bookkeeping.
_READINGS = cast(Table, m.Reading.__table__)
_FLAGS = cast(Table, m.Flag.__table__)
_INSERT_READING = _READINGS.insert().returning(_READINGS.c.id)
_INSERT_FLAGS = _FLAGS.insert().returning(_FLAGS.c.id, sort_by_parameter_order=True)
# The session's row and the acting user's, in one round trip: the user is read every time (a
# user disabled at another station stops acting here at once).
_SESSION_FOR_READING = (
    select(
        m.TreatmentSession.id,
        m.TreatmentSession.dosed_at,
        m.TreatmentSession.discharged_at,
        m.TreatmentSession.age,
        m.TreatmentSession.started_at,
        m.TreatmentSession.protocol,
        m.TreatmentSession.infusion_ended_at,
        m.TreatmentSession.config_version,
        m.User.id.label("user_id"),
        m.User.name.label("user_name"),
        m.User.role.label("user_role"),
        m.User.disabled_at.label("user_disabled_at"),
    )
    .select_from(m.TreatmentSession)
    .join(m.User, true())
    .where(m.TreatmentSession.id == bindparam("session_id"))
    .where(m.User.name == bindparam("name"))
    .with_for_update(of=m.TreatmentSession)
)
# On PostgreSQL "now" is the server's clock: read it with the session row, in the same round trip.
_SESSION_FOR_READING_SERVER_CLOCK = _SESSION_FOR_READING.add_columns(
    func.clock_timestamp().label("server_now")
)
_BASELINE = (
    select(*(_READINGS.c[name] for name in m.MEASURE_COLUMNS))
    .where(_READINGS.c.session_id == bindparam("session_id"))
    .where(_READINGS.c.measured_at <= bindparam("dosed_at", type_=UTCDateTime()))
    .where(_READINGS.c.id != bindparam("excluding"))
    .where(~exists().where(_NEWER.corrects_id == _READINGS.c.id))
    .where(~exists().where(m.Void.reading_id == _READINGS.c.id))
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
        *(_READINGS.c[name] for name in m.MEASURE_COLUMNS),
        exists().where(m.Void.reading_id == _READINGS.c.id).label("voided"),
        exists().where(_NEWER.corrects_id == _READINGS.c.id).label("superseded"),
        _FLAGS.c.measure.label("flag_measure"),
        _FLAGS.c.severity.label("flag_severity"),
        _FLAGS.c.rule.label("flag_rule"),
    )
    .select_from(_READINGS.outerjoin(_FLAGS, (_FLAGS.c.reading_id == _READINGS.c.id) & _BP_FLAGS))
    .where(_READINGS.c.session_id == bindparam("session_id"))
    .order_by(_READINGS.c.measured_at, _READINGS.c.id)
)
_SKIPPED = select(m.CheckSkipRow.label).where(m.CheckSkipRow.session_id == bindparam("session_id"))


@dataclass(frozen=True)
class Recorded:
    """A reading asked to be saved, whether this call saved it (``False``: a save with the
    same key had saved it before), and which check it served and which checks before it
    remain not done (``served``; its ``served_check`` is on the reading)."""

    reading: ReadingView
    saved_now: bool
    served: Served | None = None


class ReadingServices(QueryServices):
    """Recording and correcting readings."""

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
                {k: v for k, v in zip(m.MEASURE_COLUMNS, found, strict=True) if v is not None}
            )
        return Vitals(**baseline)

    def _save_reading(
        self,
        session: Session | Connection,
        row: m.TreatmentSession | Any,
        user: m.User | _Actor,
        vitals: Vitals,
        measured_at: datetime,
        now: datetime,
        *,
        corrects: m.Reading | None = None,
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
            select(_READINGS.c.id, *(_READINGS.c[name] for name in m.MEASURE_COLUMNS))
            .where(_READINGS.c.session_id == row.id)
            .where(_READINGS.c.measured_at > row.dosed_at)
            .where(~exists().where(_NEWER.corrects_id == _READINGS.c.id))
            .where(~exists().where(m.Void.reading_id == _READINGS.c.id))
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
            vitals = Vitals(**dict(zip(m.MEASURE_COLUMNS, reading[1:], strict=True)))
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
        vitals = parse_entry(entry) if isinstance(entry, str) else validate_vitals(entry)
        if key is None:
            return self._record(session_id, vitals, by, measured_at, key)
        check_key(key)
        if (earlier := self._keyed(session_id, key, by, vitals, measured_at)) is not None:
            return earlier
        try:
            return self._record(session_id, vitals, by, measured_at, key)
        except IntegrityError:
            # Another save with this key won the race: it is the reading, if it is this one.
            if (earlier := self._keyed(session_id, key, by, vitals, measured_at)) is not None:
                return earlier
            raise

    def _keyed(
        self, session_id: int, key: str, by: str, vitals: Vitals, given: Given
    ) -> Recorded | None:
        """The reading saved with ``key`` if this request is its retry; ``None`` if the key
        is new; refused if the key holds another reading (:func:`~.keys.saved_under`)."""
        with self.engine.connect() as connection:
            found = saved_under(connection, key, session_id, by, vitals, given)
        if found is None:
            return None
        with self._read() as session:
            row = self._session_row(session, session_id)
            view = self._views(session, [row])[0]
            reading = view.reading(found)
            assert reading is not None
            served = served_by_reading(view.checks, reading.id, reading.measured_at)
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
                    Vitals(**{name: getattr(found, name) for name in m.MEASURE_COLUMNS}),
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
        states = check_states(schedule, row.dosed_at, readings, judged, self.config.windows)
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
        session_id: int,
        vitals: Vitals,
        by: str,
        measured_at: Given,
        key: str | None,
    ) -> Recorded:
        with self._plain_action() as session:
            # The row lock (PostgreSQL) orders this reading against a discharge in progress.
            statement = (
                _SESSION_FOR_READING_SERVER_CLOCK if self._server_clock else _SESSION_FOR_READING
            )
            row = session.execute(statement, {"session_id": session_id, "name": by}).first()
            if row is None:
                self._actor(session, by)  # an unknown or disabled user is refused as such
                raise NotFound(f"no session {session_id}: see `monitor session list`")
            if row.user_disabled_at is not None:
                raise PermissionDenied(f"user '{by}' is disabled")
            user = _Actor(row.user_id, row.user_name, row.user_role)
            self._prove(session, by)
            now = row.server_now.astimezone(UTC) if self._server_clock else self.now()
            when = given_at(measured_at, now)
            if row.discharged_at is not None:
                # A reading measured before the discharge may still be entered (a late entry
                # from paper), marked as entered after discharge; never into a signed record.
                self._refuse_if_signed(session, session_id, "reading")
            check_measured_at(when, now, row.started_at, row.discharged_at)
            reading = self._save_reading(session, row, user, vitals, when, now, key=key)
            self._audit(
                session,
                now,
                user,
                "reading.record",
                "reading",
                reading.id,
                session_id=row.id,
                after={"measured_at": when.isoformat(), **vitals.as_dict()},
            )
            served = self._served(session, row, reading, now)
            label = served.checks[0].label if served.checks else None
            return Recorded(replace(reading, served_check=label), True, served)

    def _correctable(
        self, session: Session, reading_id: int, by: str, what: str
    ) -> tuple[m.User, m.Reading, m.TreatmentSession]:
        """The user, the reading in force and its session, if this user may correct it now:
        a nurse only readings they recorded, a supervisor any; never after sign-off."""
        user = self._user(session, by)
        original = session.get(m.Reading, reading_id)
        if original is None:
            raise NotFound(f"no reading {reading_id}")
        row = self._session_row(session, original.session_id, lock=True)
        newer = session.scalar(select(m.Reading.id).where(m.Reading.corrects_id == reading_id))
        voided = session.scalar(select(m.Void.id).where(m.Void.reading_id == reading_id))
        refusal = change_refusal(
            reading_id,
            what,
            user=user.name,
            role=user.role,
            recorded_it=original.recorded_by_id == user.id,
            superseded_by=newer,
            voided=voided is not None,
            session_id=row.id,
            signed=self._signed(session, row.id),
            discharged=row.discharged_at is not None,
        )
        if refusal is not None:
            raise refusal.error()
        return user, original, row

    def amend(
        self,
        reading_id: int,
        entry: str | Vitals,
        *,
        by: str,
        reason: str,
        at: datetime | None = None,
        replace: bool = False,
    ) -> ReadingView:
        """Correct a reading: a new reading supersedes it; the original stays, with its flags
        (a correction never clears an alarm).

        The entry gives the corrected measures; measures it does not name keep the original's
        values, unless ``replace`` (the entry is the whole reading). ``at`` corrects the
        measurement time. A nurse corrects only readings they recorded; a supervisor any;
        nobody after sign-off.
        """
        why = clean_text(reason, "a correction's reason (--reason)")
        given = parse_entry(entry) if isinstance(entry, str) else validate_vitals(entry)
        now = self.now()
        with self._action() as session:
            user, original, row = self._correctable(session, reading_id, by, "amend")
            old = _vitals_of(original)
            if replace:
                merged = given
            else:
                merged = Vitals(
                    **{
                        **old.as_dict(),
                        **{k: v for k, v in given.as_dict().items() if v is not None},
                    }
                )
            validate_vitals(merged)
            when = original.measured_at if at is None else self._utc(at, now)
            check_measured_at(when, now, row.started_at, row.discharged_at)
            if row.dosed_at is not None and (when <= row.dosed_at) != (
                original.measured_at <= row.dosed_at
            ):
                raise EntryError(
                    "a correction may not move a reading across the dosing time (it was judged "
                    "as before or after dosing): void it and record it again"
                )
            reading = self._save_reading(
                session, row, user, merged, when, now, corrects=original, reason=why
            )
            self._audit(
                session,
                now,
                user,
                "reading.amend",
                "reading",
                reading.id,
                session_id=row.id,
                before={
                    "reading": original.id,
                    "measured_at": original.measured_at.isoformat(),
                    **old.as_dict(),
                },
                after={"reading": reading.id, "measured_at": when.isoformat(), **merged.as_dict()},
                reason=why,
            )
            return reading

    def void(self, reading_id: int, *, by: str, reason: str) -> ReadingView:
        """Void a reading ("entered in error", e.g. the wrong patient): it stays, struck
        through, and serves no check and no value; its open flags are acknowledged with the
        reason. The same permissions as :meth:`amend`."""
        why = clean_text(reason, "the reason for voiding (--reason)")
        assert why is not None
        now = self.now()
        with self._action() as session:
            user, original, row = self._correctable(session, reading_id, by, "void")
            session.add(m.Void(reading_id=original.id, by_id=user.id, at=now, reason=why))
            acknowledged = []
            for flag in session.scalars(
                select(m.Flag)
                .outerjoin(m.Acknowledgement, m.Acknowledgement.flag_id == m.Flag.id)
                .where(m.Flag.reading_id == original.id, m.Acknowledgement.id.is_(None))
                .order_by(m.Flag.id)
            ):
                session.add(
                    m.Acknowledgement(
                        flag_id=flag.id, by_id=user.id, at=now, action=f"voided: {why}"
                    )
                )
                acknowledged.append(flag.id)
            raised: list[int] = []
            if row.dosed_at is not None and original.measured_at <= row.dosed_at:
                session.flush()
                raised = self._rejudge_rise(session, row, now)
            self._audit(
                session,
                now,
                user,
                "reading.void",
                "reading",
                original.id,
                session_id=row.id,
                before={"reading": original.id, **_vitals_of(original).as_dict()},
                after={
                    "voided": True,
                    "acknowledged_flags": acknowledged,
                    "flags_raised_by_baseline_change": raised,
                },
                reason=why,
            )
            session.flush()
            view = self._views(session, [row], as_of=now)[0].reading(original.id)
            assert view is not None
            return view
