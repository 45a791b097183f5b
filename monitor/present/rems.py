"""The REMS Patient Monitoring Form of one session, and the tracker's rows, told once
(docs/clinical.md, "The REMS Patient Monitoring Form"; docs/interface.md, ``monitor rems``).

Every answer says where it comes from, as :mod:`monitor.core.rems` gives it: an answer read
from the record ("from the record": the vitals acceptable before dosing and at the end), a
proposal the record suggests ("proposal": sedation, dissociation, respiratory depression, serious
adverse event), the discharging user's answer (the ready minute) or a supervisor's correction
(who, when, why, and the proposal and first answer kept beside it). Then what the form still
lacks, its due date (7 days after the treatment date), whether it was submitted, and the answers
a change after discharge affected that no supervisor has confirmed yet.

:func:`rems_story` composes one form as labelled rows (the station's grid, an export's
pairs); :func:`text_lines` is the same story as lines of text (the command line).
:func:`tracker_rows` gives the tracker's rows (forms due, overdue, submitted).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from monitor.core.rems import DUE_DAYS, MED_QUESTIONS, Answer, BloodPressure, RemsForm
from monitor.core.rems_answers import shown
from monitor.present.parts import Line, Part, Role, Row, when

#: Where an answer read from the record comes from, and a proposal.
FROM_RECORD = "from the record"
PROPOSAL = "proposal"
#: Where each yes/no answer comes from until someone corrects it: the vitals are read from
#: the record, the others are proposals (docs/clinical.md). Every face words an answer's
#: source from here: the form (station, ``rems show``, PDF) and the correction dialog.
SOURCES = {
    "vitals_ok_before": FROM_RECORD,
    "vitals_ok_end": FROM_RECORD,
    "sedation": PROPOSAL,
    "dissociation": PROPOSAL,
    "respiratory_depression": PROPOSAL,
    "serious_adverse_event": PROPOSAL,
}
#: The heading over a form's corrections (:attr:`RemsStory.corrections`).
CORRECTIONS_HEADING: Line = (Part("Corrections (oldest first):", Role.HEADING),)
#: The tracker's columns, as the command line heads them.
TRACKER_HEADER = ("session", "patient", "treated", "due", "status", "missing")


@dataclass(frozen=True)
class RemsStory:
    """One form: its title, a labelled row per answer, and (when an answer was corrected
    more than once) every correction, oldest first."""

    title: Line
    rows: tuple[Row, ...]
    corrections: tuple[Line, ...] = ()


@dataclass(frozen=True)
class TrackerRow:
    """One form in the tracker."""

    session_id: int
    patient: str
    #: The treatment and due dates: ``2026-11-27`` (``-`` for none) ...
    treated: str
    due: str
    #: ... and short: ``Fri 27 Nov``.
    treated_day: str
    due_day: str
    #: ``submitted``, ``overdue (2 d)``, ``due today``, ``due in 3 days`` (its role: OK,
    #: ALERT, WARN).
    status: Part
    #: The same, short: ``submitted``, ``2 d overdue``, ``due today``, ``3 d left``.
    left: Part
    submitted: Part
    #: Every missing item, ``; `` between them, or ``-``.
    missing: Part
    #: ``2: no lot number`` (how many and the first), or ``-``.
    missing_short: Part


def yes_no(value: bool | None, unknown: str = "not answered") -> str:
    """An answer: ``yes``, ``no``, or ``unknown`` when there is none."""
    return unknown if value is None else "yes" if value else "no"


def _iso(day: date | None) -> str:
    return "-" if day is None else day.isoformat()


def _day(day: date | None) -> str:
    return "-" if day is None else day.strftime("%a %d %b")


def _status_role(form: RemsForm, today: date) -> Role:
    if form.submitted:
        return Role.OK
    if form.due_date is None:
        return Role.PLAIN
    days = (form.due_date - today).days
    return Role.ALERT if days < 0 else Role.WARN if days == 0 else Role.PLAIN


def status_part(form: RemsForm, today: date) -> Part:
    """The core's status of the form (:meth:`RemsForm.status`) with its role."""
    return Part(form.status(today), _status_role(form, today))


