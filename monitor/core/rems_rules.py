"""The REMS form's rules (docs/clinical.md, "The REMS Patient Monitoring Form"): who may mark a
form submitted or correct a proposal, and why not.

Pure, like :mod:`monitor.core.review`: each predicate takes plain facts (or the computed
:class:`~monitor.core.rems.RemsForm`) and returns ``None`` when the action may go ahead, or the
:class:`~monitor.core.review.Refusal` saying why not. The services raise it; the station's
tracker shows its reason before it opens a dialog.

Marking a form submitted does not change the clinical record, so a signed-off session may still
be marked submitted; a correction changes what the record says, so it is refused after sign-off
(reopen first) and after the form was submitted (the form sent must match the record).
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.core.rems import CORRECTABLE, Answer, RemsForm, Submission
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
    """Only the proposals (:data:`~monitor.core.rems.CORRECTABLE`) take a correction."""
    if field not in CORRECTABLE:
        return EntryRefusal(f"field '{field}' cannot be corrected: use {', '.join(CORRECTABLE)}")
    return None


def correct_state_refusal(session_id: int, *, signed: bool, submitted: bool) -> Refusal | None:
    """A form takes no correction once its session is signed off (reopen first) or once it
    was submitted (the form sent must match the record)."""
    refusal = signed_refusal(session_id, "REMS correction", signed=signed)
    if refusal is not None:
        return refusal
    if submitted:
        return Refusal(
            f"the REMS form of session {session_id} is already submitted: a correction "
            "would no longer match the form sent"
        )
    return None


def correct_refusal(form: RemsForm, *, user: str, role: str) -> Refusal | None:
    """May ``user`` (``role``) correct one of ``form``'s proposals now."""
    return supervisor_refusal(CORRECTING, user=user, role=role) or correct_state_refusal(
        form.session_id, signed=form.signed, submitted=form.submitted
    )


def value_refusal(field: str, answer: Answer, value: bool) -> Refusal | None:
    """A correction changes the answer in force (``answer``, of ``field``) to ``value``."""
    if answer.value is value:
        return Refusal(
            f"{field} is already '{'yes' if value else 'no'}' ({answer.source}): nothing to correct"
        )
    return None
