"""FHIR R4 export: one ``collection`` Bundle per session, one Bundle per line (NDJSON, as
FHIR bulk data writes resources): the Patient, the Encounter, the vital-signs Observations and
the Provenance of the record's changes and review (:mod:`monitor.export.fhir_links`).

Mapping (docs/exports.md, "FHIR R4"):

- a reading's BP is a panel (LOINC 85354-9) with systolic (8480-6) and diastolic (8462-4)
  components in ``mm[Hg]``; heart rate 8867-4 and respiratory rate 9279-1 in ``/min``; SpO2
  59408-5 (with 2708-6, which the R4 vital-signs profile asks for) in ``%``; category
  ``vital-signs``. MOAA/S and CADSS have no LOINC code: an Observation with a text code,
  category ``survey``, an integer value.
- interpretation from the reading's flags on that measure, the most severe one: a high flag
  above / below its band ``HH`` / ``LL``, a medium or low one ``H`` / ``L``, a before-dosing
  review limit ``H``, a rise from the baseline ``A`` (abnormal: the value itself may be
  normal). For the BP panel each component carries its own, the panel the most severe.
- status: a reading in force ``final``; a correction ``corrected`` on the Observations whose
  value (or time) it changed and ``final`` on those it repeats unchanged or adds; a voided
  reading and a reading a correction superseded are ``entered-in-error`` (both withdrawn, so
  that a consumer counting values counts the correction alone), each with a note saying which
  it is and why, and a Provenance saying it structurally.
- a reading from a bedside monitor (docs/devices.md) names its device (``device``, by display
  and identifier ``urn:monitor:device``); it is ``preliminary`` while it awaits a nurse's
  validation, with no performer (the device measured it; nobody has vouched for it yet), and
  ``final`` once validated, the validating nurse its performer; a note says which.
- ``subject`` and ``encounter`` reference the Bundle's Patient (an identifier only) and
  Encounter entries; the recording user is the performer by display name; flags and their
  acknowledgements (who, the co-signing clinician, a flag raised when the baseline changed),
  late entries, entries after discharge and corrections are notes.

Every Bundle is validated with ``fhir.resources``' R4B models before it is written (R4B's
Observation and Bundle match R4 for these elements); a Bundle that does not validate stops the
export and leaves no file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from monitor.export.common import ack_text, flag_text, iso
from monitor.export.fhir_links import (
    PATIENT_SYSTEM,
    SESSION_SYSTEM,
    UCUM,
    changes,
    encounter,
    encounter_id,
    encounter_reference,
    full_url,
    patient,
    patient_reference,
    review,
)
from monitor.present.record import NoteKind, ReadingNote, reading_notes
from monitor.present.validation import FROM_MONITOR, NOT_VALIDATED, device_name

if TYPE_CHECKING:
    from monitor.views import FlagView, ReadingView, SessionView

LOINC = "http://loinc.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
READING_SYSTEM = "urn:monitor:reading"
DEVICE_SYSTEM = "urn:monitor:device"
__all__ = ["PATIENT_SYSTEM", "SESSION_SYSTEM", "bundle", "observations", "validate"]

_INTERPRETATIONS = {
    "HH": "Critical high",
    "LL": "Critical low",
    "H": "High",
    "L": "Low",
    "A": "Abnormal",
}
_RANK = {"HH": 3, "LL": 3, "H": 2, "L": 2, "A": 1}

#: measure -> (observation id suffix, LOINC codings, UCUM unit, unit display)
_SIMPLE: dict[str, tuple[str, list[tuple[str, str]], str, str]] = {
    "heart_rate": ("hr", [("8867-4", "Heart rate")], "/min", "beats/minute"),
    "spo2": (
        "spo2",
        [
            ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
            ("2708-6", "Oxygen saturation in Arterial blood"),
        ],
        "%",
        "%",
    ),
    "resp_rate": ("rr", [("9279-1", "Respiratory rate")], "/min", "breaths/minute"),
}
_SCORES = {
    "moaas": ("moaas", "MOAA/S (Modified Observer's Assessment of Alertness/Sedation) score"),
    "cadss": ("cadss", "CADSS (Clinician-Administered Dissociative States Scale) total score"),
}


def interpretation_code(flag: FlagView) -> str:
    """The v3 ObservationInterpretation code of one flag (``HH``, ``LL``, ``H``, ``L``,
    ``A``)."""
    if flag.rule.startswith("bp.rise."):
        return "A"
    if flag.rule.startswith("bp.predose."):
        return "H"
    below = flag.rule.endswith(".below")
    if flag.severity.value == "high":
        return "LL" if below else "HH"
    return "L" if below else "H"


def _interpretation(flags: Iterable[FlagView]) -> list[dict[str, Any]] | None:
    codes = [interpretation_code(f) for f in flags]
    if not codes:
        return None
    code = max(codes, key=lambda c: _RANK[c])
    return [
        {
            "coding": [{"system": INTERPRETATION, "code": code, "display": _INTERPRETATIONS[code]}],
            "text": _INTERPRETATIONS[code],
        }
    ]


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": CATEGORY, "code": code, "display": display}]}]


def _loinc(codes: list[tuple[str, str]], text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {
        "coding": [{"system": LOINC, "code": c, "display": d} for c, d in codes]
    }
    if text:
        concept["text"] = text
    return concept


def _quantity(value: int, code: str, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


#: Each Observation's measures, by the suffix of its id.
_MEASURES = {
    "bp": ("systolic", "diastolic"),
    **{kind: (measure,) for measure, (kind, *_) in _SIMPLE.items()},
    **{kind: (measure,) for measure, (kind, _) in _SCORES.items()},
}


def changed(view: SessionView, reading: ReadingView, kind: str) -> bool:
    """Whether a correction changed this Observation of the reading it corrects: a value of
    its measures, or the time it was measured. A measure the corrected reading lacked is new,
    not changed; a corrected reading that could not be read whole counts as changed."""
    if reading.corrects is None:
        return False
    original = view.reading(reading.corrects)
    if original is None or original.unreadable is not None:
        return True
    measures = _MEASURES[kind]
    before = [getattr(original.vitals, m) for m in measures]
    if all(value is None for value in before):
        return False
    now = [getattr(reading.vitals, m) for m in measures]
    return before != now or original.measured_at != reading.measured_at


def status(view: SessionView, reading: ReadingView, kind: str) -> str:
    """``entered-in-error`` for a reading voided or superseded by a correction; for a
    correction ``corrected`` on the Observations it changed and ``final`` on the others (a
    measure it repeats unchanged, one it adds); ``preliminary`` for a device reading awaiting
    a nurse's validation; ``final`` for any other reading."""
    if reading.voided is not None or reading.superseded_by is not None:
        return "entered-in-error"
    if reading.awaits_validation:
        return "preliminary"
    return "corrected" if changed(view, reading, kind) else "final"


