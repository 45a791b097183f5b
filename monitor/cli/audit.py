"""``monitor audit``: the audit trail, of one session or all (docs/interface.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from monitor.cli.output import (
    FROM_HELP,
    TO_HELP,
    Context,
    pass_context,
    period,
    secret,
    write,
)
from monitor.cli.params import ID, LIMIT

if TYPE_CHECKING:
    from monitor.views import AuditView

#: What a refused sign-in shows to anyone but a supervisor.
WITHHELD = '{"name": "(shown to supervisors)", "why": "(shown to supervisors)"}'


def withheld(row: AuditView) -> AuditView:
    """``row``, a refused sign-in's name and cause withheld (they would let names be probed)."""
    if row.action != "auth.refused":
        return row
    from dataclasses import replace

    return replace(row, after=WITHHELD, entity_id=None)  # nor whose name it was


@click.command()
@click.argument("session_id", type=ID, required=False)
@click.option("--from", "since", help=f"Only rows at or after this time ({FROM_HELP})")
@click.option("--to", "until", help=f"Only rows at or before this time ({TO_HELP})")
@click.option("--limit", type=LIMIT, help="Only the newest N rows (still oldest first).")
@click.option("--user", help='Only the rows of this user ("": those the database wrote).')
@click.option("--action", help="Only this action (reading.record) or group (reading).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (JSON Lines).")
@click.option(
    "--by",
    help="A supervisor reading with a PIN: refused sign-ins then show the name typed and why.",
)
@click.option("--pin-stdin", is_flag=True, help="Read the PIN of --by from standard input.")
@pass_context
def audit(
    context: Context,
    session_id: int | None,
    since: str | None,
    until: str | None,
    limit: int | None,
    user: str | None,
    action: str | None,
    as_json: bool,
    by: str | None,
    pin_stdin: bool,
) -> None:
    """The audit trail, oldest first: who, when, what, before/after, reason. Written as it
    is read, so a trail of any length takes little memory. A refused sign-in shows the name
    typed and why only to a supervisor (--by), so that names cannot be probed."""
    from monitor.cli.render.audit import audit_json, audit_text

    start, end = period(context, since, until)
    service = context.service
    reveal = False
    if by is not None:
        reveal = service.authenticate(
            by, secret(f"PIN for {by}", pin_stdin=pin_stdin, env=True)
        ).role == ("supervisor")
    render = audit_json if as_json else audit_text
    with service.audit_page(
        session_id, since=start, until=end, limit=limit, user=user, action=action
    ) as page:
        write(render(row if reveal else withheld(row)) for row in page.rows)
        more = page.more
    if more:
        click.echo(
            f"note: the newest {limit} rows are shown and there are earlier ones: see them "
            "with a larger --limit or with --to",
            err=True,
        )
