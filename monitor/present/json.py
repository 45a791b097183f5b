"""The JSON shapes of docs/interface.md (``session show --json``, ``session list --json``,
readings): the plain views the services hand back turned into the contract's objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor.core.schedule import CheckSkip, CheckState
from monitor.views import EventView, FlagView, ReadingView, SessionSummary, SessionView, VoidView


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with an offset (UTC), or ``None``."""
    return None if moment is None else moment.isoformat()


def _number(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def flag_json(flag: FlagView) -> dict[str, Any]:
    """One flag with its acknowledgement."""
    return {
        "id": flag.id,
        "measure": flag.measure,
        "severity": flag.severity.value,
        "rule": flag.rule,
        "message": flag.message,
        "acknowledged": flag.acknowledged,
        "acknowledged_by": flag.acknowledged_by,
        "acknowledged_at": iso(flag.acknowledged_at),
        "action": flag.action,
    }


def reading_json(reading: ReadingView) -> dict[str, Any]:
    """One reading, its values as columns, its flags, and what it corrects or is corrected by."""
    return {
        "id": reading.id,
        "measured_at": iso(reading.measured_at),
        "recorded_at": iso(reading.recorded_at),
        "recorded_by": reading.recorded_by,
        **reading.vitals.as_dict(),
        "before_dosing": reading.before_dosing,
        "superseded_by": reading.superseded_by,
        "corrects": reading.corrects,
        "reason": reading.reason,
        "voided": _void_json(reading.voided),
        "late_entry": reading.late_entry,
        "flags": [flag_json(f) for f in reading.flags],
    }


def _void_json(void: VoidView | None) -> dict[str, Any] | None:
    return None if void is None else {"by": void.by, "at": iso(void.at), "reason": void.reason}


def _skip_json(skip: CheckSkip | None) -> dict[str, Any] | None:
    return None if skip is None else {"by": skip.by, "at": iso(skip.at), "reason": skip.reason}


def event_json(event: EventView) -> dict[str, Any]:
    """One note, adverse event or intervention."""
    return {
        "id": event.id,
        "kind": event.kind,
        "type": event.type,
        "severity": event.severity,
        "serious": event.serious,
        "text": event.text,
        "at": iso(event.at),
        "recorded_at": iso(event.recorded_at),
        "by": event.by,
    }


def check_json(check: CheckState) -> dict[str, Any]:
    """One check and where it stands."""
    return {
        "label": check.label,
        "kind": check.kind.value,
        "due_at": iso(check.due_at),
        "measures": [m.value for m in check.measures],
        "status": check.status.value,
        "late": check.late,
        "pre_discharge": check.pre_discharge,
        "done_at": iso(check.done_at),
        "skipped": _skip_json(check.skip),
    }


def session_json(view: SessionView) -> dict[str, Any]:
    """The ``session show --json`` object (docs/interface.md)."""
    alarms = [
        {
            "measure": "schedule",
            "severity": "medium",
            "rule": f"schedule.{c.status.value}",
            "message": f"{c.label} check {c.status.value}",
        }
        for c in view.check_alarms()
    ]
    return {
        "id": view.id,
        "patient": view.patient,
        "protocol": view.protocol,
        "treatment": view.treatment,
        "dose_mg": _number(view.dose_mg),
        "age": view.age,
        "bay": view.bay,
        "lot": view.lot,
        "started_at": iso(view.started_at),
        "started_by": view.started_by,
        "weight_kg": _number(view.weight_kg),
        "first_treatment": view.first_treatment,
        "dose_number": view.dose_number,
        "meds": None if view.meds is None else list(view.meds),
        "dosed_at": iso(view.dosed_at),
        "dose_override_reason": view.dose_override_reason,
        "dosing_refusals": list(view.dosing_refusals),
        "infusion_ended_at": iso(view.infusion_ended_at),
        "status": view.status,
        "as_of": iso(view.as_of),
        "readings": [reading_json(r) for r in view.readings],
        "checks": [check_json(c) for c in view.checks],
        "alarms": alarms,
        "events": [event_json(e) for e in view.events],
        "discharge": {
            "ready": view.gate.ready,
            "reasons": list(view.gate.reasons),
            "discharged_at": iso(view.discharged_at),
            "discharged_by": view.discharged_by,
            "override_reason": view.override_reason,
            "escort": view.escort,
            "instructions_given": view.instructions_given,
            "ready_minute_proposed": view.ready_minute_proposed,
            "ready_minute": view.ready_minute,
            "ready_minute_by": view.ready_minute_by,
            "gate_at_discharge": None
            if view.stored_gate is None
            else dict(view.stored_gate.record),
        },
        "review": {
            "signed_by": view.signed_by,
            "signed_at": iso(view.signed_at),
            "reopened": [{"by": r.by, "at": iso(r.at), "reason": r.reason} for r in view.reopened],
        },
    }


def summary_json(summary: SessionSummary) -> dict[str, Any]:
    """One entry of ``session list --json``."""
    return {
        "id": summary.id,
        "patient": summary.patient,
        "protocol": summary.protocol,
        "bay": summary.bay,
        "status": summary.status,
        "started_at": iso(summary.started_at),
        "dosed_at": iso(summary.dosed_at),
        "discharged_at": iso(summary.discharged_at),
        "signed": summary.signed,
    }
