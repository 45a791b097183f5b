"""``monitor flag``: acknowledging the flags readings raise (docs/clinical.md)."""

from __future__ import annotations

import click

from monitor.cli.output import Context, acting, pass_context
from monitor.cli.params import ID


@click.group()
def flag() -> None:
    """Flags raised by readings."""


@flag.command("ack")
@click.argument("flag_id", type=ID)
@click.option("--by", required=True, help="The user acknowledging it.")
@click.option("--action", required=True, help="What was done, in a word or a sentence.")
@acting
@pass_context
def flag_ack(context: Context, flag_id: int, by: str, action: str) -> None:
    """Acknowledge a flag with what was done."""
    done = context.service.acknowledge(flag_id, by=by, action=action)
    click.echo(f"flag {done.id} acknowledged by {done.acknowledged_by}: {done.action}")
