"""``monitor check``: a scheduled check not done, and why (docs/clinical.md)."""

from __future__ import annotations

import click

from monitor.cli.output import Context, acting, pass_context
from monitor.cli.params import ID


@click.group()
def check() -> None:
    """Scheduled checks."""


@check.command("skip")
@click.argument("session_id", type=ID)
@click.argument("label")
@click.option("--by", required=True, help="The user recording it.")
@click.option("--reason", required=True, help="Why it was not done, e.g. 'patient asleep'.")
@acting
@pass_context
def check_skip(context: Context, session_id: int, label: str, by: str, reason: str) -> None:
    """Record why an overdue or missed check was not done (LABEL as `session show` lists it,
    e.g. "+30 min"); its alarm ends."""
    done = context.service.skip_check(session_id, label, by=by, reason=reason)
    assert done.skip is not None
    click.echo(
        f"check {done.label} ({done.status.value}) explained by {done.skip.by}: {done.skip.reason}"
    )
