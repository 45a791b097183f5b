"""The JSON shapes of interface.md (``session show --json`` and friends)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor.core.schedule import CheckState
from monitor.views import FlagView, ReadingView, SessionSummary, SessionView


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
        "flags": [flag_json(f) for f in reading.flags],
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
    }


def session_json(view: SessionView) -> dict[str, Any]:
    """The ``session show --json`` object (interface.md)."""
    alarms = [
        {
            "measure": "schedule",
            "severity": "medium",
            "rule": "schedule.overdue",
            "message": f"{c.label} check overdue",
        }
        for c in view.checks
        if c.is_alarm
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
        "dosed_at": iso(view.dosed_at),
        "status": view.status,
        "as_of": iso(view.as_of),
        "readings": [reading_json(r) for r in view.readings],
        "checks": [check_json(c) for c in view.checks],
        "alarms": alarms,
        "discharge": {
            "ready": view.gate.ready,
            "reasons": list(view.gate.reasons),
            "discharged_at": iso(view.discharged_at),
            "discharged_by": view.discharged_by,
            "override_reason": view.override_reason,
            "ready_minute": view.ready_minute,
        },
        "review": {"signed_by": view.signed_by, "signed_at": iso(view.signed_at)},
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
