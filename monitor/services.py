"""The services: the one way data changes, for the TUI, the command line and the exports.

Every user action is one transaction with its audit row in it; reads return plain dataclasses
(:mod:`monitor.views`). Readings are never updated or deleted: a correction is a new reading.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, bindparam, exists, select
from sqlalchemy.orm import Session, aliased

from monitor.core.config import ClinicConfig
from monitor.core.entry import parse_entry
from monitor.core.gate import evaluate_gate, ready_to_leave_minute
from monitor.core.observations import Observation, RecordedFlag
from monitor.core.rules import Flag as CoreFlag
from monitor.core.rules import Severity, evaluate
from monitor.core.schedule import check_states
from monitor.core.vitals import Measure, Vitals, validate_measured_at, validate_vitals
from monitor.errors import EntryError, GateNotMet, NotFound, PermissionDenied, Refused
from monitor.pins import hash_pin, validate_pin, verify_pin
from monitor.store import models as m
from monitor.store.engine import make_engine, writer
from monitor.store.migrate import ensure_schema
from monitor.store.types import UTCDateTime
from monitor.views import (
    AuditView,
    FlagView,
    ReadingView,
    SessionSummary,
    SessionView,
    UserView,
)

Clock = Callable[[], datetime]
# Built once: a reading that corrects another, and the user who acknowledged a flag.
_NEWER = aliased(m.Reading)
_ACKER = aliased(m.User)

# Statements on the hot path (recording a reading), built once so SQLAlchemy's compiled cache
# serves them: a nurse's entry costs a few plain inserts, not ORM bookkeeping.
_READINGS = cast(Table, m.Reading.__table__)
_FLAGS = cast(Table, m.Flag.__table__)
_INSERT_READING = _READINGS.insert().returning(_READINGS.c.id)
_INSERT_FLAGS = _FLAGS.insert().returning(_FLAGS.c.id, sort_by_parameter_order=True)
_INSERT_AUDIT = cast(Table, m.AuditEntry.__table__).insert()
_SESSION_FOR_READING = (
    select(
        m.TreatmentSession.id,
        m.TreatmentSession.dosed_at,
        m.TreatmentSession.discharged_at,
        m.TreatmentSession.age,
    )
    .where(m.TreatmentSession.id == bindparam("session_id"))
    .with_for_update()
)
_BASELINE = (
    select(*(_READINGS.c[name] for name in m.MEASURE_COLUMNS))
    .where(_READINGS.c.session_id == bindparam("session_id"))
    .where(_READINGS.c.measured_at <= bindparam("dosed_at", type_=UTCDateTime()))
    .where(_READINGS.c.id != bindparam("excluding"))
    .where(~exists().where(_NEWER.corrects_id == _READINGS.c.id))
    .order_by(_READINGS.c.measured_at, _READINGS.c.id)
)
ROLES = ("nurse", "supervisor")


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


def _dump(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def _vitals_of(row: m.Reading) -> Vitals:
    return Vitals(**{measure.value: getattr(row, measure.value) for measure in Measure})


def _flag_view(
    flag: m.Flag, acknowledged_at: datetime | None, by: str | None, action: str | None
) -> FlagView:
    return FlagView(
        flag.id,
        flag.reading_id,
        flag.measure,
        Severity(flag.severity),
        flag.rule,
        flag.message,
        acknowledged_at,
        by,
        action,
    )


@dataclass(frozen=True)
class _Actor:
    """Who is acting: users are never changed or removed, so this may be cached."""

    id: int
    name: str
    role: str


@dataclass(frozen=True)
class _Loaded:
    """Rows of one or more sessions, loaded with a fixed number of queries."""

    readings: dict[int, list[m.Reading]]
    flags: dict[int, list[tuple[m.Flag, m.Acknowledgement | None, str | None]]]
    superseded_by: dict[int, int]
    users: dict[int, str]


class Service:
    """Everything a nurse or supervisor can do, on one database."""

    def __init__(self, engine: Engine, config: ClinicConfig | None = None, clock: Clock = utc_now):
        self.engine = engine
        self.write_engine = writer(engine)
        self.config = config or ClinicConfig()
        self.clock = clock
        self._actors: dict[str, _Actor] = {}

    @classmethod
    def open(
        cls, db: str | None = None, config: ClinicConfig | None = None, clock: Clock = utc_now
    ) -> Service:
        """Open ``--db`` (URL, file path or the default), creating or refusing its schema."""
        engine = make_engine(db)
        ensure_schema(engine)
        return cls(engine, config, clock)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    # -- helpers -----------------------------------------------------------------------

    def now(self) -> datetime:
        """The service clock, always aware UTC."""
        return self.clock().astimezone(UTC)

    def _write(self) -> Session:
        return Session(self.write_engine, expire_on_commit=False)

    def _read(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @staticmethod
    def _user(session: Session, name: str) -> m.User:
        user = session.scalar(select(m.User).where(m.User.name == name))
        if user is None:
            raise NotFound(f"unknown user '{name}': add one with `monitor user add`")
        return user

    def _actor(self, session: Session, name: str) -> _Actor:
        actor = self._actors.get(name)
        if actor is None:
            user = self._user(session, name)
            actor = self._actors[name] = _Actor(user.id, user.name, user.role)
        return actor

    @staticmethod
    def _session_row(
        session: Session, session_id: int, *, lock: bool = False
    ) -> m.TreatmentSession:
        query = select(m.TreatmentSession).where(m.TreatmentSession.id == session_id)
        if lock:
            query = query.with_for_update(of=m.TreatmentSession)
        row = session.scalar(query)
        if row is None:
            raise NotFound(f"no session {session_id}: see `monitor session list`")
        return row

    @staticmethod
    def _audit(
        session: Session,
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
        session.connection().execute(
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

    def _check_time(self, when: datetime | None, now: datetime, what: str) -> datetime:
        if when is None:
            return now
        if when.tzinfo is None:
            raise ValueError(f"{what} must be timezone-aware")
        when = when.astimezone(UTC)
        try:
            return validate_measured_at(when, now)
        except EntryError:
            raise EntryError(
                f"{what} {when.isoformat(timespec='minutes')} is in the future: "
                "it may be at most 2 min ahead of now"
            ) from None

    # -- users -------------------------------------------------------------------------

    def add_user(self, name: str, role: str, pin: str, *, by: str | None = None) -> UserView:
        """Add a nurse or supervisor with a PIN (kept only as a scrypt hash)."""
        name = name.strip()
        if not name:
            raise EntryError("a user needs a name")
        if role not in ROLES:
            raise EntryError(f"role '{role}' is unknown: use nurse or supervisor")
        validate_pin(pin)
        now = self.now()
        with self._write() as session, session.begin():
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

    # -- sessions ----------------------------------------------------------------------

    def start_session(
        self,
        *,
        patient: str,
        protocol: str,
        by: str,
        dose_mg: float | None = None,
        age: int | None = None,
        bay: str | None = None,
        lot: str | None = None,
        dosed_at: datetime | None = None,
    ) -> int:
        """Open a session for a patient; returns its id."""
        patient = patient.strip()
        if not patient:
            raise EntryError("a session needs a patient identifier")
        chosen = self.config.protocol(protocol)
        if age is not None and not 0 <= age <= 130:
            raise EntryError(f"age {age} is impossible: accepted 0-130")
        if dose_mg is not None and not 0 < dose_mg <= 1000:
            raise EntryError(f"dose {dose_mg} mg is impossible: accepted above 0 up to 1000")
        if dose_mg is None and chosen.key.startswith("esketamine-"):
            dose_mg = float(chosen.key.rsplit("-", 1)[1])
        if bay is not None and self.config.bays and bay not in self.config.bays:
            raise EntryError(f"bay '{bay}' is unknown: use one of {', '.join(self.config.bays)}")
        now = self.now()
        if dosed_at is not None:
            dosed_at = self._check_time(dosed_at, now, "dosing time")
        with self._write() as session, session.begin():
            user = self._user(session, by)
            person = session.scalar(select(m.Patient).where(m.Patient.identifier == patient))
            if person is None:
                person = m.Patient(identifier=patient, created_at=now)
                session.add(person)
                session.flush()
            row = m.TreatmentSession(
                patient_id=person.id,
                protocol=chosen.key,
                dose_mg=dose_mg,
                lot=lot,
                age=age,
                bay=bay,
                started_at=now,
                started_by_id=user.id,
                dosed_at=dosed_at,
            )
            session.add(row)
            session.flush()
            self._audit(
                session,
                now,
                user,
                "session.start",
                "session",
                row.id,
                session_id=row.id,
                after={
                    "patient": patient,
                    "protocol": chosen.key,
                    "dose_mg": dose_mg,
                    "age": age,
                    "bay": bay,
                    "lot": lot,
                    "dosed_at": dosed_at.isoformat() if dosed_at else None,
                },
            )
            return row.id

    def record_dose(self, session_id: int, *, by: str, at: datetime | None = None) -> datetime:
        """Record when the dose was given (or the infusion started)."""
        now = self.now()
        dosed_at = self._check_time(at, now, "dosing time")
        with self._write() as session, session.begin():
            user = self._user(session, by)
            row = self._session_row(session, session_id, lock=True)
            if row.discharged_at is not None:
                raise Refused(f"session {session_id} is discharged")
            if row.dosed_at is not None:
                raise Refused(
                    f"session {session_id} was already dosed at {row.dosed_at.isoformat()}"
                )
            row.dosed_at = dosed_at
            self._audit(
                session,
                now,
                user,
                "session.dose",
                "session",
                row.id,
                session_id=row.id,
                before={"dosed_at": None},
                after={"dosed_at": dosed_at.isoformat()},
            )
            return dosed_at

    # -- readings ----------------------------------------------------------------------

    @staticmethod
    def _baseline(session: Session, row: Any, excluding: int | None = None) -> Vitals:
        """The latest pre-dose value of each measure, from readings in force."""
        if row.dosed_at is None:
            return Vitals()
        values = session.connection().execute(
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
        session: Session,
        row: m.TreatmentSession | Any,
        user: m.User | _Actor,
        vitals: Vitals,
        measured_at: datetime,
        now: datetime,
        *,
        corrects: m.Reading | None = None,
        reason: str | None = None,
    ) -> ReadingView:
        """Judge the flags as of now (the dosing time known now) and save reading and flags."""
        before = row.dosed_at is None or measured_at <= row.dosed_at
        baseline = (
            Vitals() if before else self._baseline(session, row, corrects.id if corrects else None)
        )
        flags = evaluate(
            vitals,
            before_dosing=before,
            age=row.age,
            baseline=baseline,
            thresholds=self.config.thresholds,
        )
        connection = session.connection()
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
                        }
                        for flag in flags
                    ],
                ).scalars()
            )
        return ReadingView(
            id=reading_id,
            session_id=row.id,
            measured_at=measured_at,
            recorded_at=now,
            recorded_by=user.name,
            vitals=vitals,
            before_dosing=before,
            flags=tuple(
                FlagView(fid, reading_id, f.measure, f.severity, f.rule, f.message)
                for fid, f in zip(flag_ids, flags, strict=True)
            ),
            corrects=corrects.id if corrects else None,
            reason=reason,
        )

    def record_reading(
        self,
        session_id: int,
        entry: str | Vitals,
        *,
        by: str,
        measured_at: datetime | None = None,
    ) -> ReadingView:
        """Parse, validate, flag and save one reading with its audit row, in one transaction."""
        vitals = parse_entry(entry) if isinstance(entry, str) else validate_vitals(entry)
        now = self.now()
        when = self._check_time(measured_at, now, "measurement time")
        with self._write() as session, session.begin():
            user = self._actor(session, by)
            # The row lock (PostgreSQL) orders this reading against a discharge in progress.
            row = (
                session.connection()
                .execute(_SESSION_FOR_READING, {"session_id": session_id})
                .first()
            )
            if row is None:
                raise NotFound(f"no session {session_id}: see `monitor session list`")
            if row.discharged_at is not None:
                raise Refused(f"session {session_id} is discharged: no more readings")
            reading = self._save_reading(session, row, user, vitals, when, now)
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
            return reading

    def amend(self, reading_id: int, entry: str | Vitals, *, by: str, reason: str) -> ReadingView:
        """Correct a reading: a new reading supersedes it; the original stays.

        The entry gives the corrected measures; measures it does not name keep the original's
        values. A nurse corrects only readings they recorded, before sign-off; a supervisor any.
        """
        if not reason or not reason.strip():
            raise EntryError("a correction needs a reason (--reason)")
        given = parse_entry(entry) if isinstance(entry, str) else validate_vitals(entry)
        now = self.now()
        with self._write() as session, session.begin():
            user = self._user(session, by)
            original = session.get(m.Reading, reading_id)
            if original is None:
                raise NotFound(f"no reading {reading_id}")
            row = self._session_row(session, original.session_id, lock=True)
            newer = session.scalar(select(m.Reading.id).where(m.Reading.corrects_id == reading_id))
            if newer is not None:
                raise Refused(
                    f"reading {reading_id} was already corrected by reading {newer}: amend {newer}"
                )
            signed = session.scalar(select(m.SignOff.id).where(m.SignOff.session_id == row.id))
            if user.role != "supervisor":
                if original.recorded_by_id != user.id:
                    raise PermissionDenied(
                        f"{user.name} is a nurse and did not record reading {reading_id}: "
                        "a supervisor must correct it"
                    )
                if signed is not None:
                    raise PermissionDenied(
                        f"session {row.id} is signed off: a supervisor must correct it"
                    )
            old = _vitals_of(original)
            merged = Vitals(
                **{**old.as_dict(), **{k: v for k, v in given.as_dict().items() if v is not None}}
            )
            validate_vitals(merged)
            reading = self._save_reading(
                session,
                row,
                user,
                merged,
                original.measured_at,
                now,
                corrects=original,
                reason=reason.strip(),
            )
            self._audit(
                session,
                now,
                user,
                "reading.amend",
                "reading",
                reading.id,
                session_id=row.id,
                before={"reading": original.id, **old.as_dict()},
                after={"reading": reading.id, **merged.as_dict()},
                reason=reason.strip(),
            )
            return reading

    def acknowledge(self, flag_id: int, *, by: str, action: str) -> FlagView:
        """Acknowledge a flag with what was done."""
        return self.acknowledge_many([flag_id], by=by, action=action)[0]

    def acknowledge_many(self, flag_ids: Sequence[int], *, by: str, action: str) -> list[FlagView]:
        """Acknowledge several flags with one statement of what was done, in one transaction."""
        if not action or not action.strip():
            raise EntryError("say what was done (--action), in a word or a sentence")
        if not flag_ids:
            raise EntryError("choose at least one flag to acknowledge")
        action = action.strip()
        now = self.now()
        done: list[FlagView] = []
        with self._write() as session, session.begin():
            user = self._user(session, by)
            for flag_id in flag_ids:
                flag = session.get(m.Flag, flag_id)
                if flag is None:
                    raise NotFound(f"no flag {flag_id}")
                reading = session.get(m.Reading, flag.reading_id)
                assert reading is not None
                self._session_row(session, reading.session_id, lock=True)
                earlier = session.scalar(
                    select(m.Acknowledgement).where(m.Acknowledgement.flag_id == flag_id)
                )
                if earlier is not None:
                    raise Refused(
                        f"flag {flag_id} was already acknowledged at {earlier.at.isoformat()}"
                    )
                session.add(
                    m.Acknowledgement(flag_id=flag_id, by_id=user.id, at=now, action=action)
                )
                self._audit(
                    session,
                    now,
                    user,
                    "flag.acknowledge",
                    "flag",
                    flag_id,
                    session_id=reading.session_id,
                    after={"flag": flag_id, "message": flag.message, "action": action},
                )
                done.append(_flag_view(flag, now, user.name, action))
        return done

    # -- discharge and review ----------------------------------------------------------

    def discharge(
        self,
        session_id: int,
        *,
        by: str,
        at: datetime | None = None,
        override_reason: str | None = None,
    ) -> SessionView:
        """Discharge when the gate is met, or with a written reason that overrides it."""
        now = self.now()
        when = self._check_time(at, now, "discharge time")
        override = override_reason.strip() if override_reason else None
        with self._write() as session, session.begin():
            user = self._user(session, by)
            row = self._session_row(session, session_id, lock=True)
            if row.discharged_at is not None:
                raise Refused(f"session {session_id} was already discharged")
            view = self._views(session, [row], as_of=when)[0]
            if not view.gate.ready and not override:
                raise GateNotMet(list(view.gate.reasons))
            protocol = self.config.protocol(row.protocol)
            if row.protocol.startswith("esketamine"):
                row.ready_minute = ready_to_leave_minute(
                    protocol,
                    row.dosed_at,
                    self._observations(view),
                    when,
                    criteria=self.config.discharge,
                    windows=self.config.windows,
                )
            row.discharged_at = when
            row.discharged_by_id = user.id
            row.override_reason = None if view.gate.ready else override
            self._audit(
                session,
                now,
                user,
                "session.discharge",
                "session",
                row.id,
                session_id=row.id,
                before={"status": "active"},
                after={
                    "status": "discharged",
                    "discharged_at": when.isoformat(),
                    "gate_reasons": list(view.gate.reasons),
                    "ready_minute": row.ready_minute,
                },
                reason=row.override_reason,
            )
            session.flush()
            return self._views(session, [row], as_of=when)[0]

    def sign(self, session_id: int, *, by: str, pin: str) -> SessionView:
        """A supervisor's sign-off ("reviewed") of a discharged session; the PIN is checked."""
        now = self.now()
        with self._write() as session, session.begin():
            user = self._user(session, by)
            if user.role != "supervisor":
                raise PermissionDenied(f"{user.name} is a nurse: only a supervisor can sign off")
            if not verify_pin(pin, user.pin_hash):
                raise PermissionDenied(f"wrong PIN for {user.name}")
            row = self._session_row(session, session_id, lock=True)
            if row.discharged_at is None:
                raise Refused(f"session {session_id} is still active: discharge it first")
            if session.scalar(select(m.SignOff.id).where(m.SignOff.session_id == row.id)):
                raise Refused(f"session {session_id} is already signed off")
            session.add(m.SignOff(session_id=row.id, by_id=user.id, at=now, meaning="reviewed"))
            self._audit(
                session,
                now,
                user,
                "session.sign",
                "session",
                row.id,
                session_id=row.id,
                after={"signed_by": user.name, "meaning": "reviewed"},
            )
            session.flush()
            return self._views(session, [row], as_of=row.discharged_at)[0]

    # -- reads -------------------------------------------------------------------------

    def _load(self, session: Session, session_ids: Sequence[int]) -> _Loaded:
        readings: dict[int, list[m.Reading]] = defaultdict(list)
        flags: dict[int, list[tuple[m.Flag, m.Acknowledgement | None, str | None]]] = defaultdict(
            list
        )
        superseded: dict[int, int] = {}
        if not session_ids:
            return _Loaded(readings, flags, superseded, {})
        rows = session.scalars(
            select(m.Reading)
            .where(m.Reading.session_id.in_(session_ids))
            .order_by(m.Reading.measured_at, m.Reading.id)
        ).all()
        for row in rows:
            readings[row.session_id].append(row)
            if row.corrects_id is not None:
                superseded[row.corrects_id] = row.id
        reading_ids = [r.id for r in rows]
        for chunk_start in range(0, len(reading_ids), 5000):
            chunk = reading_ids[chunk_start : chunk_start + 5000]
            for flag, ack, who in session.execute(
                select(m.Flag, m.Acknowledgement, _ACKER.name)
                .outerjoin(m.Acknowledgement, m.Acknowledgement.flag_id == m.Flag.id)
                .outerjoin(_ACKER, _ACKER.id == m.Acknowledgement.by_id)
                .where(m.Flag.reading_id.in_(chunk))
                .order_by(m.Flag.id)
            ):
                flags[flag.reading_id].append((flag, ack, who))
        users = {row.id: row.name for row in session.execute(select(m.User.id, m.User.name))}
        return _Loaded(readings, flags, superseded, users)

    @staticmethod
    def _flag_views(loaded: _Loaded, reading_id: int) -> tuple[FlagView, ...]:
        return tuple(
            _flag_view(flag, ack.at if ack else None, who, ack.action if ack else None)
            for flag, ack, who in loaded.flags.get(reading_id, [])
        )

    def _reading_views(self, loaded: _Loaded, session_id: int) -> tuple[ReadingView, ...]:
        return tuple(
            ReadingView(
                id=r.id,
                session_id=r.session_id,
                measured_at=r.measured_at,
                recorded_at=r.recorded_at,
                recorded_by=loaded.users.get(r.recorded_by_id, "?"),
                vitals=_vitals_of(r),
                before_dosing=r.before_dosing,
                flags=self._flag_views(loaded, r.id),
                superseded_by=loaded.superseded_by.get(r.id),
                corrects=r.corrects_id,
                reason=r.reason,
            )
            for r in loaded.readings.get(session_id, [])
        )

    @staticmethod
    def _observations(view: SessionView | Iterable[ReadingView]) -> list[Observation]:
        readings = view.readings if isinstance(view, SessionView) else view
        return [
            Observation(
                r.id,
                r.measured_at,
                r.vitals,
                tuple(
                    RecordedFlag(
                        CoreFlag(f.measure, f.severity, f.rule, f.message), f.acknowledged_at
                    )
                    for f in r.flags
                ),
            )
            for r in readings
            if r.in_force
        ]

    def _views(
        self, session: Session, rows: Sequence[m.TreatmentSession], *, as_of: datetime | None = None
    ) -> list[SessionView]:
        loaded = self._load(session, [r.id for r in rows])
        signoffs = (
            {
                s.session_id: s
                for s in session.scalars(
                    select(m.SignOff).where(m.SignOff.session_id.in_([r.id for r in rows]))
                )
            }
            if rows
            else {}
        )
        now = self.now()
        views = []
        for row in rows:
            moment = as_of or row.discharged_at or now
            readings = self._reading_views(loaded, row.id)
            protocol = self.config.protocol(row.protocol)
            observations = self._observations(readings)
            checks = check_states(protocol, row.dosed_at, observations, moment, self.config.windows)
            gate = evaluate_gate(
                protocol,
                row.dosed_at,
                observations,
                moment,
                criteria=self.config.discharge,
                windows=self.config.windows,
            )
            sign = signoffs.get(row.id)
            views.append(
                SessionView(
                    id=row.id,
                    patient=row.patient.identifier,
                    protocol=row.protocol,
                    treatment=protocol.treatment,
                    dose_mg=row.dose_mg,
                    age=row.age,
                    bay=row.bay,
                    lot=row.lot,
                    started_at=row.started_at,
                    started_by=loaded.users.get(row.started_by_id, "?"),
                    dosed_at=row.dosed_at,
                    discharged_at=row.discharged_at,
                    discharged_by=loaded.users.get(row.discharged_by_id or -1),
                    override_reason=row.override_reason,
                    ready_minute=row.ready_minute,
                    signed_by=loaded.users.get(sign.by_id) if sign else None,
                    signed_at=sign.at if sign else None,
                    readings=readings,
                    checks=tuple(checks),
                    gate=gate,
                    as_of=moment,
                )
            )
        return views

    def session(self, session_id: int) -> SessionView:
        """One session as of now (as of discharge, once discharged)."""
        with self._read() as session:
            return self._views(session, [self._session_row(session, session_id)])[0]

    def sessions(self, ids: Sequence[int]) -> list[SessionView]:
        """Several sessions, in the order asked."""
        with self._read() as session:
            rows = [self._session_row(session, i) for i in ids]
            return self._views(session, rows)

    def active_sessions(self) -> list[SessionView]:
        """Every session in observation: what the dashboard shows. Cost follows active work."""
        with self._read() as session:
            rows = list(
                session.scalars(
                    select(m.TreatmentSession)
                    .where(m.TreatmentSession.discharged_at.is_(None))
                    .order_by(m.TreatmentSession.id)
                )
            )
            return self._views(session, rows)

    def list_sessions(self, *, active_only: bool = False) -> list[SessionSummary]:
        """Sessions, newest first."""
        with self._read() as session:
            query = select(m.TreatmentSession).order_by(m.TreatmentSession.id.desc())
            if active_only:
                query = query.where(m.TreatmentSession.discharged_at.is_(None))
            rows = list(session.scalars(query))
            signed = set(session.scalars(select(m.SignOff.session_id)))
            return [
                SessionSummary(
                    id=r.id,
                    patient=r.patient.identifier,
                    protocol=r.protocol,
                    bay=r.bay,
                    status="active" if r.discharged_at is None else "discharged",
                    started_at=r.started_at,
                    dosed_at=r.dosed_at,
                    discharged_at=r.discharged_at,
                    signed=r.id in signed,
                )
                for r in rows
            ]

    def audit(self, session_id: int | None = None) -> list[AuditView]:
        """The audit trail of one session, or all of it, oldest first."""
        with self._read() as session:
            query = select(m.AuditEntry).order_by(m.AuditEntry.id)
            if session_id is not None:
                self._session_row(session, session_id)
                query = query.where(m.AuditEntry.session_id == session_id)
            return [
                AuditView(
                    a.id,
                    a.at,
                    a.user_name,
                    a.action,
                    a.session_id,
                    a.entity,
                    a.entity_id,
                    a.before,
                    a.after,
                    a.reason,
                )
                for a in session.scalars(query)
            ]


def with_clock(service: Service, clock: Clock) -> Service:
    """The same database and configuration seen through another clock (tests, demos)."""
    return Service(service.engine, service.config, clock)
