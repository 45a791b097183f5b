"""The REMS form's rules (docs/clinical.md, "The REMS Patient Monitoring Form" and "REMS answers
after discharge"): who may mark a form submitted or correct an answer, and why
not; and the sign-off waiting for the answers a change after discharge affected.

Pure, like :mod:`monitor.core.review`: each predicate takes plain facts (or the computed
:class:`~monitor.core.rems.RemsForm`) and returns ``None`` when the action may go ahead, or the
:class:`~monitor.core.review.Refusal` saying why not. The services raise it; the station's
tracker shows its reason before it opens a dialog.

Marking a form submitted does not change the clinical record, so a signed-off session may still
be marked submitted; a correction changes what the record says, so it is refused after sign-off
(reopen first) and after the form was submitted (the form sent must match the record), except
the confirmation of an answer a change after discharge affected, with the value the form has
(it changes nothing on the form, and the sign-off waits for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.core.rems import RemsForm, Submission
from monitor.core.rems_answers import FIELDS, LABELS, READY_MINUTE, Answer, shown
from monitor.core.review import SUPERVISOR, Refusal, signed_refusal
from monitor.errors import EntryError, Refused

#: What a supervisor does, as a refusal of a nurse says it.
SUBMITTING = "marks a REMS form submitted"
CORRECTING = "corrects a REMS answer"


@dataclass(frozen=True)
class EntryRefusal(Refusal):
    """A value that cannot be accepted (the services raise :class:`EntryError`)."""

    def error(self) -> Refused:
        """The error the services raise for it."""
        return EntryError(self.reason)


def supervisor_refusal(what: str, *, user: str, role: str) -> Refusal | None:
    """Only a supervisor submits a form or corrects an answer (``what``: :data:`SUBMITTING`
    or :data:`CORRECTING`)."""
    if role != SUPERVISOR:
        return Refusal(f"{user} is a nurse: only a supervisor {what}", permission=True)
    return None


def esketamine_refusal(session_id: int, protocol: str) -> Refusal | None:
    """REMS forms are for esketamine sessions."""
    if not protocol.startswith("esketamine-"):
        return Refusal(
            f"session {session_id} is {protocol}: REMS forms are for esketamine sessions"
        )
    return None


def dosed_refusal(session_id: int, *, dosed: bool) -> Refusal | None:
    """A session with no dose recorded has no form to submit or correct."""
    if not dosed:
        return Refusal(f"session {session_id} has no dose recorded: there is no form")
    return None


def submit_state_refusal(
    session_id: int, *, discharged: bool, submission: Submission | None
) -> Refusal | None:
    """A form is submitted after discharge, and once."""
    if not discharged:
        return Refusal(f"session {session_id} is still in observation: discharge it first")
    if submission is not None:
        return Refusal(
            f"the REMS form of session {session_id} was already marked submitted by "
            f"{submission.by} at {submission.at.isoformat(timespec='minutes')}"
        )
    return None


def submit_refusal(form: RemsForm, *, user: str, role: str) -> Refusal | None:
    """May ``user`` (``role``) mark ``form`` submitted now."""
    return supervisor_refusal(SUBMITTING, user=user, role=role) or submit_state_refusal(
        form.session_id, discharged=form.discharged, submission=form.submission
    )


def field_refusal(field: str) -> Refusal | None:
    """Only the form's answers (:data:`~monitor.core.rems_answers.FIELDS`) take a
    correction."""
    if field not in FIELDS:
        shown_field = field if len(field) <= 40 else field[:40] + "…"
        return EntryRefusal(f"field '{shown_field}' cannot be corrected: use {', '.join(FIELDS)}")
    return None


def discharged_refusal(session_id: int, field: str, *, discharged: bool) -> Refusal | None:
    """The ready minute and the vitals at the end are answered once the patient has left
    (the discharging user gives the first answer; the end of monitoring is the discharge)."""
    if not discharged and field in (READY_MINUTE, "vitals_ok_end"):
        return Refusal(
            f"session {session_id} is still in observation: {LABELS[field]} is answered at "
            "discharge, and corrected after it"
        )
    return None


def minute_refusal(minute: int, monitored: int | None) -> Refusal | None:
    """A ready minute is between 1 and the minutes monitored (from dosing to discharge)."""
    most = monitored or 0
    if not 1 <= minute <= most:
        return EntryRefusal(
            f"ready minute {minute} is out of range: accepted 1 to {most} (the minutes "
            "monitored, from dosing to discharge)"
        )
    return None


def correct_state_refusal(
    session_id: int, *, signed: bool, submitted: bool, confirming: bool = False
) -> Refusal | None:
    """A form takes no correction once its session is signed off (reopen first) or once it
    was submitted (the form sent must match the record), except, after submission, a
    confirmation (``confirming``) of an answer a change after discharge affected."""
    refusal = signed_refusal(session_id, "REMS correction", signed=signed)
    if refusal is not None:
        return refusal
    if submitted and not confirming:
        return Refusal(
            f"the REMS form of session {session_id} is already submitted: a correction "
            "would no longer match the form sent"
        )
    return None


def correct_refusal(form: RemsForm, *, user: str, role: str) -> Refusal | None:
    """May ``user`` (``role``) correct one of ``form``'s answers now (after submission: only
    confirm the answers a change after discharge affected)."""
    return supervisor_refusal(CORRECTING, user=user, role=role) or correct_state_refusal(
        form.session_id,
        signed=form.signed,
        submitted=form.submitted,
        confirming=bool(form.changed_after_discharge),
    )


def value_refusal(
    field: str, answer: Answer[Any], value: bool | int, *, confirming: bool = False
) -> Refusal | None:
    """A correction changes the answer in force (``answer``, of ``field``) to ``value``,
    unless it confirms (``confirming``) an answer a change after discharge affected."""
    if answer.value == value and type(answer.value) is type(value) and not confirming:
        return Refusal(
            f"{field} is already '{shown(field, value)}' ({answer.source}): nothing to correct"
        )
    return None


def submitted_value_refusal(
    session_id: int, field: str, answer: Answer[Any], value: bool | int
) -> Refusal | None:
    """After submission a confirmation keeps the answer the form has (the form sent)."""
    if answer.value != value or type(answer.value) is not type(value):
        return Refusal(
            f"the REMS form of session {session_id} is already submitted with {field} "
            f"'{shown(field, answer.value)}': only that answer can be confirmed now"
        )
    return None


def unconfirmed_refusal(session_id: int, fields: tuple[str, ...] | list[str]) -> Refusal | None:
    """The sign-off waits while a REMS answer a change after discharge affected is not
    confirmed (docs/clinical.md, "REMS answers after discharge")."""
    if not fields:
        return None
    return Refusal(
        f"session {session_id}: REMS answers changed after discharge, not confirmed: "
        f"{', '.join(fields)}; a supervisor confirms or corrects each with `monitor rems "
        f"correct {session_id} --field F --value V --by SUPERVISOR --reason TEXT`"
    )
