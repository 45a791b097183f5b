"""A session's review history and the discharge gate's checklist, told once.

The review history is every sign-off ("reviewed"), withdrawn ones too, and every reopening
(who, when, why), oldest first (:func:`review_steps`): ``session show`` and the station's
detail print it as lines (:func:`review_lines`), the PDF too, and ``session show --json``
gives it as ``review.history`` (docs/interface.md, docs/exports.md). The checklist is the
gate's conditions, met ``[x]`` or not ``[ ]`` with why (:func:`checklist_lines`); the PDF prints
the one stored at discharge under the discharge (:func:`stored_checklist_lines`), as the
station's detail shows it. Before the sign-off, the review names the readings from a bedside
monitor that still await a nurse's validation (:func:`monitor.present.validation.pending_line`),
so that a supervisor does not sign a record whose readings do not all count yet unawares.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from monitor.core.gate import GateItem
from monitor.present.parts import Line, Part, Role, local_minute
from monitor.present.validation import pending_line
from monitor.views import SessionView, SignOffView


class Step(StrEnum):
    """What a step of the review did (``review.history[].action`` in the JSON)."""

    SIGNED = "signed"
    REOPENED = "reopened"


@dataclass(frozen=True)
class ReviewStep:
    """A sign-off or a reopening: who, when; a reopening's reason; whether a sign-off was
    withdrawn since (a reopening never is)."""

    action: Step
    by: str
    at: datetime
    reason: str | None = None
    withdrawn: bool = False


def review_steps(view: SessionView) -> tuple[ReviewStep, ...]:
    """Every sign-off and reopening of the session, oldest first; steps at one moment keep
    the order they can only have happened in (the n-th sign-off, the n-th reopening that
    withdrew it, the next sign-off); every sign-off but the one in force is withdrawn."""
    signoffs = list(view.signoffs)
    if not signoffs and view.signed_by is not None and view.signed_at is not None:
        signoffs = [SignOffView(view.signed_by, view.signed_at)]  # a view without its history
    in_force = len(signoffs) - 1 if view.signed_by is not None else -1
    steps = [
        (given.at, 2 * i, ReviewStep(Step.SIGNED, given.by, given.at, withdrawn=i != in_force))
        for i, given in enumerate(signoffs)
    ]
    steps += [
        (again.at, 2 * i + 1, ReviewStep(Step.REOPENED, again.by, again.at, reason=again.reason))
        for i, again in enumerate(view.reopened)
    ]
    return tuple(step for _, _, step in sorted(steps, key=lambda s: (s[0], s[1])))


def review_lines(view: SessionView) -> tuple[Line, ...]:
    """The review, oldest first: every sign-off later withdrawn (who, when) and each
    withdrawal (who, when, why); the readings from a bedside monitor still awaiting a nurse's
    validation; then, last, the sign-off in force, or "NOT YET REVIEWED"."""
    lines: list[Line] = []
    in_force: ReviewStep | None = None
    for step in review_steps(view):
        when = local_minute(step.at)
        if step.action is Step.REOPENED:
            lines.append((Part(f"Sign-off withdrawn by {step.by} at {when}: {step.reason}"),))
        elif step.withdrawn:
            lines.append(
                (Part(f"Signed by {step.by} at {when}; meaning: reviewed (withdrawn)", Role.NOTE),)
            )
        else:
            in_force = step
    waiting = pending_line(view)
    if waiting is not None:
        lines.append(waiting)
    if view.signed_by is None:
        lines.append((Part("NOT YET REVIEWED", Role.ALERT),))
    else:
        signed = local_minute(in_force.at if in_force else view.signed_at)
        lines.append(
            (Part(f"Signed by {view.signed_by} at {signed}; meaning: reviewed", Role.STRONG),)
        )
    return tuple(lines)


def checklist_lines(items: tuple[GateItem, ...]) -> tuple[Line, ...]:
    """The gate's conditions: ``[x] label`` for one met, ``[ ] why`` for one not met."""
    return tuple(
        (Part(f"[x] {item.label}", Role.OK),)
        if item.ok
        else (Part(f"[ ] {item.detail or item.label}", Role.ALERT),)
        for item in items
    )


#: The heading over the checklist stored at discharge (the station's detail says the same).
STORED_CHECKLIST: Line = (Part("Gate stored at discharge:", Role.HEADING),)


def stored_checklist_lines(view: SessionView) -> tuple[Line, ...]:
    """After discharge, the checklist of the gate as stored then, under its heading; nothing
    before discharge, or for a gate stored before its checklist was kept."""
    stored = view.stored_gate
    if view.discharged_at is None or stored is None or not stored.items:
        return ()
    return (STORED_CHECKLIST, *checklist_lines(stored.items))
