"""`monitor review list`: the supervisor's review queue (issue #11), on the `review` group.

Read-only and, as interface.md gives it, without `--by`: like `session show` and `audit`, it
reads what anyone with access to the database may read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import click

from monitor import cli as base

if TYPE_CHECKING:
    from monitor.services.review import SessionFacts

#: `review list` shows this many sessions unless --limit says otherwise (review.REVIEW_PAGE).
PAGE = 50


def facts_json(row: SessionFacts) -> dict[str, Any]:
    """One session of the queue as JSON."""
    from monitor.jsonview import iso

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
    }


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _lines(rows: Iterable[SessionFacts]) -> Iterator[str]:
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
            f"{r.id}\t{base.printable(r.patient)}\t{r.protocol}\t{base._local(r.discharged_at)}\t"
            f"{r.flags_high}/{r.flags_medium}/{r.flags_low}\t{waits}\t"
            f"{r.checks_late}/{r.checks_missed}\t{r.late_entries}\t{len(r.adverse)}\t"
            f"{'yes' if r.override else 'no'}\t{'yes' if r.signed else 'no'}\n"
        )


@base.review.command("list")
@click.option(
    "--from", "since", help=f"Only sessions discharged at or after this time ({base.FROM_HELP})"
)
@click.option(
    "--to", "until", help=f"Only sessions discharged at or before this time ({base.TO_HELP})"
)
@click.option("--unsigned", is_flag=True, help="Only sessions not signed off (yet, or again).")
@click.option("--nurse", help="Only sessions this user started, recorded in or discharged.")
@click.option("--protocol", help="Only sessions of this protocol (e.g. esketamine-84).")
@click.option("--flagged", is_flag=True, help="Only sessions that had a high flag.")
@click.option("--override", is_flag=True, help="Only sessions discharged by override.")
@click.option("--late", is_flag=True, help="Only sessions with a check done late or missed.")
@click.option("--late-entries", is_flag=True, help="Only sessions with a reading saved late.")
@click.option("--adverse", is_flag=True, help="Only sessions with an adverse event.")
@click.option(
    "--limit",
    type=base.LIMIT,
    default=PAGE,
    show_default=True,
    help="Show the newest N sessions (a page); stderr says when there are more.",
)
@click.option("--json", "as_json", is_flag=True, help="Print as a JSON array, one object a line.")
@base.pass_context
def review_list(
    context: base.Context,
    since: str | None,
    until: str | None,
    unsigned: bool,
    nurse: str | None,
    protocol: str | None,
    flagged: bool,
    override: bool,
    late: bool,
    late_entries: bool,
    adverse: bool,
    limit: int,
    as_json: bool,
) -> None:
    """The supervisor's queue: discharged sessions, newest discharge first, a page at a time,
    with their flags by severity, the slowest high flag's minutes to acknowledgement, checks
    late/missed, late entries, adverse events, override and sign-off. --from/--to are on the
    discharge time."""
    start, end = base._period(context, since, until)
    page = context.service.review_queue(
        since=start,
        until=end,
        unsigned=unsigned,
        nurse=nurse,
        protocol=protocol,
        flagged=flagged,
        override=override,
        late=late,
        late_entries=late_entries,
        adverse=adverse,
        limit=limit,
    )
    if as_json:
        base._write(base._json_array(facts_json(r) for r in page.rows))
    else:
        base._write(_lines(page.rows))
    if page.more:
        click.echo(
            f"note: the newest {limit} sessions are shown and there are more: see them with "
            "--limit N (more at once) or --from/--to (a period)",
            err=True,
        )
