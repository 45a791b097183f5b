"""``monitor session``: start, dose, infusion end, show, list and discharge
(docs/interface.md)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import click

from monitor.cli.output import (
    FROM_HELP,
    TO_HELP,
    Context,
    acting,
    cosigning,
    echo_json,
    json_array,
    local,
    moment,
    note_more_sessions,
    pass_context,
    period,
    printable,
    time_help,
    write,
)
from monitor.cli.params import DECIMAL, ID, WHOLE, YES_NO, newest_sessions, yes_no
from monitor.cli.render.session import or_dash, session_text

if TYPE_CHECKING:
    from monitor.views import SessionSummary


@click.group()
def session() -> None:
    """Treatment sessions."""


@session.command("start")
@click.option("--patient", required=True, help="The clinic's patient identifier.")
@click.option(
    "--protocol", required=True, help="esketamine-56, esketamine-84, ketamine-iv, ketamine-im"
)
@click.option("--by", required=True, help="The user starting the session.")
@click.option("--dose-mg", type=DECIMAL, help="The dose (esketamine: must match the protocol).")
@click.option("--weight-kg", type=DECIMAL, help="The patient's weight (IV/IM dosing).")
@click.option("--age", type=WHOLE, help="The patient's age (required for esketamine).")
@click.option("--bay", help="Where the patient sits (a bay of the clinic configuration).")
@click.option("--lot", help="The medication lot number.")
@click.option(
    "--at", "at", help=time_help("When the session began", "default now; up to 7 days back")
)
@click.option(
    "--dosed-at", help=time_help("When the dose was given (entry from paper)", "default not yet")
)
@click.option(
    "--dose-override-reason", help="With --dosed-at: why dosing went ahead without a baseline."
)
@click.option("--first-treatment", type=YES_NO, help="First treatment of the course?")
@click.option("--dose-number", type=WHOLE, help="The dose number within the course, if known.")
@click.option(
    "--meds",
    help="REMS concomitant medication: none, or a comma list of benzodiazepines, "
    "sedative-hypnotics, psychostimulants, maois (required for esketamine).",
)
@acting
@pass_context
def session_start(
    context: Context,
    patient: str,
    protocol: str,
    by: str,
    dose_mg: float | None,
    weight_kg: float | None,
    age: int | None,
    bay: str | None,
    lot: str | None,
    at: str | None,
    dosed_at: str | None,
    dose_override_reason: str | None,
    first_treatment: str | None,
    dose_number: int | None,
    meds: str | None,
) -> None:
    """Start a session; prints its id alone."""
    from monitor.core.intake import parse_meds

    session_id = context.service.start_session(
        patient=patient,
        protocol=protocol,
        by=by,
        dose_mg=dose_mg,
        weight_kg=weight_kg,
        age=age,
        bay=bay,
        lot=lot,
        started_at=moment(at, context),
        dosed_at=moment(dosed_at, context),
        dose_override_reason=dose_override_reason,
        first_treatment=yes_no(first_treatment),
        dose_number=dose_number,
        meds=parse_meds(meds),
    )
    click.echo(session_id)


@session.command("dose")
@click.argument("session_id", type=ID)
@click.option("--by", required=True, help="The user recording the dose.")
@click.option("--at", "at", help=time_help("When the dose was given"))
@click.option(
    "--override-reason",
    help="Dose although the baseline is not done or a before-dosing flag is not reviewed, and why.",
)
@acting
@cosigning
@pass_context
def session_dose(
    context: Context,
    session_id: int,
    by: str,
    at: str | None,
    override_reason: str | None,
    cosign: str | None,
) -> None:
    """Record the dosing time (the start of an infusion); refused without a baseline or with an
    unacknowledged before-dosing flag unless overridden, which needs a clinician: a supervisor,
    or a nurse with a supervisor co-signing (--cosign NAME)."""
    dosed = context.service.record_dose(
        session_id, by=by, at=moment(at, context), override_reason=override_reason, cosign=cosign
    )
    click.echo(f"session {session_id} dosed at {local(dosed)}")
    if override_reason:
        view = context.service.session(session_id)
        if view.dose_override_reason:
            signed = (
                f" (co-signed by {view.dose_override_cosigned_by})"
                if view.dose_override_cosigned_by
                else ""
            )
            click.echo(
                f"dosing gate overridden by {view.dose_override_by}{signed}: "
                f"{printable(view.dose_override_reason)}"
            )


@session.command("infusion-end")
@click.argument("session_id", type=ID)
@click.option("--by", required=True, help="The user recording it.")
@click.option("--at", "at", help=time_help("When the infusion ended"))
@click.option(
    "--reason",
    help="Correct a recorded infusion end: why (by who recorded it or a supervisor; the first "
    "value is kept).",
)
@acting
@pass_context
def session_infusion_end(
    context: Context, session_id: int, by: str, at: str | None, reason: str | None
) -> None:
    """IV: when the infusion actually ended; the checks after it and the minimum move. Given
    again with --reason, it corrects the time (the first value is kept)."""
    ended = context.service.record_infusion_end(
        session_id, by=by, at=moment(at, context), reason=reason
    )
    view = context.service.session(session_id)
    click.echo(f"session {session_id} infusion ended at {local(ended)}")
    pre = next((c for c in view.checks if c.pre_discharge), None)
    if pre is not None:
        click.echo(f"pre-discharge check now {pre.label}, due {local(pre.due_at)}")


@session.command("show")
@click.argument("session_id", type=ID)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def session_show(context: Context, session_id: int, as_json: bool) -> None:
    """One session: checks, readings, flags, the discharge gate and the review."""
    view = context.service.session(session_id)
    if as_json:
        from monitor.present.json import session_json

        echo_json(session_json(view))
    else:
        write(session_text(view))


#: How many sessions `session list` shows unless --limit says otherwise (the newest).
SESSION_PAGE = 100


def _session_lines(rows: Iterable[SessionSummary]) -> Iterator[str]:
    header = "id\tpatient\tprotocol\tbay\tstatus\tdosed\n"
    for r in rows:
        yield header
        header = ""
        signed = " signed" if r.signed else ""
        yield (
            f"{r.id}\t{printable(r.patient)}\t{r.protocol}\t{printable(r.bay or '-')}\t"
            f"{r.status}{signed}\t{local(r.dosed_at)}\n"
        )


@session.command("list")
@click.option("--active", is_flag=True, help="Only sessions in observation.")
@click.option("--from", "since", help=f"Only sessions started at or after this time ({FROM_HELP})")
@click.option("--to", "until", help=f"Only sessions started at or before this time ({TO_HELP})")
@newest_sessions(SESSION_PAGE)
@click.option("--json", "as_json", is_flag=True, help="Print as a JSON array, one object a line.")
@pass_context
def session_list(
    context: Context,
    active: bool,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Sessions, newest first, a page at a time: the newest 100 (--limit), of a period of
    start times (--from/--to) if given."""
    from monitor.present.json import summary_json

    start, end = period(context, since, until)
    service = context.service
    with service.session_page(active_only=active, since=start, until=end, limit=limit) as page:
        if as_json:
            write(json_array(summary_json(r) for r in page.rows))
        else:
            write(_session_lines(page.rows))
        more = page.more
    if more:
        note_more_sessions(limit)


