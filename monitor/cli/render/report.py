"""The quality summary as ``monitor report`` prints it: one JSON object, or the lines of text
of :mod:`monitor.present.quality` (docs/interface.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from monitor.cli.output import story_text
from monitor.present.quality import quality_story, text_lines

if TYPE_CHECKING:
    from monitor.core.quality import QualityReport


def report_json(report: QualityReport) -> dict[str, Any]:
    """The summary as one JSON object."""
    from monitor.present.json import iso

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
            "ended_early": report.checks_ended_early,
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
        "unreadable": list(report.unreadable),
    }


def report_text(report: QualityReport) -> Iterator[str]:
    """The summary as lines of text, one per figure, as :mod:`monitor.present.quality` tells
    it."""
    return story_text(text_lines(quality_story(report)))