def left_part(form: RemsForm, today: date) -> Part:
    """The status, short: ``submitted``, ``2 d overdue``, ``due today``, ``3 d left``."""
    role = _status_role(form, today)
    if form.submitted:
        return Part("submitted", role)
    if form.due_date is None:
        return Part("-")
    days = (form.due_date - today).days
    if days < 0:
        return Part(f"{-days} d overdue", role)
    if days == 0:
        return Part("due today", role)
    return Part(f"{days} d left", role)


def answer_row(label: str, answer: Answer[Any], *, field: str) -> Row:
    """The yes/no answer ``field``: its value, where it comes from (:data:`SOURCES`, or the
    correction with the proposal kept beside it), and its evidence under it."""
    value: list[Part] = [Part(yes_no(answer.value, "unknown"), Role.STRONG)]
    if answer.correction is not None:
        c = answer.correction
        value.append(
            Part(
                f"  corrected by {c.by} {when(c.at)}: {c.reason} (proposal "
                f"{yes_no(answer.proposal, 'unknown')})",
                Role.WARN,
            )
        )
    else:
        value.append(Part(f"  ({SOURCES[field]})", Role.NOTE))
    evidence = ((Part("; ".join(answer.evidence)),),) if answer.evidence else ()
    return Row(label, tuple(value), evidence)


def _bp(label: str, bp: BloodPressure | None) -> Row:
    if bp is None:
        return Row(label, (Part("not recorded", Role.NOTE),))
    return Row(label, (Part(str(bp)), Part(f" ({bp.measured_at.astimezone():%H:%M})")))


def _listed(label: str, items: tuple[str, ...], none: Part) -> Row:
    if not items:
        return Row(label, (none,))
    return Row(
        label, (Part(items[0], Role.ALERT),), tuple((Part(i, Role.ALERT),) for i in items[1:])
    )


def _ready(form: RemsForm) -> Row:
    """The ready minute on the form, who gave it and the proposal; a correction with when and
    why, and the first answer kept beside it."""
    ready = form.ready
    if ready.value is None:
        text = "not confirmed"
        if ready.proposal is not None:
            text += f" (proposed {ready.proposal})"
        return Row("Ready to leave", (Part(text),))
    text = f"{ready.value} min after dosing, by {ready.by or '-'}"
    if ready.proposal is not None:
        text += f" (proposed {ready.proposal})"
    value = [Part(text)]
    c = ready.correction
    if c is not None:
        first = ready.first
        kept = "" if first is None else f"; first answer {first.value} by {first.by or '-'}"
        value.append(Part(f"  corrected {when(c.at)}: {c.reason}{kept}", Role.WARN))
    return Row("Ready to leave", tuple(value))


def _changed(form: RemsForm) -> tuple[Row, ...]:
    """The answers a change after discharge affected, not confirmed yet: each with its
    proposal at discharge and now."""
    if not form.changed_after_discharge:
        return ()
    stored = form.at_discharge or {}
    now = form.proposals()
    items = tuple(
        f"{f}: proposed {shown(f, stored.get(f))} at discharge, {shown(f, now.get(f))} now"
        for f in form.changed_after_discharge
    )
    return (
        Row(
            "Changed after discharge",
            (Part(items[0], Role.ALERT),),
            (
                *((Part(i, Role.ALERT),) for i in items[1:]),
                (Part("not confirmed: a supervisor confirms or corrects each", Role.NOTE),),
            ),
        ),
    )


def _monitored(form: RemsForm) -> Part:
    """From the first reading in force to the discharge, or to now while the patient is
    still in observation (:func:`monitor.core.rems.rems_form`)."""
    if form.minutes_monitored is None:
        return Part("no reading yet")
    role = Role.PLAIN if form.monitored_until == "discharge" else Role.WARN
    return Part(f"{form.minutes_monitored} (to {form.monitored_until})", role)