@session.command("discharge")
@click.argument("session_id", type=ID)
@click.option("--by", required=True, help="The user discharging the patient.")
@click.option("--at", "at", help=time_help("When the patient left"))
@click.option("--override-reason", help="Discharge although the gate is not met, and why.")
@click.option("--escort", help="Who accompanies the patient home, or 'none'.")
@click.option(
    "--instructions-given/--instructions-not-given",
    default=None,
    help="Whether the no-driving instruction was given (absent: not recorded).",
)
@click.option(
    "--ready-minute",
    type=WHOLE,
    help="REMS: when would the patient have been ready without the 2-hour minimum (minutes "
    "after dosing; default the proposal).",
)
@acting
@cosigning
@pass_context
def session_discharge(
    context: Context,
    session_id: int,
    by: str,
    at: str | None,
    override_reason: str | None,
    escort: str | None,
    instructions_given: bool | None,
    ready_minute: int | None,
    cosign: str | None,
) -> None:
    """Discharge when the gate is met; otherwise refuse and list the reasons. Overriding the
    gate needs a clinician: a supervisor, or a nurse with a supervisor co-signing (--cosign)."""
    from monitor.present.record import instruction_text

    view = context.service.discharge(
        session_id,
        by=by,
        at=moment(at, context),
        override_reason=override_reason,
        escort=escort,
        instructions_given=instructions_given,
        ready_minute=ready_minute,
        cosign=cosign,
    )
    click.echo(f"session {view.id} discharged at {local(view.discharged_at)}")
    if view.override_reason:
        click.echo(f"gate overridden ({view.override_reason}); unmet:")
        for reason in view.gate.reasons:
            click.echo(f"  - {reason}")
    click.echo(
        f"escort: {view.escort or 'not recorded'}; no-driving instruction: "
        f"{instruction_text(view.instructions_given)}"
    )
    if view.ready_minute is not None or view.ready_minute_proposed is not None:
        click.echo(
            f"REMS: ready to leave at minute {or_dash(view.ready_minute)} "
            f"(proposed {or_dash(view.ready_minute_proposed)}, by {view.ready_minute_by or '-'})"
        )
