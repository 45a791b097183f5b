"""Reading a monitor's ``ORU^R01``: who sent it, when it was measured and which vital signs it
carries (docs/hl7.md).

:func:`parse_oru` returns a :class:`DeviceMessage` or raises :class:`HL7Refusal`, whatever it
is given. It does not judge the values (an SpO2 of 150 is returned as 150): the services refuse
impossible values and apply the session rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal

import hl7

from monitor.core.vitals import Measure, Vitals
from monitor.hl7.codes import ACCEPTED_UNITS, Vital, identify, read_unit, standard_value
from monitor.hl7.message import (
    DATA_TYPE_ERROR,
    REQUIRED_FIELD_MISSING,
    UNSUPPORTED_MESSAGE_TYPE,
    HL7Refusal,
    component,
    components,
    content_digest,
    first_component,
    raw_field,
    read_message,
)

#: The observation times of one message may differ by this much at most.
MAX_SPREAD = timedelta(minutes=5)
#: Result statuses (OBX-11) whose observation is not used: wrong, deleted, withdrawn.
UNUSED_STATUSES = frozenset({"X", "D", "W"})

_NUMBER = re.compile(r"[+-]?(?:\d{1,12}(?:\.\d{0,6})?|\.\d{1,6})")
_DTM = re.compile(
    r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?(?:([+-])(\d{2})(\d{2}))?"
)


@dataclass(frozen=True)
class DeviceMessage:
    """What a monitor's message says (docs/hl7.md, "What is read").

    ``values`` maps a measure's name (``systolic``, ``diastolic``, ``heart_rate``, ``spo2``,
    ``resp_rate``) to a whole number in its standard unit; ``ignored`` lists the OBX-3 of the
    observations not used; ``measured_at`` is in UTC; ``content_digest`` binds the control id
    to the content (a resend has the same digest).
    """

    control_id: str
    sending_application: str
    sending_facility: str
    equipment: str | None
    bed: str | None
    measured_at: datetime
    values: dict[str, int] = field(hash=False)
    ignored: tuple[str, ...]
    content_digest: str
    #: The message header as read, for the ACK that answers it (:func:`~monitor.hl7.build_ack`).
    header: hl7.Segment = field(hash=False, compare=False, repr=False)

    @property
    def device_name(self) -> str:
        """The name the device is registered under: OBX-18, else MSH-3 (docs/interface.md,
        ``device add``)."""
        return self.equipment or self.sending_application

    @property
    def vitals(self) -> Vitals:
        """The values as a set of vitals, for the existing rules."""
        return Vitals(**self.values)


@dataclass(frozen=True)
class _Observation:
    vital: Vital
    value: int
    at: datetime
    code: str


def parse_oru(data: str | bytes, *, local_zone: tzinfo) -> DeviceMessage:
    """Read an ``ORU^R01`` (any text or bytes; segments ended by ``\\r``, ``\\n`` or
    ``\\r\\n``); times without an offset are in ``local_zone``. Raises :class:`HL7Refusal`
    (``AR`` or ``AE``, docs/hl7.md, "Refusals"), and nothing else."""
    try:
        return _parse(data, local_zone)
    except HL7Refusal:
        raise
    except Exception as error:  # a network peer's bytes must never crash the listener
        raise HL7Refusal("AR", f"unreadable message (internal: {type(error).__name__})") from None


def _parse(data: str | bytes, local_zone: tzinfo) -> DeviceMessage:
    message = read_message(data)
    msh = message.segment("MSH")
    _check_message_type(msh)
    control_id = component(msh, 10)
    if not control_id:
        raise HL7Refusal("AR", "no message control id", "MSH-10", REQUIRED_FIELD_MISSING)
    equipment = _equipment(message)
    sending_application = first_component(msh, 3)
    if not (equipment or sending_application):
        raise HL7Refusal(
            "AR", "no device name: neither OBX-18 nor MSH-3", "MSH-3", REQUIRED_FIELD_MISSING
        )
    observations, ignored = _observations(message, local_zone)
    values, used, unused = _choose(observations)
    return DeviceMessage(
        control_id=control_id,
        sending_application=sending_application,
        sending_facility=first_component(msh, 4),
        equipment=equipment,
        bed=_bed(message),
        measured_at=_measured_at(used),
        values=values,
        ignored=(*ignored, *unused),
        content_digest=content_digest(data),
        header=msh,
    )


def _check_message_type(msh: hl7.Segment) -> None:
    kind, event = component(msh, 9, 1).upper(), component(msh, 9, 2).upper()
    if not kind:
        raise HL7Refusal("AR", "no message type", "MSH-9", REQUIRED_FIELD_MISSING)
    if (kind, event) != ("ORU", "R01"):
        shown = f"{kind}^{event}" if event else kind
        raise HL7Refusal(
            "AR",
            f"message type {shown} is not accepted: only ORU^R01",
            "MSH-9",
            UNSUPPORTED_MESSAGE_TYPE,
        )


def _bed(message: hl7.Message) -> str | None:
    """PV1-3 (point of care^room^bed), its non-empty parts joined by ``/``."""
    for segment in message:
        if str(segment[0]) == "PV1":
            parts = [p for p in components(segment, 3, 3) if p]
            return "/".join(parts) or None
    return None


def _equipment(message: hl7.Message) -> str | None:
    """OBX-18 of the first OBX that has one (whatever its status: the device row of IHE PCD
    messages is marked X)."""
    for segment in message:
        if str(segment[0]) == "OBX" and (name := first_component(segment, 18)):
            return name
    return None


def _observations(message: hl7.Message, local_zone: tzinfo) -> tuple[list[_Observation], list[str]]:
    """The known observations in use, and the OBX-3 of the others."""
    observations: list[_Observation] = []
    ignored: list[str] = []
    request_time = ""
    number = 0
    marked_unused = 0
    for segment in message:
        name = str(segment[0])
        if name == "OBR":
            request_time = component(segment, 7)
        if name != "OBX":
            continue
        number += 1
        code = raw_field(segment, 3)[:80] or f"(observation {number} without OBX-3)"
        vital = identify(components(segment, 3, 6))
        if vital is not None and component(segment, 11).upper() in UNUSED_STATUSES:
            marked_unused += 1
            vital = None
        if vital is None:
            ignored.append(code)
            continue
        value = _value(segment, vital, code, number)
        at = _time(component(segment, 14), request_time, local_zone, code, number)
        observations.append(_Observation(vital, value, at, code))
    if not observations:
        found = f" ({marked_unused} marked X, D or W in OBX-11)" if marked_unused else ""
        raise HL7Refusal(
            "AE",
            f"no usable vital sign in the message{found}: BP, heart rate, SpO2 or "
            "respiratory rate coded by IEEE 11073 MDC or LOINC (docs/hl7.md)",
            "OBX",
        )
    return observations, ignored


def _value(segment: hl7.Segment, vital: Vital, code: str, number: int) -> int:
    """The observation's value as a whole number in its measure's standard unit."""
    measure = vital.measure.value
    value_type = component(segment, 2).upper()
    if value_type != "NM":
        raise HL7Refusal(
            "AE",
            f"{measure} ({code}) is not a number: value type {value_type or 'empty'}, not NM",
            f"OBX-2 (observation {number})",
            DATA_TYPE_ERROR,
        )
    text = raw_field(segment, 5)
    if not _NUMBER.fullmatch(text):
        raise HL7Refusal(
            "AE",
            f"{measure} ({code}) is not a number: {text[:40]!r}",
            f"OBX-5 (observation {number})",
            DATA_TYPE_ERROR,
        )
    accepted = ACCEPTED_UNITS[vital.measure]
    unit_parts = components(segment, 6, 3)
    unit = read_unit(unit_parts) if any(unit_parts) else accepted[0]
    if unit is None or unit not in accepted:
        names = " or ".join(u.value for u in accepted)
        raise HL7Refusal(
            "AE",
            f"{measure} ({code}) in unit {raw_field(segment, 6)[:40]!r} is not accepted: {names}",
            f"OBX-6 (observation {number})",
        )
    return standard_value(Decimal(text), unit)


def _time(own: str, request: str, local_zone: tzinfo, code: str, number: int) -> datetime:
    """When the observation was measured: its OBX-14, else the OBR-7 before it."""
    text, where = (own, f"OBX-14 (observation {number})") if own else (request, "OBR-7")
    if not text:
        raise HL7Refusal(
            "AE",
            f"no measurement time for {code}: neither OBX-14 nor OBR-7",
            f"OBX-14 (observation {number})",
            REQUIRED_FIELD_MISSING,
        )
    try:
        return parse_time(text, local_zone)
    except (ValueError, OverflowError):
        raise HL7Refusal(
            "AE",
            f"unreadable time {text[:40]!r}: expected YYYYMMDDHHMM[SS[.S]][+/-ZZZZ]",
            where,
            DATA_TYPE_ERROR,
        ) from None


def parse_time(text: str, local_zone: tzinfo) -> datetime:
    """An HL7 DTM to the minute or finer (``20261206143000+0100``, ``202612061430``,
    ``20261206143000.25``) as an aware UTC datetime; without an offset it is in ``local_zone``.
    Raises ``ValueError`` (or ``OverflowError`` at the ends of the calendar)."""
    match = _DTM.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an HL7 time: {text!r}")
    year, month, day, hour, minute = (int(match[i]) for i in range(1, 6))
    second = int(match[6] or 0)
    microsecond = int((match[7] or "0").ljust(6, "0"))
    zone = local_zone
    if match[8]:
        hours, minutes = int(match[9]), int(match[10])
        if hours > 14 or minutes > 59:
            raise ValueError(f"not a UTC offset: {match[8]}{match[9]}{match[10]}")
        offset = timedelta(hours=hours, minutes=minutes)
        zone = timezone(-offset if match[8] == "-" else offset)
    moment = datetime(year, month, day, hour, minute, second, microsecond, tzinfo=zone)
    return moment.astimezone(UTC)


def _choose(
    observations: list[_Observation],
) -> tuple[dict[str, int], list[_Observation], list[str]]:
    """One value per measure, from its most trusted source (e.g. ECG heart rate before pulse
    oximetry); two different values from equally trusted sources are refused. Returns the
    values, the observations they come from and the OBX-3 of the others."""
    values: dict[str, int] = {}
    used: list[_Observation] = []
    unused: list[str] = []
    for measure in Measure:
        found = [o for o in observations if o.vital.measure is measure]
        if not found:
            continue
        best = min(o.vital.rank for o in found)
        chosen = [o for o in found if o.vital.rank == best]
        distinct = sorted({o.value for o in chosen})
        if len(distinct) > 1:
            shown = " and ".join(str(v) for v in distinct)
            raise HL7Refusal(
                "AE",
                f"two different {measure.value} values in one message ({shown}) "
                f"from {', '.join(dict.fromkeys(o.code for o in chosen))}",
                "OBX-5",
            )
        values[measure.value] = distinct[0]
        used.extend(chosen)
        unused.extend(o.code for o in found if o.vital.rank != best)
    return values, used, unused


def _measured_at(used: list[_Observation]) -> datetime:
    """The earliest observation time: a reading never looks newer than its oldest value.
    Refused when the times are more than :data:`MAX_SPREAD` apart."""
    times = [o.at for o in used]
    earliest, latest = min(times), max(times)
    if latest - earliest > MAX_SPREAD:
        raise HL7Refusal(
            "AE",
            f"observation times differ by {_minutes(latest - earliest)}: at most 5 min "
            "in one message (send separate messages)",
            "OBX-14",
        )
    return earliest


def _minutes(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes < 600 else f"{minutes / 60:.0f} h"
