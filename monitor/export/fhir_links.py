"""FHIR R4B: the resources that tie a session's Observations together (docs/exports.md,
"FHIR R4"): the Patient (an identifier only: monitor keeps no names), the Encounter (the
session, dosing to discharge), and one Provenance for each change of the record (a correction,
a void) and each step of its review (a sign-off, a reopening).

Every resource has a stable ``fullUrl`` ``urn:uuid:`` (a UUID 5 of the session and the
resource's id; the Patient's of its identifier, so that one patient has one ``fullUrl`` in
every Bundle), by which the others reference it.

Why Provenance and not ``Observation.derivedFrom`` for a correction: ``derivedFrom`` is for a
value computed from other measurements; FHIR records a new version of a record with a
Provenance whose ``entity`` has the role ``revision`` (the version it replaces), whose
``activity`` says what was done and whose ``reason`` says why.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.export.common import iso
from monitor.present.review import Step, review_steps

if TYPE_CHECKING:
    from monitor.views import SessionView

PATIENT_SYSTEM = "urn:monitor:patient"
SESSION_SYSTEM = "urn:monitor:session"
UCUM = "http://unitsofmeasure.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
DOCUMENT_COMPLETION = "http://terminology.hl7.org/CodeSystem/v3-DocumentCompletion"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
#: monitor's own codes for the review's steps (FHIR's activity codes have none for a
#: withdrawn sign-off).
REVIEW_SYSTEM = "urn:monitor:review"
NAMESPACE = uuid.UUID("6f1c3d3e-2b7a-5d4e-9c1a-7e0b3f2a9d41")


def full_url(view: SessionView, resource_id: str) -> str:
    """The ``fullUrl`` of one of a session's resources: stable from export to export."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'session/{view.id}/{resource_id}')}"


def patient_uuid(view: SessionView) -> str:
    """The Patient's id: a UUID 5 of its identifier, the same in every session's Bundle."""
    return str(uuid.uuid5(NAMESPACE, f"patient/{view.patient}"))


def encounter_id(view: SessionView) -> str:
    """The Encounter's id (the session's)."""
    return f"session-{view.id}"


def patient_reference(view: SessionView) -> dict[str, Any]:
    """``subject``: the Patient entry, and its identifier (for a consumer that takes the
    resources out of their Bundle)."""
    return {
        "reference": f"urn:uuid:{patient_uuid(view)}",
        "type": "Patient",
        "identifier": {"system": PATIENT_SYSTEM, "value": view.patient},
    }


def encounter_reference(view: SessionView) -> dict[str, Any]:
    """``encounter``: the Encounter entry, and the session's identifier."""
    return {
        "reference": full_url(view, encounter_id(view)),
        "type": "Encounter",
        "identifier": {"system": SESSION_SYSTEM, "value": str(view.id)},
    }


def patient(view: SessionView) -> dict[str, Any]:
    """The Patient: its identifier alone."""
    return {
        "resourceType": "Patient",
        "id": patient_uuid(view),
        "identifier": [{"system": PATIENT_SYSTEM, "value": view.patient}],
    }


def encounter_status(view: SessionView) -> str:
    """``in-progress`` from dosing to discharge, ``finished`` after; ``arrived`` before
    dosing (the patient is there, the observation has not begun); ``cancelled`` for a session
    discharged without a dose (the observation ended before it began)."""
    if view.discharged_at is None:
        return "arrived" if view.dosed_at is None else "in-progress"
    return "cancelled" if view.dosed_at is None else "finished"


def encounter(view: SessionView) -> dict[str, Any]:
    """The Encounter: the session, its period the observation's (dosing to discharge, open
    while observed), its length the minutes monitored once discharged."""
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": encounter_id(view),
        "identifier": [{"system": SESSION_SYSTEM, "value": str(view.id)}],
        "status": encounter_status(view),
        "class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
        "type": [{"text": f"post-dose observation ({view.protocol})"}],
        "subject": patient_reference(view),
    }
    if view.dosed_at is not None:
        period = {"start": iso(view.dosed_at)}
        if view.discharged_at is not None:
            period["end"] = iso(view.discharged_at)
            if view.minutes_monitored is not None:
                resource["length"] = {
                    "value": view.minutes_monitored,
                    "unit": "min",
                    "system": UCUM,
                    "code": "min",
                }
        resource["period"] = period
    return resource


