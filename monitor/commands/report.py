"""`monitor report`: the quality summary for supervisors (issue #11).

Read-only and, as interface.md gives it, without `--by`: like `session show` and `audit`, it
reads what anyone with access to the database may read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

from monitor import cli as base

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


def _lines(r: QualityReport) -> Iterator[str]:
    yield (
        f"Quality summary: sessions discharged {base._local(r.since)} to "
        f"{base._local(r.until) if r.until else 'the end'}\n"
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


@base.cli.command("report")
@click.option("--from", "since", required=True, help=f"Discharged at or after ({base.FROM_HELP})")
@click.option("--to", "until", required=True, help=f"Discharged at or before ({base.TO_HELP})")
@click.option("--json", "as_json", is_flag=True, help="Print as one JSON object.")
@base.pass_context
def report(context: base.Context, since: str, until: str, as_json: bool) -> None:
    """The quality summary of the sessions discharged in a period: sessions by protocol, checks
    on time / late / missed, minutes to acknowledge high flags (median, 90th percentile),
    severe BP, overrides, late entries, adverse events by type, REMS forms overdue."""
    start, end = base._period(context, since, until)
    summary = context.service.quality_report(start, end)
    if as_json:
        base._echo_json(report_json(summary))
    else:
        base._write(_lines(summary))
