"""The JSON shapes of docs/interface.md (``session show --json``, ``session list --json``,
readings): the plain views the services hand back turned into the contract's objects.

Revision 3 adds who did what everywhere (docs/interface.md, "session show --json"): who
started, dosed, overrode and co-signed, ended the infusion (and corrected its end), discharged
and signed off; per reading whether it was entered after discharge, the check it served, its
source and who validated it; per flag how it was raised and who co-signed its
acknowledgement; per event its alarm. Issue 22 adds ``review.history``: every sign-off and
reopening in order. Every earlier field is kept."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor.core.schedule import CheckSkip, CheckState
from monitor.present.review import review_steps
from monitor.unreadable import STORED_GATE
from monitor.views import (
    EventView,
    FlagView,
    InfusionEndCorrectionView,
    ReadingView,
    SessionSummary,
    SessionView,
    VoidView,
)


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
        "cosigned_by": flag.cosigned_by,
        "raised_by": flag.raised_by,
        "raised_at": iso(flag.raised_at),
        "config_version": flag.config_version,
        "unreadable": None if flag.unreadable is None else str(flag.unreadable),
    }


def _validated(reading: ReadingView) -> dict[str, Any] | None:
    """Who stands behind a reading's values: a typed reading its recorder, when it was saved;
    a device reading the nurse who validated it (null while it awaits one)."""
    if not reading.from_device:
        return {"by": reading.recorded_by, "at": iso(reading.recorded_at)}
    by, at = reading.validated_by, reading.validated_at
    return None if by is None else {"by": by, "at": iso(at)}


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
        "entered_after_discharge": reading.entered_after_discharge,
        "served_check": reading.served_check,
        "source": reading.source,
        "validated": _validated(reading),
        "flags": [flag_json(f) for f in reading.flags],
    }


def _void_json(void: VoidView | None) -> dict[str, Any] | None:
    return None if void is None else {"by": void.by, "at": iso(void.at), "reason": void.reason}


def _skip_json(skip: CheckSkip | None) -> dict[str, Any] | None:
    return None if skip is None else {"by": skip.by, "at": iso(skip.at), "reason": skip.reason}


def alarm_json(alarm: FlagView | None) -> dict[str, Any] | None:
    """A serious event's alarm: its flag id (``flag ack ID`` acknowledges it), severity, and
    who acknowledged and co-signed it; null for an event without one."""
    if alarm is None:
        return None
    return {
        "id": alarm.id,
        "severity": alarm.severity.value,
        "acknowledged": alarm.acknowledged,
        "by": alarm.acknowledged_by,
        "cosigned_by": alarm.cosigned_by,
        "at": iso(alarm.acknowledged_at),
        "action": alarm.action,
    }


def event_json(event: EventView) -> dict[str, Any]:
    """One note, adverse event or intervention, with its alarm."""
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
        "alarm": alarm_json(event.alarm),
    }


def _cancelled_json(check: CheckState) -> dict[str, Any] | None:
    """A recheck a correction cancelled: ``{reason}`` (null otherwise, and before the schedule
    tells it)."""
    cancelled = getattr(check, "cancelled", None)
    if cancelled is None or cancelled is False:
        return None
    if isinstance(cancelled, str):
        return {"reason": cancelled}
    reason = getattr(cancelled, "reason", None)
    return {"reason": None if reason is None else str(reason)}


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
        "cancelled": _cancelled_json(check),
    }


def _correction_json(fix: InfusionEndCorrectionView) -> dict[str, Any]:
    return {
        "at": iso(fix.at),
        "by": fix.by,
        "reason": fix.reason,
        "previous": iso(fix.previous),
        "ended_at": iso(fix.ended_at),
    }


def infusion_end_json(view: SessionView) -> dict[str, Any] | None:
    """The infusion end as recorded: when (the time in force), who recorded it, and every
    correction (when, who, why, the time it replaced); null while not recorded."""
    if view.infusion_ended_at is None and not view.infusion_end_corrections:
        return None
    return {
        "at": iso(view.infusion_ended_at),
        "by": view.infusion_ended_by,
        "corrections": [_correction_json(fix) for fix in view.infusion_end_corrections],
    }


def _stored_gate_json(view: SessionView) -> dict[str, Any] | None:
    """The gate stored at discharge as it was kept, with the rules version it used (null in a
    record stored before versions); ``{"unreadable": why}`` when it was stored but cannot be
    read (docs/storage.md, "Unreadable records")."""
    if (marker := view.unreadable_part(STORED_GATE)) is not None:
        return {"unreadable": marker.why}
    if view.stored_gate is None:
        return None
    record = dict(view.stored_gate.record)
    record.setdefault("config_version", None)
    return record


def _gate_now_json(view: SessionView) -> dict[str, Any] | None:
    """After discharge, when the record changed since: the gate judged again on it."""
    if view.gate_now is None:
        return None
    return {"ready": view.gate_now.ready, "reasons": list(view.gate_now.reasons)}


def review_history_json(view: SessionView) -> list[dict[str, Any]]:
    """Every sign-off and reopening in the order they happened
    (:func:`monitor.present.review.review_steps`): ``{action, by, at, reason, withdrawn}``,
    ``action`` ``signed`` or ``reopened``, ``reason`` a reopening's (null for a sign-off),
    ``withdrawn`` true for a sign-off a reopening withdrew."""
    return [
        {
            "action": step.action.value,
            "by": step.by,
            "at": iso(step.at),
            "reason": step.reason,
            "withdrawn": step.withdrawn,
        }
        for step in review_steps(view)
    ]


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
        "config_version": view.config_version,
        "dosed_at": iso(view.dosed_at),
        "dosed_by": view.dosed_by,
        "dose_override_reason": view.dose_override_reason,
        "dose_override_by": view.dose_override_by,
        "dose_override_cosigned_by": view.dose_override_cosigned_by,
        "dosing_refusals": list(view.dosing_refusals),
        "infusion_ended_at": iso(view.infusion_ended_at),
        "infusion_end": infusion_end_json(view),
        "minutes_monitored": view.minutes_monitored,
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
            "by": view.discharged_by,
            "override_reason": view.override_reason,
            "override_by": view.discharged_by if view.override_reason else None,
            "cosigned_by": view.discharge_cosigned_by,
            "ended_early": view.ended_early,
            "escort": view.escort,
            "instructions_given": view.instructions_given,
            "ready_minute_proposed": view.ready_minute_proposed,
            "ready_minute": view.ready_minute,
            "ready_minute_by": view.ready_minute_by,
            "gate_at_discharge": _stored_gate_json(view),
            "gate_now": _gate_now_json(view),
        },
        "review": {
            "signed_by": view.signed_by,
            "signed_at": iso(view.signed_at),
            "reopened": [{"by": r.by, "at": iso(r.at), "reason": r.reason} for r in view.reopened],
            "signoffs": [{"by": s.by, "at": iso(s.at)} for s in view.signoffs],
            "rems_changed_after_discharge": list(view.rems_changed_after_discharge),
            "history": review_history_json(view),
        },
        # What could not be read (docs/storage.md, "Unreadable records"); empty as a rule.
        "unreadable": [str(u) for u in view.unreadable],
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