#: How FHIR words each of a reading's notes (:func:`monitor.present.record.reading_notes`);
#: "before dosing" is the Observation's time against the dose's, not a note.
_NOTE_TEXT: dict[NoteKind, Callable[[ReadingNote], str]] = {
    NoteKind.LATE: lambda n: f"late entry: saved {iso(n.at)}",
    NoteKind.AFTER_DISCHARGE: lambda n: f"entered after discharge: saved {iso(n.at)} by {n.by}",
    NoteKind.CORRECTS: lambda n: f"corrects reading {n.other}: {n.reason}",
    NoteKind.SUPERSEDED: lambda n: f"superseded by the correction in reading {n.other}",
    NoteKind.VOIDED: lambda n: f"voided (entered in error) by {n.by} at {iso(n.at)}: {n.reason}",
}


def flag_note(flag: FlagView) -> str:
    """A flag and its acknowledgement as a note: who acknowledged it and the clinician who
    co-signed, and when a flag was raised when the baseline changed."""
    text = f"{flag_text(flag)}; {ack_text(flag)}"
    if flag.cosigned_by:
        text += f"; co-signed by {flag.cosigned_by}"
    if flag.raised_by == "baseline change":
        text += "; raised when the baseline changed"
        if flag.raised_at is not None:
            text += f" at {iso(flag.raised_at)}"
    return text


def device_note(reading: ReadingView) -> str | None:
    """Where a device reading came from and who validated it, when (None: typed)."""
    name = device_name(reading)
    if name is None:
        return None
    if reading.validated_at is None:
        return f"{FROM_MONITOR} {name}, {NOT_VALIDATED} (saved by {reading.recorded_by})"
    return (
        f"{FROM_MONITOR} {name}, validated by {reading.validated_by} at {iso(reading.validated_at)}"
    )


def _performer(reading: ReadingView) -> list[dict[str, str]] | None:
    """Who vouches for the values: a typed reading's recorder, a device reading's validating
    nurse (none while it awaits one)."""
    if not reading.from_device:
        return [{"display": reading.recorded_by}]
    return None if reading.validated_by is None else [{"display": reading.validated_by}]


def _notes(reading: ReadingView, flags: Iterable[FlagView]) -> list[dict[str, Any]]:
    device = device_note(reading)
    texts = [device] if device else []
    texts += [_NOTE_TEXT[n.kind](n) for n in reading_notes(reading) if n.kind in _NOTE_TEXT]
    texts += [flag_note(f) for f in flags]
    return [{"text": t} for t in texts]


