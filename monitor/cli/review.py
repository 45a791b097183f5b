"""``monitor review``: sign, reopen and the supervisor's queue (docs/interface.md)."""

from __future__ import annotations

import click

from monitor.cli.output import (
    FROM_HELP,
    PIN_ENV,
    TO_HELP,
    Context,
    acting,
    json_array,
    local,
    note_more_sessions,
    pass_context,
    period,
    secret,
    write,
)
from monitor.cli.params import ID, newest_sessions
from monitor.cli.render.review import facts_json, queue_lines


@click.group()
def review() -> None:
    """Supervisor review."""


@review.command("sign")
@click.argument("session_id", type=ID)
@click.option("--by", required=True, help="The supervisor signing.")
@click.option(
    "--pin-stdin",
    is_flag=True,
    help=f"Read the PIN from standard input's first line (else {PIN_ENV}).",
)
@pass_context
def review_sign(context: Context, session_id: int, by: str, pin_stdin: bool) -> None:
    """Sign off ("reviewed") a discharged session: supervisors only, PIN checked."""
    pin = secret(f"PIN for {by}", pin_stdin=pin_stdin, env=True)
    view = context.service.sign(session_id, by=by, pin=pin)
    click.echo(f"session {view.id} reviewed: signed by {view.signed_by} at {local(view.signed_at)}")


@review.command("reopen")
@click.argument("session_id", type=ID)
@click.option("--by", required=True, help="The supervisor reopening it.")
@click.option("--reason", required=True, help="Why the signed record must change.")
@acting
@pass_context
def review_reopen(context: Context, session_id: int, by: str, reason: str) -> None:
    """Withdraw a sign-off (kept, with the reason) so the record can be corrected and signed
    again."""
    context.service.reopen(session_id, by=by, reason=reason)
    click.echo(f"session {session_id} reopened by {by}: {reason}")


#: `review list` shows this many sessions unless --limit says otherwise (review.REVIEW_PAGE).
PAGE = 50


@review.command("list")
@click.option(
    "--from", "since", help=f"Only sessions discharged at or after this time ({FROM_HELP})"
)
@click.option("--to", "until", help=f"Only sessions discharged at or before this time ({TO_HELP})")
@click.option("--unsigned", is_flag=True, help="Only sessions not signed off (yet, or again).")
@click.option("--nurse", help="Only sessions this user started, recorded in or discharged.")
@click.option("--protocol", help="Only sessions of this protocol (e.g. esketamine-84).")
@click.option("--flagged", is_flag=True, help="Only sessions that had a high flag.")
@click.option("--override", is_flag=True, help="Only sessions discharged by override.")
@click.option("--late", is_flag=True, help="Only sessions with a check done late or missed.")
@click.option("--late-entries", is_flag=True, help="Only sessions with a reading saved late.")
@click.option("--adverse", is_flag=True, help="Only sessions with an adverse event.")
@newest_sessions(PAGE)
@click.option("--json", "as_json", is_flag=True, help="Print as a JSON array, one object a line.")
@pass_context
def review_list(
    context: Context,
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
    start, end = period(context, since, until)
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
        write(json_array(facts_json(r) for r in page.rows))
    else:
        write(queue_lines(page.rows))
    if page.more:
        note_more_sessions(limit)
