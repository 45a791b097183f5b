"""Writing HL7 v2: an ``ORU^R01`` as a monitor's gateway sends it (for ``monitor device send``)
and the ``ACK`` that answers every message (docs/hl7.md, "Acknowledgements", "Sending without
a monitor").

Every text put in a field is escaped (:func:`monitor.hl7.message.escape`): a reason or a device
name containing ``| ^ & ~ \\`` cannot break the message.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import hl7

from monitor.core.vitals import Measure
from monitor.errors import EntryError
from monitor.hl7.message import (
    APPLICATION_ERROR,
    HL7Refusal,
    component,
    components,
    decode,
    escape,
    read_message,
    segments_of,
)

STYLES = ("philips", "welch-allyn")
ACK_CODES = ("AA", "AE", "AR")

#: Per measure: (MDC code, MDC reference id, MDC unit) as a Philips IntelliVue gateway sends
#: them, and (LOINC code, LOINC name, UCUM unit) as a Welch Allyn Connex does.
_PHILIPS = {
    Measure.SYSTOLIC: ("150021", "MDC_PRESS_BLD_NONINV_SYS", "266016^MDC_DIM_MMHG^MDC"),
    Measure.DIASTOLIC: ("150022", "MDC_PRESS_BLD_NONINV_DIA", "266016^MDC_DIM_MMHG^MDC"),
    Measure.HEART_RATE: ("147842", "MDC_ECG_HEART_RATE", "264864^MDC_DIM_BEAT_PER_MIN^MDC"),
    Measure.SPO2: ("150456", "MDC_PULS_OXIM_SAT_O2", "262688^MDC_DIM_PERCENT^MDC"),
    Measure.RESP_RATE: ("151562", "MDC_RESP_RATE", "264928^MDC_DIM_RESP_PER_MIN^MDC"),
}
_PHILIPS_MEAN = ("150023", "MDC_PRESS_BLD_NONINV_MEAN", "266016^MDC_DIM_MMHG^MDC")
_WELCH_ALLYN = {
    Measure.SYSTOLIC: ("8480-6", "Systolic blood pressure", "mm[Hg]^mm[Hg]^UCUM"),
    Measure.DIASTOLIC: ("8462-4", "Diastolic blood pressure", "mm[Hg]^mm[Hg]^UCUM"),
    Measure.HEART_RATE: ("8867-4", "Heart rate", "{beats}/min^{beats}/min^UCUM"),
    Measure.SPO2: ("59408-5", "Oxygen saturation by Pulse oximetry", "%^%^UCUM"),
    Measure.RESP_RATE: ("9279-1", "Respiratory rate", "{breaths}/min^{breaths}/min^UCUM"),
}
_WELCH_ALLYN_MEAN = ("8478-0", "Mean blood pressure", "mm[Hg]^mm[Hg]^UCUM")

#: HL7 table 0357: the text of the error codes an ERR segment may carry.
_ERROR_NAMES = {
    101: "Required field missing",
    102: "Data type error",
    200: "Unsupported message type",
    204: "Unknown key identifier",
    205: "Duplicate key identifier",
    207: "Application internal error",
}


def build_oru(
    values: dict[str, int],
    *,
    device: str,
    bay: str,
    control_id: str,
    at: datetime,
    style: str = "philips",
) -> str:
    """An ``ORU^R01`` carrying ``values`` (measure name -> whole number) measured ``at`` (an
    aware datetime), segments ended by ``\\r``.

    ``philips``: MDC codes and units, the device in OBX-18 (as an IntelliVue Information
    Center sends it). ``welch-allyn``: LOINC codes, UCUM units, the device in MSH-3 (as a
    Connex does). Both put ``bay`` in PV1-3 (the bed) and the mean pressure, which is ignored
    when read."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, not {style!r}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be timezone-aware")
    measures = _measures(values)
    when = at.strftime("%Y%m%d%H%M%S%z")
    philips = style == "philips"
    table, mean_code = (_PHILIPS, _PHILIPS_MEAN) if philips else (_WELCH_ALLYN, _WELCH_ALLYN_MEAN)
    system = "MDC" if philips else "LN"
    equipment = escape(device) if philips else ""
    rows: list[tuple[tuple[str, str, str], int]] = [(table[m], v) for m, v in measures.items()]
    if Measure.SYSTOLIC in measures and Measure.DIASTOLIC in measures:
        mean = (measures[Measure.SYSTOLIC] + 2 * measures[Measure.DIASTOLIC] + 1) // 3
        rows.insert(2, (mean_code, mean))
    cid = escape(control_id)
    if philips:
        segments = [
            f"MSH|^~\\&|PIIC|PHILIPS|MONITOR||{when}||ORU^R01^ORU_R01|{cid}|P|2.6"
            "|||NE|AL||UNICODE UTF-8",
            "PID|||",
            f"PV1||I|^^{escape(bay)}",
            f"OBR|1|{cid}^PIIC|{cid}^PIIC|182777000^monitoring of patient^SCT|||{when}",
            "OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X"
            f"|||||||{equipment}",
        ]
    else:
        segments = [
            f"MSH|^~\\&|{escape(device)}|WELCHALLYN|MONITOR||{when}||ORU^R01^ORU_R01|{cid}|P|2.5",
            "PID|1",
            f"PV1|1|O|^^{escape(bay)}",
            f"OBR|1|{cid}||VITALS^Vital signs^L|||{when}",
        ]
    first = 2 if philips else 1  # the set id (OBX-1) of the first value's OBX
    for offset, ((code, name, unit), value) in enumerate(rows):
        sub_id = f"1.0.1.{offset + 1}" if philips else ""
        status = "R" if philips else "F"
        segments.append(
            f"OBX|{first + offset}|NM|{code}^{name}^{system}|{sub_id}|{value}|{unit}"
            f"|||||{status}|||{when}||||{equipment}".rstrip("|")
        )
    return "\r".join(segments) + "\r"