def _observation(
    view: SessionView, reading: ReadingView, kind: str, flags: list[FlagView], **body: Any
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"reading-{reading.id}-{kind}",
        "identifier": [{"system": READING_SYSTEM, "value": f"{reading.id}-{kind}"}],
        "status": status(view, reading, kind),
        **body,
        "subject": patient_reference(view),
        "encounter": encounter_reference(view),
        "effectiveDateTime": iso(reading.measured_at),
        "issued": iso(reading.recorded_at),
    }
    performer = _performer(reading)
    if performer:
        resource["performer"] = performer
    name = device_name(reading)
    if name is not None:
        resource["device"] = {
            "display": name,
            "identifier": {"system": DEVICE_SYSTEM, "value": name},
        }
    interpretation = _interpretation(flags)
    if interpretation and "component" not in body:
        resource["interpretation"] = interpretation
    notes = _notes(reading, flags)
    if notes:
        resource["note"] = notes
    return resource


def observations(view: SessionView, reading: ReadingView) -> list[dict[str, Any]]:
    """The Observations of one reading (one per measure present; BP as one panel)."""
    vitals = reading.vitals
    by_measure: dict[str, list[FlagView]] = {}
    for f in reading.flags:
        by_measure.setdefault(f.measure, []).append(f)
    found = []
    if vitals.systolic is not None or vitals.diastolic is not None:
        components = []
        bp_flags: list[FlagView] = []
        for measure, code, display in (
            ("systolic", "8480-6", "Systolic blood pressure"),
            ("diastolic", "8462-4", "Diastolic blood pressure"),
        ):
            value = getattr(vitals, measure)
            if value is None:
                continue
            component: dict[str, Any] = {
                "code": _loinc([(code, display)]),
                "valueQuantity": _quantity(value, "mm[Hg]", "mmHg"),
            }
            flags = by_measure.get(measure, [])
            bp_flags += flags
            interpretation = _interpretation(flags)
            if interpretation:
                component["interpretation"] = interpretation
            components.append(component)
        panel = _observation(
            view,
            reading,
            "bp",
            bp_flags,
            category=_category("vital-signs", "Vital Signs"),
            code=_loinc(
                [("85354-9", "Blood pressure panel with all children optional")], "Blood pressure"
            ),
            component=components,
        )
        interpretation = _interpretation(bp_flags)
        if interpretation:
            panel["interpretation"] = interpretation
        found.append(panel)
    for measure, (kind, codes, unit_code, unit) in _SIMPLE.items():
        value = getattr(vitals, measure)
        if value is None:
            continue
        found.append(
            _observation(
                view,
                reading,
                kind,
                by_measure.get(measure, []),
                category=_category("vital-signs", "Vital Signs"),
                code=_loinc(codes),
                valueQuantity=_quantity(value, unit_code, unit),
            )
        )
    for measure, (kind, text) in _SCORES.items():
        value = getattr(vitals, measure)
        if value is None:
            continue
        found.append(
            _observation(
                view,
                reading,
                kind,
                by_measure.get(measure, []),
                category=_category("survey", "Survey"),
                code={"text": text},
                valueInteger=value,
            )
        )
    return found


def bundle(view: SessionView, timestamp: datetime) -> dict[str, Any]:
    """One session's Bundle (type ``collection``): the Patient, the Encounter, every reading's
    Observations, then a Provenance for each correction, void, sign-off and reopening, oldest
    first; each entry with its stable ``urn:uuid:`` ``fullUrl``."""
    entries = [
        {"fullUrl": f"urn:uuid:{patient(view)['id']}", "resource": patient(view)},
        {"fullUrl": full_url(view, encounter_id(view)), "resource": encounter(view)},
    ]
    observed: dict[int, dict[str, str]] = {}
    for reading in view.readings:
        for resource in observations(view, reading):
            url = full_url(view, resource["id"])
            observed.setdefault(reading.id, {})[resource["id"].rsplit("-", 1)[1]] = url
            entries.append({"fullUrl": url, "resource": resource})
    history = changes(view, observed) + review(view)
    history.sort(key=lambda step: step[0])  # stable: one moment's steps keep their order
    entries += [
        {"fullUrl": full_url(view, resource["id"]), "resource": resource} for _, resource in history
    ]
    return {
        "resourceType": "Bundle",
        "id": f"session-{view.id}",
        "identifier": {"system": SESSION_SYSTEM, "value": str(view.id)},
        "type": "collection",
        "timestamp": iso(timestamp),
        "entry": entries,
    }


def validate(data: dict[str, Any]) -> None:
    """Refuse a Bundle the R4B models do not accept (a bug of ours: the export stops)."""
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(data)


def write_bundles(out: BinaryIO, views: Iterable[SessionView], timestamp: datetime) -> int:
    """Write one validated Bundle per session, one per line; returns the Observations
    written."""
    count = 0
    for view in views:
        data = bundle(view, timestamp)
        validate(data)
        out.write(json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n")
        count += sum(e["resource"]["resourceType"] == "Observation" for e in data["entry"])
    return count
