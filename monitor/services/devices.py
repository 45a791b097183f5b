"""Bedside monitors (docs/devices.md): the devices a supervisor registers and binds to bays,
the readings they send, and the nurses' validations that make those readings count.

A device reading is saved at once with its flags, so that its alarms show on every station
at once; it serves no check, no baseline and no value of the gate until a nurse validates it
(:attr:`monitor.views.ReadingView.awaits_validation`). A nurse who finds it wrong voids it
(`monitor void`), as any reading entered in error. Every action here is one transaction with
its audit row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from monitor.core.intake import clean_name
from monitor.core.vitals import Vitals, validate_vitals
from monitor.errors import EntryError, KeyConflictError, NotFound, PermissionDenied, Refused
from monitor.services.keys import check_key
from monitor.services.recording import Recorded, RecordServices
from monitor.store import tables as t

_D = t.devices.c
_B = t.device_bays.c
_S = t.treatment_sessions.c
_R = t.readings.c
#: The newest binding of each device.
_NEWEST = (
    select(_B.device_id, func.max(_B.id).label("id")).group_by(_B.device_id).subquery("newest")
)
_DEVICES = (
    select(_D.id, _D.name, _D.at, _B.bay, _B.at.label("bound_at"))
    .select_from(
        t.devices.outerjoin(_NEWEST, _NEWEST.c.device_id == _D.id).outerjoin(
            t.device_bays, t.device_bays.c.id == _NEWEST.c.id
        )
    )
    .order_by(_D.name)
)
#: A device by name with its bay now (``bay`` None: disabled), and every active session with
#: a bay (none: ``session_id`` None), in one read: the bay's session is chosen by
#: :func:`same_bay`, which SQL does not say.
_DEVICE_AND_SESSIONS = (
    select(
        _D.id,
        _D.name,
        _B.bay,
        _S.id.label("session_id"),
        _S.bay.label("session_bay"),
        t.patients.c.identifier.label("patient"),
    )
    .select_from(
        t.devices.outerjoin(_NEWEST, _NEWEST.c.device_id == _D.id)
        .outerjoin(t.device_bays, t.device_bays.c.id == _NEWEST.c.id)
        .outerjoin(
            t.treatment_sessions.join(t.patients, t.patients.c.id == _S.patient_id),
            and_(_S.discharged_at.is_(None), _S.bay.is_not(None)),
        )
    )
    .where(_D.name == bindparam("name"))
    .order_by(_S.id)
)


@dataclass(frozen=True)
class DeviceView:
    """A registered device and where it is now (``bay`` None: disabled)."""

    id: int
    name: str
    bay: str | None
    added_at: datetime
    bound_at: datetime | None


class _Bound(NamedTuple):
    """A device's message's place: the device, its bay now, the active session there."""

    device_id: int
    device: str
    bay: str
    session_id: int
    patient: str


@dataclass(frozen=True)
class DeviceReading:
    """What a device's message saved: the session of its bay and the reading (with its
    flags); ``again`` when it was saved before under the same message id (a resend)."""

    session_id: int
    patient: str
    recorded: Recorded
    again: bool
    #: The device's bay in the register when the reading was saved.
    bay: str

    def other_bed(self, bed: str | None) -> str | None:
        """What to say when the message's bed (PV1-3, its parts joined by ``/``) names another
        bay than the register's, which the reading went to all the same; ``None`` when it names
        none or when any of its parts names the register's bay (docs/devices.md)."""
        if not bed or not self.bay or names_bay(bed, self.bay):
            return None
        shown = " ".join("".join(c if c.isprintable() else " " for c in bed).split())[:80]
        return f"the message names bed {shown}, the register says bay {self.bay}"


def message_key(device: str, control_id: str) -> str:
    """The reading's key for a device's message id (MSH-10): one reading per message, however
    often it is resent (docs/devices.md, "Resent messages")."""
    digest = hashlib.sha256(f"{device}\0{control_id}".encode()).hexdigest()
    return f"hl7:{digest[:60]}"


def same_bay(one: str, other: str) -> bool:
    """Two bay labels name the same bay: case, spaces and a leading word "bay" aside
    (``Bay 1``, ``bay1`` and ``1`` are one bay)."""
    return _bay_key(one) == _bay_key(other)


def names_bay(bed: str, bay: str) -> bool:
    """A message's bed (PV1-3: point of care, room and bed, the non-empty ones joined by
    ``/``) names ``bay``: the whole, or any of its parts, is the same bay."""
    return same_bay(bed, bay) or any(same_bay(part, bay) for part in bed.split("/") if part)


def _bay_key(label: str) -> str:
    key = "".join(label.lower().split())
    return key.removeprefix("bay") or key


