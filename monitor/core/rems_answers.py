"""The REMS form's answers a supervisor may correct, and what an answer is made of
(docs/clinical.md, "The REMS Patient Monitoring Form" and "REMS answers after discharge").

Every answer of the form has a proposal the product computes from the record; the "ready to
leave at" minute also has the discharging user's first answer; a supervisor may correct any of
them before the form is submitted, with a reason. The answer on the form is the latest
correction, else the first answer, else the proposal; all of them are kept.

After discharge, a change to the record (a late entry, a correction, a void, an event) may
change a proposal: :func:`changed_fields` names the answers whose proposal differs from the one
stored at discharge and that no supervisor has confirmed since (a correction of that answer
made after the latest change that moved its proposal); the session is not signed off until
each is confirmed.

Alone in a small module (the standard library only) so that the command line names the answers
in its help without importing the form's rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from monitor.errors import EntryError

#: The "if there were no 2-hour minimum" question: minutes after dosing.
READY_MINUTE = "ready_minute"
#: Every answer a supervisor may correct, as ``rems correct --field`` names them (the order of
#: the form).
FIELDS = (
    READY_MINUTE,
    "vitals_ok_before",
    "vitals_ok_end",
    "sedation",
    "dissociation",
    "respiratory_depression",
    "serious_adverse_event",
)
#: The yes/no answers among them.
YES_NO_FIELDS = FIELDS[1:]
#: The answers the station's correction dialog offers (the proposals of revision 2); the
#: command line and the services take every one of :data:`FIELDS`.
CORRECTABLE = ("sedation", "dissociation", "respiratory_depression")
#: How an answer is worded for people.
LABELS = {
    READY_MINUTE: "ready to leave at (minute)",
    "vitals_ok_before": "vitals acceptable before dosing",
    "vitals_ok_end": "vitals acceptable at the end",
    "sedation": "sedation",
    "dissociation": "dissociation",
    "respiratory_depression": "respiratory depression",
    "serious_adverse_event": "serious adverse event",
}

#: Where the answer on the form comes from (``source`` in ``rems --json``).
PROPOSAL = "proposal"
FIRST_ANSWER = "first answer"
CORRECTION = "correction"

#: Words a yes/no answer is typed as.
_YES = ("yes", "true")
_NO = ("no", "false")
#: A minute typed by people: ASCII digits (a longer run is out of range, not "not a number").
_DIGITS = re.compile(r"[0-9]+")

T = TypeVar("T", bool, int)


@dataclass(frozen=True)
class Correction:
    """A supervisor's answer replacing the one on the form, with who, when and why. ``value``
    is the minute for :data:`READY_MINUTE`, yes/no otherwise."""

    field: str
    value: bool | int
    by: str
    at: datetime
    reason: str


@dataclass(frozen=True)
class FirstAnswer:
    """The discharging user's answer to the ready-minute question, and who gave it."""

    value: int
    by: str | None


@dataclass(frozen=True)
class Answer(Generic[T]):
    """One answer of the form: the value on it, the product's proposal, the evidence the
    proposal rests on, the first answer (the ready minute) and the correction in force."""

    value: T | None
    proposal: T | None
    evidence: tuple[str, ...] = ()
    correction: Correction | None = None
    first: FirstAnswer | None = None

    @property
    def origin(self) -> str | None:
        """:data:`CORRECTION`, :data:`FIRST_ANSWER` or :data:`PROPOSAL`; None while there is
        no answer."""
        if self.correction is not None:
            return CORRECTION
        if self.first is not None:
            return FIRST_ANSWER
        return PROPOSAL if self.value is not None else None

    @property
    def by(self) -> str | None:
        """Who gave the answer on the form (None for a proposal)."""
        if self.correction is not None:
            return self.correction.by
        return None if self.first is None else self.first.by

    @property
    def source(self) -> str:
        """``proposal``, ``answered by NAME`` or ``corrected by NAME at TIME: reason``."""
        if self.correction is not None:
            c = self.correction
            return f"corrected by {c.by} at {c.at.isoformat(timespec='minutes')}: {c.reason}"
        if self.first is not None:
            return f"answered by {self.first.by or '-'}"
        return PROPOSAL


def shown(field: str, value: bool | int | None) -> str:
    """An answer as people read it: ``yes``, ``no``, ``unknown``; ``minute 40``, ``none``."""
    if field == READY_MINUTE:
        return "none" if value is None else f"minute {value}"
    return "unknown" if value is None else "yes" if value else "no"


def answer_json(answer: Answer[Any], field: str) -> dict[str, Any]:
    """One answer as ``rems --json`` gives it: the value on the form, the proposal, where the
    value comes from and who gave it, the first answer, the correction in force."""
    c = answer.correction
    return {
        "field": field,
        "value": answer.value,
        "proposal": answer.proposal,
        "source": answer.origin,
        "by": answer.by,
        "first_answer": None
        if answer.first is None
        else {"value": answer.first.value, "by": answer.first.by},
        "evidence": list(answer.evidence),
        "corrected_by": None if c is None else c.by,
        "corrected_at": None if c is None else c.at.isoformat(),
        "reason": None if c is None else c.reason,
    }


def _quoted(text: str) -> str:
    """A typed value in a message: quoted, cut at 20 characters."""
    return repr(text if len(text) <= 20 else text[:20] + "…")


def answer_value(field: str, value: object) -> bool | int:
    """The value of a correction of ``field`` as typed (``yes``/``no``/``true``/``false``; a
    whole number of minutes for :data:`READY_MINUTE`) or given (a bool; an int). The range of a
    minute is the session's (:func:`monitor.core.rems_rules.minute_refusal`)."""
    if field == READY_MINUTE:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
            digits = value.strip().lstrip("0") or "0"
            if len(digits) > 9:
                # Out of every session's range: said without converting it.
                raise EntryError(
                    f"ready minute {_quoted(digits)} is out of range: accepted 1 to the "
                    "minutes monitored"
                )
            return int(digits)
        shown_value = _quoted(value) if isinstance(value, str) else type(value).__name__
        raise EntryError(
            f"the ready minute must be a whole number of minutes after dosing, not {shown_value}"
        )
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _YES:
            return True
        if word in _NO:
            return False
        shown_value = _quoted(value)
    else:
        shown_value = type(value).__name__
    raise EntryError(f"{field} is answered yes or no (also true/false), not {shown_value}")


def changed_fields(
    at_discharge: Mapping[str, Any] | None,
    history: Sequence[tuple[datetime, Mapping[str, bool | int | None]]],
    corrections: Sequence[Correction],
) -> tuple[str, ...]:
    """The answers a change to the record after discharge affected and that no supervisor has
    confirmed since, in the order of :data:`FIELDS`.

    ``at_discharge``: the proposals stored at discharge (None: not stored, nothing to tell);
    ``history``: the proposals after each change to the record since discharge, oldest first
    (the last: the record as it is now). An answer is affected when its proposal now differs
    from the one at discharge; it is confirmed by a correction of that answer made at or after
    the latest change that moved its proposal (a later change that leaves it alone, a note for
    instance, asks nothing again)."""
    if at_discharge is None or not history:
        return ()
    now = history[-1][1]
    affected = []
    for name in FIELDS:
        if name not in at_discharge or at_discharge[name] == now.get(name):
            continue
        previous, moved = at_discharge[name], history[0][0]
        for moment, proposals in history:
            if proposals.get(name) != previous:
                previous, moved = proposals.get(name), moment
        if not any(c.field == name and c.at >= moved for c in corrections):
            affected.append(name)
    return tuple(affected)
