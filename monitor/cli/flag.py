"""``monitor flag``: acknowledging the flags readings raise and serious events' alarms
(docs/clinical.md, "Serious events"; docs/interface.md, "Who is acting")."""

from __future__ import annotations

import click

from monitor.cli.output import Context, acting, cosigning, pass_context, printable
from monitor.cli.params import ID


@click.group()
def flag() -> None:
    """Flags raised by readings, and serious events' alarms."""


@flag.command("ack")
@click.argument("flag_id", type=ID)
@click.option("--by", required=True, help="The user acknowledging it.")
@click.option("--action", required=True, help="What was done, in a word or a sentence.")
@acting
@cosigning
@pass_context
def flag_ack(context: Context, flag_id: int, by: str, action: str, cosign: str | None) -> None:
    """Acknowledge a flag with what was done. A before-dosing flag or a serious event's alarm
    needs a clinician: a supervisor acknowledges it, or co-signs (--cosign NAME)."""
    done = context.service.acknowledge(flag_id, by=by, action=action, cosign=cosign)
    cosigned = f", co-signed by {done.cosigned_by}" if done.cosigned_by else ""
    click.echo(
        f"flag {done.id} acknowledged by {done.acknowledged_by}{cosigned}: "
        f"{printable(done.action or '')}"
    )
    if done.event_id is not None:
        click.echo(
            f"serious event {done.event_id} reviewed: the patient may continue toward discharge"
        )
