"""The quality summary told once: its title and a labelled row per figure (docs/interface.md,
``monitor report``; docs/clinical.md, the quality figures).

The command line prints each row as ``label: value``, the station draws the labels and values
in two columns, an export prints them as pairs; none of them words a figure again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from monitor.present.parts import Line, Part, Role, Row, local_minute, plural
from monitor.present.record import minutes_text

if TYPE_CHECKING:
    from monitor.core.quality import QualityReport


@dataclass(frozen=True)
class QualityStory:
    """The summary's title (its period) and one row per figure."""

    title: Line
    rows: tuple[Row, ...]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _minutes(value: float | None) -> str:
    return "-" if value is None else minutes_text(value)


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {n}" for key, n in counts.items())


def _row(label: str, *value: Part | str) -> Row:
    return Row(label, tuple(p if isinstance(p, Part) else Part(p) for p in value))


def _alert_if(count: int, text: str) -> Part:
    return Part(text, Role.ALERT if count else Role.PLAIN)


def quality_story(report: QualityReport) -> QualityStory:
    """Every figure of the quality summary of ``report``'s period."""
    r = report
    until = local_minute(r.until) if r.until else "the end"
    title = (Part(f"Quality summary: sessions discharged {local_minute(r.since)} to {until}"),)
    by_protocol = _counted(r.by_protocol)
    rows = [_row("Sessions", f"{r.sessions}" + (f": {by_protocol}" if by_protocol else ""))]
    if r.checks:
        rows.append(
            _row(
                "Checks after dosing",
                f"{r.checks}: on time {r.checks_on_time} ({_percent(r.share_on_time)}), "
                f"late {r.checks_late} ({_percent(r.share_late)}), ",
                _alert_if(
                    r.checks_missed, f"missed {r.checks_missed} ({_percent(r.share_missed)})"
                ),
                f", not reached {r.checks_open}"
                + (
                    f" (observation ended early: {r.checks_ended_early})"
                    if r.checks_ended_early
                    else ""
                ),
            )
        )
    else:
        rows.append(_row("Checks after dosing", "none"))
    if r.high_flags:
        rows.append(
            _row(
                "High flag → ack",
                f"median {_minutes(r.high_ack_median_min)}, "
                f"90th percentile {_minutes(r.high_ack_p90_min)} "
                f"({r.high_acknowledged} acknowledged, ",
                _alert_if(r.high_unacknowledged, f"{r.high_unacknowledged} never"),
                ")",
            )
        )
    else:
        rows.append(_row("High flag → ack", "no high flags"))
    rows.append(
        _row(
            "Severe BP",
            f"{plural(r.severe_bp_sessions, 'session')} with a high flag on SBP or DBP above "
            "its limit",
        )
    )
    rows.append(_row("Override discharges", f"{r.override_discharges}"))
    rows.append(
        _row(
            "Late entries",
            f"{plural(r.late_entries, 'reading')} in {plural(r.late_entry_sessions, 'session')}",
        )
    )
    types = _counted(r.adverse_by_type)
    rows.append(
        _row(
            "Adverse events",
            f"{r.adverse_events} (",
            _alert_if(r.serious_adverse_events, f"{r.serious_adverse_events} serious"),
            ")" + (f": {types}" if types else ""),
        )
    )
    if r.rems_overdue is None:
        rows.append(
            _row(
                "REMS forms overdue",
                r.rems_note or "not available",
                f" ({r.rems_past_due} past their due date)",
            )
        )
    else:
        rows.append(
            _row(
                "REMS forms overdue",
                _alert_if(r.rems_overdue, f"{r.rems_overdue} not marked submitted"),
                f", of {r.rems_past_due} past their due date",
            )
        )
    if r.unreadable:
        # Named, never dropped: the figures above count the rest of those sessions
        # (docs/storage.md, "Unreadable records").
        rows.append(
            Row(
                "Unreadable records",
                (Part(f"{len(r.unreadable)}: the figures count the rest", Role.ALERT),),
                tuple((Part(marker, Role.ALERT),) for marker in r.unreadable),
            )
        )
    return QualityStory(title, tuple(rows))


def text_lines(story: QualityStory) -> tuple[Line, ...]:
    """The story as lines of text: the title, then ``label: value`` a row a line (the notes
    of a row indented under it)."""
    lines: list[Line] = [story.title]
    for row in story.rows:
        lines.append((Part(f"{row.label}: "), *row.value))
        lines.extend((Part("  "), *note) for note in row.notes)
    return tuple(lines)
