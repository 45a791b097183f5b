"""The quality summary in lines, as the desk shows it.

Formatting only (the presentation layer, monitor/present/, will tell this story once)."""

from __future__ import annotations

from datetime import date, timedelta

from monitor.services.report import QualityReport
from tui.reports.periods import plural


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:g} min"


def quality_lines(report: QualityReport) -> list[tuple[str, str]]:
    """Every figure of the quality summary (issue #11, item 6) as (label, value) lines."""
    lines: list[tuple[str, str]] = []
    by_protocol = ", ".join(f"{p} {n}" for p, n in report.by_protocol.items())
    lines.append(("Sessions", f"{report.sessions}" + (f": {by_protocol}" if by_protocol else "")))
    if report.checks:
        lines.append(
            (
                "Checks after dosing",
                f"{report.checks}: on time {report.checks_on_time} "
                f"({_percent(report.share_on_time)}), late {report.checks_late} "
                f"({_percent(report.share_late)}), missed {report.checks_missed} "
                f"({_percent(report.share_missed)}), not reached {report.checks_open}",
            )
        )
    else:
        lines.append(("Checks after dosing", "none"))
    if report.high_flags:
        lines.append(
            (
                "High flag → ack",
                f"median {_minutes(report.high_ack_median_min)}, 90th percentile "
                f"{_minutes(report.high_ack_p90_min)} ({report.high_acknowledged} acknowledged, "
                f"{report.high_unacknowledged} never)",
            )
        )
    else:
        lines.append(("High flag → ack", "no high flags"))
    lines.append(
        (
            "Severe BP",
            f"{plural(report.severe_bp_sessions, 'session')} with a high flag on SBP or DBP "
            "above its limit",
        )
    )
    lines.append(("Override discharges", f"{report.override_discharges}"))
    lines.append(
        (
            "Late entries",
            f"{plural(report.late_entries, 'reading')} in "
            f"{plural(report.late_entry_sessions, 'session')}",
        )
    )
    types = ", ".join(f"{t} {n}" for t, n in report.adverse_by_type.items())
    lines.append(
        (
            "Adverse events",
            f"{report.adverse_events} ({report.serious_adverse_events} serious)"
            + (f": {types}" if types else ""),
        )
    )
    if report.rems_overdue is None:
        lines.append(("REMS forms overdue", report.rems_note or "not available"))
    else:
        lines.append(
            (
                "REMS forms overdue",
                f"{report.rems_overdue} not marked submitted, of {report.rems_past_due} past "
                "their due date",
            )
        )
    return lines


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())