def _measures(values: dict[str, int]) -> dict[Measure, int]:
    """The values by measure, in the canonical order; refused when a monitor cannot send one."""
    sendable = {m.value: m for m in _PHILIPS}
    measures: dict[Measure, int] = {}
    for name, value in values.items():
        if name not in sendable:
            raise EntryError(f"{name} is not sent by a monitor: only BP, HR, SpO2 and RR")
        if isinstance(value, bool) or not isinstance(value, int):
            raise EntryError(f"{name} must be a whole number, got {value!r}")
        measures[sendable[name]] = value
    if not measures:
        raise EntryError("no measure given: a monitor sends BP, HR, SpO2 or RR")
    return {m: measures[m] for m in Measure if m in measures}


def build_ack(
    message: str | bytes | None,
    code: str,
    text: str,
    *,
    control_id: str | None = None,
    error: int | None = None,
    header: hl7.Segment | None = None,
) -> str:
    """The ``ACK`` answering ``message`` (its text as received, or ``None`` when nothing of it
    was readable): MSH with the sender and receiver swapped and ``control_id`` (a fresh one by
    default) in MSH-10; MSA with ``code``, the message's control id and ``text``; on ``AE``/``AR``
    an ERR with the HL7 error code (``error``, 207 by default) and ``text`` in ERR-8.
    ``header``: the message's MSH as read already (:attr:`DeviceMessage.header`), not read
    again."""
    if code not in ACK_CODES:
        raise ValueError(f"code must be one of {', '.join(ACK_CODES)}, not {code!r}")
    if header is None:
        header = _original_header(message)

    def original(field: int, count: int = 1) -> str:
        if header is None:
            return ""
        parts = [escape(p) for p in components(header, field, count)]
        return "^".join(parts).rstrip("^")

    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    event = escape(component(header, 9, 2)) if header is not None else ""
    ack_id = escape(control_id) if control_id else uuid.uuid4().hex[:20].upper()
    segments = [
        f"MSH|^~\\&|{original(5, 3) or 'MONITOR'}|{original(6, 3)}|{original(3, 3)}"
        f"|{original(4, 3)}|{now}||ACK^{event or 'R01'}^ACK|{ack_id}|{original(11) or 'P'}"
        f"|{original(12) or '2.5'}",
        f"MSA|{code}|{original(10)}|{escape(text)}",
    ]
    if code != "AA":
        number = error if error is not None else APPLICATION_ERROR
        name = _ERROR_NAMES.get(number, "")
        segments.append(f"ERR|||{number}^{name}^HL70357|E||||{escape(text)}")
    return "\r".join(segments) + "\r"


def _original_header(message: str | bytes | None) -> hl7.Segment | None:
    """The MSH of the message being answered, read alone (so that a fault further on does not
    lose who sent it), or ``None``."""
    if message is None:
        return None
    segments = segments_of(decode(message))
    if not segments or not segments[0].startswith("MSH"):
        return None
    try:
        return read_message(segments[0]).segment("MSH")
    except HL7Refusal:
        return None


def parse_ack(data: str | bytes) -> tuple[str, str, str]:
    """An ``ACK``'s code (``AA``, ``AE``, ``AR``), the control id it answers and its text
    (MSA-3, else ERR-8); refused (:class:`HL7Refusal`) when it is not an ACK."""
    message = read_message(data)
    if component(message.segment("MSH"), 9, 1).upper() != "ACK":
        raise HL7Refusal("AR", "the answer is not an ACK", "MSH-9")
    msa = next((s for s in message if str(s[0]) == "MSA"), None)
    code = component(msa, 1).upper() if msa is not None else ""
    if msa is None or not code:
        raise HL7Refusal("AR", "the ACK has no acknowledgement code", "MSA-1")
    text = component(msa, 3)
    if not text:
        err = next((s for s in message if str(s[0]) == "ERR"), None)
        text = component(err, 8) if err is not None else ""
    return code, component(msa, 2), text
