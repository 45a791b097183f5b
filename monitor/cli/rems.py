"""``monitor rems``: the REMS Patient Monitoring Forms of esketamine sessions
(docs/interface.md).

``monitor rems [--due] [--json]`` lists the forms (``--due``: not yet submitted and due within
7 days or overdue, oldest first); ``rems show`` gives one form's answers with their sources;
``rems submit`` marks a form submitted and ``rems correct`` gives a supervisor's answer to any
question of the form, with the reason, kept beside the proposal and the first answer (both
supervisors only, PIN checked).
"""

from __future__ import annotations

import click

from monitor.cli.output import (
    Context,
    acting,
    echo_json,
    json_array,
    local,
    pass_context,
    printable,
    write,
)
from monitor.cli.params import ID, LIMIT
from monitor.core.rems_answers import FIELDS

#: How many forms plain ``rems`` lists unless --limit says otherwise (the newest).
REMS_PAGE = 100


@click.group(invoke_without_command=True)
@click.option("--due", is_flag=True, help="Only forms not submitted, due within 7 days or overdue.")
@click.option("--limit", type=LIMIT, help=f"At most N forms (default {REMS_PAGE}).")
@click.option("--json", "as_json", is_flag=True, help="Print as a JSON array, one object a line.")
@click.pass_context
def rems(ctx: click.Context, due: bool, limit: int | None, as_json: bool) -> None:
    """REMS Patient Monitoring Forms of esketamine sessions: newest first, or with --due the
    forms still to submit, oldest first (overdue, then due soonest)."""
    if ctx.invoked_subcommand is not None:
        return
    context = ctx.find_object(Context)
    assert context is not None
    service = context.service
    today = service.today()
    page = service.rems_list(due=due, limit=limit or (None if due else REMS_PAGE))
    if as_json:
        write(json_array(f.as_json(today) for f in page.forms))
    else:
        from monitor.cli.render.rems import form_lines

        wrote = False
        for chunk in form_lines(page.forms, today):
            wrote = True
            write([chunk])
        if not wrote:
            click.echo("no REMS forms due" if due else "no REMS forms")
    if page.more:
        click.echo(
            "note: more forms than shown: see them with a larger --limit",
            err=True,
        )


@rems.command("show")
@click.argument("session_id", type=ID)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def rems_show(context: Context, session_id: int, as_json: bool) -> None:
    """One session's REMS form: every answer with its source (the record, a proposal, or a
    supervisor's correction with who and why), what is missing, and the due date."""
    service = context.service
    form = service.rems(session_id)
    today = service.today()
    if as_json:
        echo_json(form.as_json(today))
    else:
        from monitor.cli.render.rems import form_text

        write(form_text(form, today))


@rems.command("submit")
@click.argument("session_id", type=ID)
@click.option("--by", required=True, help="The supervisor marking it submitted.")
@acting
@pass_context
def rems_submit(context: Context, session_id: int, by: str) -> None:
    """Mark a session's REMS form submitted (supervisors; once per session)."""
    form = context.service.rems_submit(session_id, by=by)
    assert form.submission is not None
    click.echo(
        f"REMS form of session {session_id} marked submitted by {form.submission.by} at "
        f"{local(form.submission.at)}"
    )
    if form.missing:
        click.echo(printable("note: submitted with missing: " + "; ".join(form.missing)))


@rems.command("correct")
@click.argument("session_id", type=ID)
@click.option(
    "--field",
    required=True,
    type=click.Choice(FIELDS),
    help="The answer to correct.",
)
@click.option(
    "--value",
    required=True,
    help="yes or no (also true/false); for ready_minute a whole number of minutes after "
    "dosing, 1 to the minutes monitored.",
)
@click.option("--reason", required=True, help="Why the answer is wrong, or confirmed.")
@click.option("--by", required=True, help="The supervisor correcting it.")
@acting
@pass_context
def rems_correct(
    context: Context, session_id: int, field: str, value: str, reason: str, by: str
) -> None:
    """Correct any answer of the form (the ready minute, the vitals before dosing and at the
    end, sedation, dissociation, respiratory depression, serious adverse event) before the
    form is submitted: the proposal and the first answer are kept beside it. After discharge,
    also confirms an answer a change to the record affected (the sign-off waits for it)."""
    from monitor.core.rems_answers import shown

    form = context.service.rems_correct(session_id, field=field, value=value, reason=reason, by=by)
    answer = form.answer(field)
    kept = [f"proposed {shown(field, answer.proposal)}"]
    if answer.first is not None:
        kept.append(f"first answer {shown(field, answer.first.value)} by {answer.first.by or '-'}")
    click.echo(
        printable(
            f"session {session_id} {field}: {shown(field, answer.value)} ("
            + "; ".join(kept)
            + f"), corrected by {by}: {reason}"
        )
    )
    if form.changed_after_discharge:
        click.echo(
            printable(
                "note: changed after discharge, still to confirm: "
                + ", ".join(form.changed_after_discharge)
            )
        )
