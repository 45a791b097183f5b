"""``session show``'s text: a session's story as the command line prints it
(docs/interface.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from monitor.cli.output import local

if TYPE_CHECKING:
    from monitor.views import SessionView


def _mg(dose: float | None) -> str:
    if dose is None:
        return "-"
    return f"{dose:g} mg"


def instruction(given: bool | None) -> str:
    """Whether the no-driving instruction was given, in words."""
    return {True: "given", False: "NOT given", None: "not recorded"}[given]


def or_dash(value: object) -> str:
    """A value, or ``-`` when there is none."""
    return "-" if value is None else str(value)


def print_session(view: SessionView) -> None:
    """``session show``: the whole story of a session as lines of text."""
    from monitor.core.entry import format_entry
    from monitor.core.schedule import status_text

    click.echo(
        f"session {view.id}  patient {view.patient}  {view.protocol} ({view.treatment})  "
        f"{view.status}"
    )
    click.echo(
        f"  bay {view.bay or '-'}  age {view.age or '-'}  dose {_mg(view.dose_mg)}  "
        f"lot {view.lot or '-'}  dosed {local(view.dosed_at)}"
    )
    first = {True: "yes", False: "no", None: "-"}[view.first_treatment]
    meds = "-" if view.meds is None else (", ".join(view.meds) or "none")
    click.echo(
        f"  first treatment {first}  dose number {view.dose_number or '-'}  medication {meds}"
        + (f"  weight {view.weight_kg:g} kg" if view.weight_kg else "")
    )
    if view.infusion_ended_at:
        click.echo(f"  infusion ended {local(view.infusion_ended_at)}")
    if view.dose_override_reason:
        click.echo(f"  dosing gate overridden: {view.dose_override_reason}")
    for reason in view.dosing_refusals:
        click.echo(f"  not ready to dose: {reason}")
    click.echo("checks:")
    for c in view.checks:
        late = " (late)" if c.late else ""
        alarm = "  ALARM" if c.is_alarm else ""
        measures = " ".join(m.value for m in c.measures)
        status = status_text(c, view.discharged_at)
        click.echo(f"  {c.label:<20} {local(c.due_at):<16}  {status}{late}{alarm}  [{measures}]")
        if c.skip:
            click.echo(f"      not done: {c.skip.reason} ({c.skip.by}, {local(c.skip.at)})")
    click.echo("readings:")
    for reading in view.readings:
        marks = []
        if reading.superseded_by:
            marks.append(f"superseded by {reading.superseded_by}")
        if reading.corrects:
            marks.append(f"corrects {reading.corrects}: {reading.reason}")
        if reading.voided:
            voided = reading.voided
            marks.append(f"VOIDED by {voided.by} {local(voided.at)}: {voided.reason}")
        if reading.late_entry:
            marks.append(f"late entry, saved {local(reading.recorded_at)}")
        mark = "".join(f"  [{m}]" for m in marks)
        click.echo(
            f"  #{reading.id} {local(reading.measured_at)} {format_entry(reading.vitals)}"
            f"  by {reading.recorded_by}{mark}"
        )
        for f in reading.flags:
            ack = f"ack {f.acknowledged_by}: {f.action}" if f.acknowledged else "not acknowledged"
            click.echo(f"      {f.severity.symbol:<3} {f.message}  [flag {f.id}, {ack}]")
    if view.events:
        click.echo("events:")
        for e in view.events:
            click.echo(f"  {local(e.at)} {e.summary}  by {e.by}")
    if view.discharged_at:
        click.echo(f"discharged {local(view.discharged_at)} by {view.discharged_by}")
        if view.override_reason:
            click.echo(f"  gate overridden: {view.override_reason}")
        if view.gate_at_discharge is None:
            click.echo("  gate at discharge: not stored (discharged before revision 2)")
        else:
            stored = view.gate_at_discharge
            click.echo(f"  gate at discharge: {'ready' if stored['ready'] else 'not ready'}")
            for reason in stored["reasons"]:
                click.echo(f"    - {reason}")
        click.echo(
            f"  escort: {view.escort or 'not recorded'}; no-driving instruction: "
            f"{instruction(view.instructions_given)}"
        )
    elif view.gate.ready:
        click.echo("ready to discharge")
    else:
        click.echo("not ready to discharge:")
        for reason in view.gate.reasons:
            click.echo(f"  - {reason}")
    if view.ready_minute is not None or view.ready_minute_proposed is not None:
        click.echo(
            f"REMS ready to leave at minute: {or_dash(view.ready_minute)} "
            f"(proposed {or_dash(view.ready_minute_proposed)})"
        )
    if view.signed_by:
        click.echo(f"reviewed: signed by {view.signed_by} at {local(view.signed_at)}")
