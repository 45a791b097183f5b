"""The quality summary as ``monitor report`` prints it: one JSON object, or lines of text
(docs/interface.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from monitor.cli.output import local

if TYPE_CHECKING:
    from monitor.services.report import QualityReport


def report_json(report: QualityReport) -> dict[str, Any]:
    """The summary as one JSON object."""
    from monitor.jsonview import iso

    return {
        "from": iso(report.since),
        "to": iso(report.until),
        "period_of": "discharge",
        "sessions": report.sessions,
        "by_protocol": report.by_protocol,
        "checks": {
            "total": report.checks,
            "on_time": report.checks_on_time,
            "late": report.checks_late,
            "missed": report.checks_missed,
            "open_at_discharge": report.checks_open,
            "share_on_time": report.share_on_time,
            "share_late": report.share_late,
            "share_missed": report.share_missed,
        },
        "high_flags": {
            "total": report.high_flags,
            "acknowledged": report.high_acknowledged,
            "unacknowledged": report.high_unacknowledged,
            "ack_median_min": report.high_ack_median_min,
            "ack_p90_min": report.high_ack_p90_min,
        },
        "severe_bp_sessions": report.severe_bp_sessions,
        "override_discharges": report.override_discharges,
        "late_entries": {
            "readings": report.late_entries,
            "sessions": report.late_entry_sessions,
        },
        "adverse_events": {
            "total": report.adverse_events,
            "serious": report.serious_adverse_events,
            "by_type": report.adverse_by_type,
        },
        "rems": {
            "past_due": report.rems_past_due,
            "overdue": report.rems_overdue,
            "note": report.rems_note,
        },
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _min(value: float | None) -> str:
    return "-" if value is None else f"{value:g} min"


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {n}" for key, n in counts.items()) or "none"


def report_lines(r: QualityReport) -> Iterator[str]:
    """The summary as lines of text, one per measure."""
    yield (
        f"Quality summary: sessions discharged {local(r.since)} to "
        f"{local(r.until) if r.until else 'the end'}\n"
    )
    yield f"sessions: {r.sessions} ({_counted(r.by_protocol)})\n"
    yield (
        f"checks after dosing: {r.checks}: on time {r.checks_on_time} ({_pct(r.share_on_time)}), "
        f"late {r.checks_late} ({_pct(r.share_late)}), missed {r.checks_missed} "
        f"({_pct(r.share_missed)}), not reached by discharge {r.checks_open}\n"
    )
    yield (
        f"high flags: {r.high_flags}; minutes to acknowledgement: median "
        f"{_min(r.high_ack_median_min)}, 90th percentile {_min(r.high_ack_p90_min)} "
        f"(over {r.high_acknowledged}); unacknowledged {r.high_unacknowledged}\n"
    )
    yield f"sessions with severe BP: {r.severe_bp_sessions}\n"
    yield f"discharges by override: {r.override_discharges}\n"
    yield f"late entries: {r.late_entries} readings in {r.late_entry_sessions} sessions\n"
    yield (
        f"adverse events: {r.adverse_events} ({_counted(r.adverse_by_type)}); "
        f"serious {r.serious_adverse_events}\n"
    )
    if r.rems_overdue is None:
        yield f"REMS forms overdue: {r.rems_note} ({r.rems_past_due} past their due date)\n"
    else:
        yield f"REMS forms overdue: {r.rems_overdue} (of {r.rems_past_due} past their due date)\n"