def rems_story(form: RemsForm, today: date) -> RemsStory:
    """Every answer of ``form`` with where it comes from, what is missing, the due date and
    the submission, judged on ``today``."""
    title = (
        Part("REMS Patient Monitoring Form", Role.HEADING),
        Part(f" · {form.patient} · session {form.session_id}"),
    )
    first = [Part(yes_no(form.first_treatment))]
    if form.first_treatment:
        first.append(Part(" (enrolled in the REMS: the clinic answers)", Role.NOTE))
    submission = form.submission
    rows = (
        Row("Status", (status_part(form, today),)),
        Row(
            "Submitted",
            (Part(f"by {submission.by}, {when(submission.at)}", Role.OK),)
            if submission is not None
            else (Part("not yet"),),
        ),
        _listed("Missing", form.missing, Part("nothing", Role.OK)),
        *_changed(form),
        Row(
            "Patient",
            (
                Part(form.patient, Role.STRONG),
                Part(" (name, birth date and sex: the clinic fills them in)", Role.NOTE),
            ),
        ),
        Row("First treatment", tuple(first)),
        Row(
            "Medication",
            (
                Part(
                    " · ".join(
                        f"{label} {yes_no(form.meds.get(key))}" for key, label in MED_QUESTIONS
                    )
                ),
            ),
        ),
        Row("Provider, setting", (Part("the clinic fills them in", Role.NOTE),)),
        Row("Treatment date", (Part(_iso(form.treatment_date)),)),
        Row(
            "Due date",
            (
                Part(
                    "-"
                    if form.due_date is None
                    else f"{form.due_date.isoformat()} ({DUE_DAYS} days after)"
                ),
            ),
        ),
        Row(
            "Dose, lot",
            (Part(f"{form.dose or 'not recorded'}, lot {form.lot or 'not recorded'}"),),
        ),
        Row("Minutes monitored", (_monitored(form),)),
        _ready(form),
        answer_row("Vitals OK before", form.vitals_ok_before, field="vitals_ok_before"),
        answer_row("Vitals OK at end", form.vitals_ok_end, field="vitals_ok_end"),
        _bp("BP before dosing", form.bp_before),
        _bp("BP near 40 min", form.bp_at_40),
        _bp("BP before the end", form.bp_end),
        answer_row("Sedation", form.sedation, field="sedation"),
        answer_row("Dissociation", form.dissociation, field="dissociation"),
        answer_row("Resp. depression", form.respiratory_depression, field="respiratory_depression"),
        answer_row("Serious AEs", form.serious_adverse_event, field="serious_adverse_event"),
    )
    corrections: tuple[Line, ...] = ()
    if len(form.corrections) > 1:
        corrections = tuple(
            (
                Part(f"{c.field} → {shown(c.field, c.value)}", Role.STRONG),
                Part(f" by {c.by} {when(c.at)}: {c.reason}", Role.NOTE),
            )
            for c in form.corrections
        )
    return RemsStory(title, rows, corrections)


def text_lines(story: RemsStory) -> tuple[Line, ...]:
    """The form as lines of text: the title, ``  label: value`` a row a line (its notes
    indented under it), then the corrections, oldest first."""
    lines: list[Line] = [story.title]
    for row in story.rows:
        lines.append((Part(f"  {row.label}: "), *row.value))
        lines.extend((Part("    "), *note) for note in row.notes)
    if story.corrections:
        lines.append(CORRECTIONS_HEADING)
        lines.extend((Part("  "), *line) for line in story.corrections)
    return tuple(lines)


def tracker_row(form: RemsForm, today: date) -> TrackerRow:
    """One form as the tracker lists it, judged on ``today``."""
    missing = form.missing
    return TrackerRow(
        session_id=form.session_id,
        patient=form.patient,
        treated=_iso(form.treatment_date),
        due=_iso(form.due_date),
        treated_day=_day(form.treatment_date),
        due_day=_day(form.due_date),
        status=status_part(form, today),
        left=left_part(form, today),
        submitted=Part("yes", Role.OK) if form.submitted else Part("no"),
        missing=Part("; ".join(missing), Role.WARN) if missing else Part("-"),
        missing_short=Part(f"{len(missing)}: {missing[0]}", Role.WARN) if missing else Part("-"),
    )


def tracker_rows(forms: Iterable[RemsForm], today: date) -> tuple[TrackerRow, ...]:
    """The tracker's rows, in the order the forms come (the service orders them)."""
    return tuple(tracker_row(form, today) for form in forms)


def tracker_cells(row: TrackerRow) -> tuple[str, ...]:
    """A row's cells under :data:`TRACKER_HEADER` (the command line's columns)."""
    return (
        str(row.session_id),
        row.patient,
        row.treated,
        row.due,
        row.status.text,
        row.missing.text,
    )
