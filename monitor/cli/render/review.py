"""The supervisor's review queue as ``monitor review list`` prints it: a JSON object or a line
of text per session (docs/interface.md)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from monitor.cli.output import local, printable

if TYPE_CHECKING:
    from monitor.services.review import SessionFacts


def facts_json(row: SessionFacts) -> dict[str, Any]:
    """One session of the queue as JSON."""
    from monitor.present.json import iso

    return {
        "id": row.id,
        "patient": row.patient,
        "protocol": row.protocol,
        "started_at": iso(row.started_at),
        "started_by": row.started_by,
        "discharged_at": iso(row.discharged_at),
        "discharged_by": row.discharged_by,
        "recorded_by": list(row.recorded_by),
        "flags": {"high": row.flags_high, "medium": row.flags_medium, "low": row.flags_low},
        "slowest_high_ack_min": row.slowest_high_ack_min,
        "high_unacknowledged": row.high_unacknowledged,
        "checks": {
            "on_time": row.checks_on_time,
            "late": row.checks_late,
            "missed": row.checks_missed,
            "open": row.checks_open,
        },
        "late_entries": row.late_entries,
        "adverse_events": list(row.adverse),
        "override": row.override,
        "override_reason": row.override_reason,
        "signed": row.signed,
        "signed_by": row.signed_by,
        "signed_at": iso(row.signed_at),
        "unreadable": list(row.unreadable),
    }


def _minutes(value: float | None) -> str:
    from monitor.present.record import minutes_text

    return "-" if value is None else minutes_text(value)


def queue_lines(rows: Iterable[SessionFacts]) -> Iterator[str]:
    """``review list``: a header and one tab-separated line per session (nothing if none)."""
    header = (
        "id\tpatient\tprotocol\tdischarged\tflags H/M/L\thigh ack max\tchecks late/missed\t"
        "late entries\tadverse\toverride\tsigned\n"
    )
    for r in rows:
        yield header
        header = ""
        waits = _minutes(r.slowest_high_ack_min)
        if r.high_unacknowledged:
            waits += f" ({r.high_unacknowledged} unacked)"
        yield (
            f"{r.id}\t{printable(r.patient)}\t{r.protocol}\t{local(r.discharged_at)}\t"
            f"{r.flags_high}/{r.flags_medium}/{r.flags_low}\t{waits}\t"
            f"{r.checks_late}/{r.checks_missed}\t{r.late_entries}\t{len(r.adverse)}\t"
            f"{'yes' if r.override else 'no'}\t{'yes' if r.signed else 'no'}\n"
        )
        # Under its line, what could not be read (docs/storage.md, "Unreadable records").
        for marker in r.unreadable:
            yield f"  UNREADABLE: {printable(marker)}\n"
