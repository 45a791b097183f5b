"""``monitor rems``: the REMS Patient Monitoring Forms of esketamine sessions (interface.md).

``monitor rems [--due] [--json]`` lists the forms (``--due``: not yet submitted and due within
7 days or overdue, oldest first); ``rems show`` gives one form's answers with their sources;
``rems submit`` marks a form submitted and ``rems correct`` replaces a proposal with a
supervisor's answer and reason (both supervisors only, PIN checked).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from monitor import cli as base

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from datetime import date

    from monitor.core.rems import Answer, RemsForm

#: How many forms plain ``rems`` lists unless --limit says otherwise (the newest).
REMS_PAGE = 100


def _yes(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "-"}[value]


def _row(form: RemsForm, today: date) -> str:
    missing = "; ".join(form.missing) or "-"
    cells = (
        str(form.session_id),
        base.printable(form.patient),
        form.treatment_date.isoformat() if form.treatment_date else "-",
        form.due_date.isoformat() if form.due_date else "-",
        form.status(today),
        base.printable(missing),
    )
    return "\t".join(cells) + "\n"


def _lines(forms: Iterable[RemsForm], today: date) -> Iterator[str]:
    header = "session\tpatient\ttreated\tdue\tstatus\tmissing\n"
    for form in forms:
        yield header
        header = ""
        yield _row(form, today)


@base.cli.group(invoke_without_command=True)
@click.option("--due", is_flag=True, help="Only forms not submitted, due within 7 days or overdue.")
@click.option("--limit", type=base.LIMIT, help=f"At most N forms (default {REMS_PAGE}).")
@click.option("--json", "as_json", is_flag=True, help="Print as a JSON array, one object a line.")
@click.pass_context
def rems(ctx: click.Context, due: bool, limit: int | None, as_json: bool) -> None:
    """REMS Patient Monitoring Forms of esketamine sessions: newest first, or with --due the
    forms still to submit, oldest first (overdue, then due soonest)."""
    if ctx.invoked_subcommand is not None:
        return
    context = ctx.find_object(base.Context)
    assert context is not None
    service = context.service
    today = service.today()
    page = service.rems_list(due=due, limit=limit or (None if due else REMS_PAGE))
    if as_json:
        base._write(base._json_array(f.as_json(today) for f in page.forms))
    else:
        wrote = False
        for chunk in _lines(page.forms, today):
            wrote = True
            base._write([chunk])
        if not wrote:
            click.echo("no REMS forms due" if due else "no REMS forms")
    if page.more:
        click.echo(
            "note: more forms than shown: see them with a larger --limit",
            err=True,
        )


def _answer(name: str, answer: Answer) -> str:
    line = f"  {name}: {_yes(answer.value)}"
    if answer.correction is not None:
        c = answer.correction
        line += (
            f"  (corrected by {c.by} at {base._local(c.at)}: {c.reason}; "
            f"proposed {_yes(answer.proposal)})"
        )
    else:
        line += "  (proposal)"
    if answer.evidence:
        line += "  [" + "; ".join(answer.evidence) + "]"
    return base.printable(line)


def _print_form(form: RemsForm, today: date) -> None:
    from monitor.core.rems import MED_QUESTIONS

    echo = click.echo
    echo(f"REMS form of session {form.session_id}  patient {base.printable(form.patient)}")
    treated = form.treatment_date.isoformat() if form.treatment_date else "-"
    due = form.due_date.isoformat() if form.due_date else "-"
    echo(f"  treatment date {treated}  due {due}  {form.status(today)}")
    if form.submission:
        echo(f"  submitted by {form.submission.by} at {base._local(form.submission.at)}")
    echo(f"  first treatment: {_yes(form.first_treatment)}")
    for key, label in MED_QUESTIONS:
        echo(f"  {label}: {_yes(form.meds[key])}")
    echo(f"  dose: {form.dose or '-'}  lot: {base.printable(form.lot or '-')}")
    if form.minutes_monitored is None:
        echo("  minutes monitored: -")
    else:
        until = "discharge" if form.monitored_until == "discharge" else "now: not discharged"
        echo(f"  minutes monitored: {form.minutes_monitored} (first reading to {until})")
    for label, bp in (
        ("BP before dosing", form.bp_before),
        ("BP near 40 min", form.bp_at_40),
        ("BP before the end", form.bp_end),
    ):
        echo(f"  {label}: {bp if bp else '-'}")
    for label, answer in (
        ("vitals acceptable before dosing", form.vitals_ok_before),
        ("vitals acceptable at the end", form.vitals_ok_end),
    ):
        evidence = "  [" + "; ".join(answer.evidence) + "]" if answer.evidence else ""
        echo(base.printable(f"  {label}: {_yes(answer.value)}  (from the record){evidence}"))
    echo(_answer("sedation", form.sedation))
    echo(_answer("dissociation", form.dissociation))
    echo(_answer("respiratory depression", form.respiratory_depression))
    events = "; ".join(form.serious_adverse_events)
    echo(base.printable(f"  serious adverse events: {'yes: ' + events if events else 'no'}"))
    echo(
        f"  ready to leave at minute: {_dash(form.ready_minute)} "
        f"(proposed {_dash(form.ready_minute_proposed)}, by {form.ready_minute_by or '-'})"
    )
    if form.missing:
        echo("missing:")
        for item in form.missing:
            echo(f"  - {item}")
    if len(form.corrections) > 1:
        echo("corrections (oldest first):")
        for c in form.corrections:
            echo(
                base.printable(
                    f"  {c.field} -> {_yes(c.value)} by {c.by} at {base._local(c.at)}: {c.reason}"
                )
            )


def _dash(value: Any) -> str:
    return "-" if value is None else str(value)


@rems.command("show")
@click.argument("session_id", type=base.ID)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@base.pass_context
def rems_show(context: base.Context, session_id: int, as_json: bool) -> None:
    """One session's REMS form: every answer with its source (the record, a proposal, or a
    supervisor's correction with who and why), what is missing, and the due date."""
    service = context.service
    form = service.rems(session_id)
    today = service.today()
    if as_json:
        base._echo_json(form.as_json(today))
    else:
        _print_form(form, today)