def _device_name(name: str) -> str:
    found = clean_name(name, "the device name", required=True)
    assert found is not None
    return found


def _bay(bay: str) -> str:
    found = clean_name(bay, "the bay", required=True)
    assert found is not None
    return found


class DeviceServices(RecordServices):
    """Devices, their readings and their validation."""

    # -- the register (supervisors) -----------------------------------------------------------

    def devices(self) -> list[DeviceView]:
        """Every registered device with its bay now, by name."""
        with self.engine.connect() as connection:
            return [
                DeviceView(row.id, row.name, row.bay, row.at, row.bound_at)
                for row in connection.execute(_DEVICES)
            ]

    def add_device(self, name: str, *, bay: str, by: str) -> DeviceView:
        """Register a device by the identifier it sends, bound to ``bay``: a supervisor."""
        name, bay = _device_name(name), _bay(bay)
        try:
            with self._plain_action() as connection:
                user = self._supervisor(connection, by, "adding a device")
                now = self.now()
                device_id = connection.execute(
                    t.devices.insert().returning(_D.id),
                    {"name": name, "by_id": user.id, "at": now},
                ).scalar_one()
                self._bind(connection, device_id, bay, user.id, now)
                self._audit(
                    connection,
                    now,
                    user,
                    "device.add",
                    "device",
                    device_id,
                    after={"name": name, "bay": bay},
                )
        except IntegrityError:
            if self._device(name) is not None:
                raise EntryError(
                    f"a device named {name} is registered already: see `monitor device list`"
                ) from None
            raise
        return self._found(name)

    def move_device(self, name: str, *, bay: str, by: str) -> DeviceView:
        """Bind a registered device to another bay (or again to one, once disabled)."""
        return self._rebind(name, _bay(bay), by, "device.move")

    def disable_device(self, name: str, *, by: str) -> DeviceView:
        """Stop taking the device's readings (its earlier readings stay as they are)."""
        return self._rebind(name, None, by, "device.disable")

    def _rebind(self, name: str, bay: str | None, by: str, action: str) -> DeviceView:
        name = _device_name(name)
        with self._plain_action() as connection:
            user = self._supervisor(connection, by, "moving or disabling a device")
            device = connection.execute(_DEVICES.where(_D.name == name)).first()
            if device is None:
                raise NotFound(f"no device named {name}: see `monitor device list`")
            now = self.now()
            self._bind(connection, device.id, bay, user.id, now)
            self._audit(
                connection,
                now,
                user,
                action,
                "device",
                device.id,
                before={"bay": device.bay},
                after={"bay": bay},
            )
        return self._found(name)

    def _supervisor(self, connection: Connection, by: str, what: str) -> Any:
        user = self._actor(connection, by)
        if user.role != "supervisor":
            raise PermissionDenied(f"{what} is for supervisors: {by} is a {user.role}")
        return user

    @staticmethod
    def _bind(
        connection: Connection, device_id: int, bay: str | None, by_id: int, now: datetime
    ) -> None:
        connection.execute(
            t.device_bays.insert(), {"device_id": device_id, "bay": bay, "by_id": by_id, "at": now}
        )

    def _device(self, name: str) -> DeviceView | None:
        with self.engine.connect() as connection:
            row = connection.execute(_DEVICES.where(_D.name == name)).first()
        return None if row is None else DeviceView(row.id, row.name, row.bay, row.at, row.bound_at)

    def _found(self, name: str) -> DeviceView:
        found = self._device(name)
        assert found is not None
        return found

    # -- readings from devices ------------------------------------------------------------------

    def record_from_device(
        self,
        device: str,
        values: dict[str, int],
        *,
        measured_at: datetime,
        message_id: str,
        by: str,
    ) -> DeviceReading:
        """Save what device ``device`` measured, for the active session of its bay, with its
        flags: saved at once, awaiting a nurse's validation. ``message_id`` (the message's
        MSH-10) is its key: the same message again returns the reading first saved; the same
        id with other values or time is refused. ``by`` is the user the listener runs as
        (`monitor ingest --by`). Refused (nothing saved): an unknown or disabled device, no
        or several active sessions in its bay, an impossible value, a time the session's rules
        refuse."""
        vitals = Vitals(**values)
        if vitals.moaas is not None or vitals.cadss is not None:
            raise EntryError("MOAA/S and CADSS are a nurse's entry, never a device's")
        key = check_key(message_key(device, message_id))
        bound: _Bound | None = None
        try:
            try:
                # One write transaction: the register and the bay's session are read per
                # message (a device moved at another station counts for its next message),
                # with the key's earlier reading, then the reading is saved.
                with self._plain_action() as connection:
                    bound = self._bound(connection, device)
                    vitals = validate_vitals(vitals)
                    recorded = self._keyed(
                        connection, bound.session_id, key, by, vitals, measured_at
                    ) or self._record(
                        connection,
                        bound.session_id,
                        vitals,
                        by,
                        measured_at,
                        key,
                        (bound.device_id, bound.device),
                    )
            except IntegrityError:
                # Another save with this key won the race: it is the reading, if it is this one.
                if bound is None:
                    raise
                with self.engine.connect() as connection:
                    earlier = self._keyed(
                        connection, bound.session_id, key, by, vitals, measured_at
                    )
                if earlier is None:
                    raise
                recorded = earlier
        except KeyConflictError:
            raise KeyConflictError(
                f"message {message_id} from {device} was saved before with other values or "
                "time: a new message needs a new control id (MSH-10)"
            ) from None
        return DeviceReading(
            bound.session_id, bound.patient, recorded, not recorded.saved_now, bound.bay
        )

    @staticmethod
    def _bound(connection: Connection, device: str) -> _Bound:
        """The device ``device``, its bay now and the one active session there, in one read;
        refused: an unknown or disabled device, no or several active sessions in its bay."""
        rows = connection.execute(_DEVICE_AND_SESSIONS, {"name": device}).all()
        if not rows:
            raise NotFound(
                f"unknown device {device}: a supervisor registers it with `monitor device add`"
            )
        bay = rows[0].bay
        if bay is None:
            raise Refused(f"device {device} is disabled: a supervisor moves it to a bay")
        sessions = [
            row for row in rows if row.session_bay is not None and same_bay(row.session_bay, bay)
        ]
        if not sessions:
            raise NotFound(f"no patient in observation in bay {bay}: start a session there")
        if len(sessions) > 1:
            raise Refused(
                f"{len(sessions)} patients in observation in bay {bay}: a device's bay must "
                "hold one"
            )
        row = sessions[0]
        return _Bound(row.id, row.name, bay, row.session_id, row.patient)

    def audit_refused_message(
        self, device: str | None, control_id: str, code: str, reason: str, *, by: str
    ) -> None:
        """Keep a refused message in the audit trail (its sender, id, the ACK code and the
        reason), in a transaction of its own, as ``by`` (the listener's user)."""
        with self._plain_action() as connection:
            user = self._actor(connection, by)
            self._audit(
                connection,
                self.now(),
                user,
                "device.refused",
                "message",
                None,
                after={"device": device, "control_id": control_id[:200], "code": code},
                reason=reason[:500],
            )

    # -- validation (nurses) --------------------------------------------------------------------

    def validate_readings(self, reading_ids: Sequence[int], *, by: str) -> list[int]:
        """A nurse validates device readings: from then on they serve checks and the gate.
        All or none (one transaction); refused: a typed reading, one validated, voided or
        corrected already, or a signed session's. Returns the ids validated."""
        ids = list(dict.fromkeys(reading_ids))
        if not ids:
            raise EntryError("name at least one reading to validate")
        with self._plain_action() as connection:
            user = self._actor(connection, by)
            now = self.now()
            for reading_id in ids:
                row = self._pending(connection, reading_id)
                self._refuse_if_signed(connection, row.session_id, "validation")
                connection.execute(
                    t.validations.insert(), {"reading_id": reading_id, "by_id": user.id, "at": now}
                )
                self._audit(
                    connection,
                    now,
                    user,
                    "reading.validate",
                    "reading",
                    reading_id,
                    session_id=row.session_id,
                )
                session = connection.execute(
                    select(_S.id, _S.dosed_at).where(_S.id == row.session_id)
                ).one()
                if session.dosed_at is not None and row.measured_at <= session.dosed_at:
                    self._rejudge_rise(connection, session, now)  # a baseline now counts
        return ids

    @staticmethod
    def _pending(connection: Connection, reading_id: int) -> Any:
        """The device reading ``reading_id``, refused unless it awaits validation."""
        row = connection.execute(
            select(_R.id, _R.session_id, _R.device_id, _R.measured_at).where(_R.id == reading_id)
        ).first()
        if row is None:
            raise NotFound(f"no reading {reading_id}: see `monitor session show ID`")
        if row.device_id is None:
            raise EntryError(f"reading {reading_id} was typed by a nurse: nothing to validate")
        given = t.validations.c
        if connection.execute(select(given.id).where(given.reading_id == reading_id)).first():
            raise EntryError(f"reading {reading_id} is validated already")
        if connection.execute(
            select(t.voids.c.id).where(t.voids.c.reading_id == reading_id)
        ).first():
            raise EntryError(f"reading {reading_id} was voided: it cannot be validated")
        if connection.execute(select(_R.id).where(_R.corrects_id == reading_id)).first():
            raise EntryError(f"reading {reading_id} was corrected: validate its correction")
        return row