def _concept(system: str, code: str, display: str, text: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": text}


CORRECTION = _concept(DATA_OPERATION, "UPDATE", "revise", "correction")
VOID = _concept(DATA_OPERATION, "NULLIFY", "nullify", "voided (entered in error)")
SIGN_OFF = {
    "coding": [
        {"system": DOCUMENT_COMPLETION, "code": "AU", "display": "authenticated"},
        {"system": REVIEW_SYSTEM, "code": "sign-off", "display": "signed off: reviewed"},
    ],
    "text": "signed off: reviewed",
}
REOPEN = _concept(
    REVIEW_SYSTEM, "reopen", "sign-off withdrawn (reopened)", "sign-off withdrawn (reopened)"
)


def provenance(
    resource_id: str,
    *,
    targets: Sequence[tuple[str, str]],
    at: datetime,
    by: str,
    role: str,
    activity: Mapping[str, Any],
    reason: str | None = None,
    revised: Sequence[str] = (),
) -> dict[str, Any]:
    """One Provenance: what (``targets``, each a type and a ``fullUrl``), when, who (by
    login name: ``agent.who.display``) in which role, what was done and why; ``revised``: the
    ``fullUrl`` of each version the activity replaced (``entity`` role ``revision``)."""
    resource: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": resource_id,
        "target": [{"reference": url, "type": kind} for kind, url in targets],
        "occurredDateTime": iso(at),
        "recorded": iso(at),
        "activity": dict(activity),
        "agent": [
            {
                "type": _concept(PARTICIPANT_TYPE, role, role.capitalize(), role),
                "who": {"display": by},
            }
        ],
    }
    if reason:
        resource["reason"] = [{"text": reason}]
    if revised:
        resource["entity"] = [
            {"role": "revision", "what": {"reference": url, "type": "Observation"}}
            for url in revised
        ]
    return resource


def changes(
    view: SessionView, observed: Mapping[int, Mapping[str, str]]
) -> list[tuple[datetime, dict[str, Any]]]:
    """The Provenance of the record's changes, each with its time: for a correction one per
    measure (the BP panel one), its target the correction's Observation and its ``revision``
    entity the corrected reading's of that measure (none for a measure the correction adds;
    a measure it drops is the target alone, withdrawn), with who, when and the reason; for a
    void one targeting the voided reading's Observations, with who, when and why.
    ``observed``: each reading's Observations' ``fullUrl`` by their id's suffix (``bp``)."""
    found: list[tuple[datetime, dict[str, Any]]] = []
    for reading in view.readings:
        mine = observed.get(reading.id, {})
        if reading.corrects is not None:
            before = observed.get(reading.corrects, {})
            for kind in [*mine, *(k for k in before if k not in mine)]:
                resource = provenance(
                    f"correction-{reading.id}-{kind}",
                    targets=[("Observation", mine.get(kind) or before[kind])],
                    at=reading.recorded_at,
                    by=reading.recorded_by,
                    role="author",
                    activity=CORRECTION,
                    reason=reading.reason,
                    revised=[before[kind]] if kind in before and kind in mine else [],
                )
                found.append((reading.recorded_at, resource))
        if reading.voided is not None and mine:
            resource = provenance(
                f"void-{reading.id}",
                targets=[("Observation", url) for url in mine.values()],
                at=reading.voided.at,
                by=reading.voided.by,
                role="author",
                activity=VOID,
                reason=reading.voided.reason,
            )
            found.append((reading.voided.at, resource))
    return found


def review(view: SessionView) -> list[tuple[datetime, dict[str, Any]]]:
    """A Provenance for each step of the review (:func:`monitor.present.review.review_steps`:
    every sign-off, withdrawn ones too, and every reopening, with who, when and why), each
    targeting the Encounter, oldest first."""
    target = [("Encounter", full_url(view, encounter_id(view)))]
    counted = {Step.SIGNED: 0, Step.REOPENED: 0}
    found: list[tuple[datetime, dict[str, Any]]] = []
    for step in review_steps(view):
        counted[step.action] += 1
        n = counted[step.action]
        signed = step.action is Step.SIGNED
        resource = provenance(
            f"session-{view.id}-{'sign-off' if signed else 'reopen'}-{n}",
            targets=target,
            at=step.at,
            by=step.by,
            role="verifier" if signed else "author",
            activity=SIGN_OFF if signed else REOPEN,
            reason=step.reason,  # a reopening's; a sign-off has none
        )
        found.append((step.at, resource))
    return found