@rems.command("submit")
@click.argument("session_id", type=base.ID)
@click.option("--by", required=True, help="The supervisor marking it submitted.")
@base.acting
@base.pass_context
def rems_submit(context: base.Context, session_id: int, by: str) -> None:
    """Mark a session's REMS form submitted (supervisors; once per session)."""
    form = context.service.rems_submit(session_id, by=by)
    assert form.submission is not None
    click.echo(
        f"REMS form of session {session_id} marked submitted by {form.submission.by} at "
        f"{base._local(form.submission.at)}"
    )
    if form.missing:
        click.echo(base.printable("note: submitted with missing: " + "; ".join(form.missing)))


@rems.command("correct")
@click.argument("session_id", type=base.ID)
@click.option(
    "--field",
    required=True,
    type=click.Choice(["sedation", "dissociation", "respiratory_depression"]),
    help="The proposal to correct.",
)
@click.option("--value", required=True, type=base.YES_NO, help="The supervisor's answer.")
@click.option("--reason", required=True, help="Why the proposal is wrong.")
@click.option("--by", required=True, help="The supervisor correcting it.")
@base.acting
@base.pass_context
def rems_correct(
    context: base.Context, session_id: int, field: str, value: str, reason: str, by: str
) -> None:
    """Replace a sedation, dissociation or respiratory-depression proposal with a
    supervisor's answer and reason (the proposal is kept beside it)."""
    form = context.service.rems_correct(
        session_id, field=field, value=value == "yes", reason=reason, by=by
    )
    answer = form.answer(field)
    click.echo(
        base.printable(
            f"session {session_id} {field}: {_yes(answer.value)} (proposed "
            f"{_yes(answer.proposal)}), corrected by {by}: {reason}"
        )
    )
