"""``monitor event``: notes, adverse events and interventions (docs/interface.md); a serious
event prints the alarm it opened (docs/clinical.md, "Serious events")."""

from __future__ import annotations

import click

from monitor.cli.output import (
    Context,
    acting,
    local,
    moment,
    pass_context,
    printable,
    time_help,
)
from monitor.cli.params import ID


@click.group()
def event() -> None:
    """Notes, adverse events and interventions."""


@event.command("add")
@click.argument("session_id", type=ID)
@click.argument("text", nargs=-1, required=True)
@click.option(
    "--kind",
    type=click.Choice(["note", "adverse", "intervention"]),
    required=True,
    help="A note, an adverse event or an intervention.",
)
@click.option("--by", required=True, help="The user recording it.")
@click.option(
    "--type",
    "type_",
    help="adverse: nausea, vomiting, dizziness, headache, anxiety, suicidal-thoughts, other; "
    "intervention: antiemetic, antihypertensive, oxygen, other.",
)
@click.option(
    "--severity", type=click.Choice(["mild", "moderate", "severe"]), help="Adverse events."
)
@click.option("--serious", is_flag=True, help="Adverse events: a serious adverse event.")
@click.option("--at", "at", help=time_help("When it happened"))
@acting
@pass_context
def event_add(
    context: Context,
    session_id: int,
    text: tuple[str, ...],
    kind: str,
    by: str,
    type_: str | None,
    severity: str | None,
    serious: bool,
    at: str | None,
) -> None:
    """Add a note, an adverse event or an intervention (TEXT: what happened or was given)."""
    added = context.service.add_event(
        session_id,
        kind=kind,
        by=by,
        text=" ".join(text),
        type=type_,
        severity=severity,
        serious=serious or None,
        at=moment(at, context),
    )
    click.echo(f"event {added.id} at {local(added.at)} by {added.by}: {printable(added.summary)}")
    alarm = added.alarm
    if alarm is not None:
        click.echo(f"alarm: flag {alarm.id} ({alarm.severity.value}): {printable(alarm.message)}")
        click.echo(
            f"  a clinician acknowledges it: flag ack {alarm.id} --by SUPERVISOR --action TEXT "
            "(or by a nurse with --cosign SUPERVISOR)"
        )
