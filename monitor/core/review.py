"""The review rules (docs/clinical.md, "Review and sign-off"): who may sign a session off,
correct or void a reading, and reopen a sign-off, and why not.

Pure: each predicate takes plain facts (a role, whether the session is discharged or signed, a
reading's state) and returns ``None`` when the action may go ahead, or the :class:`Refusal`
saying why not. The services raise it (:meth:`Refusal.error`); a screen shows its reason before
it opens a dialog.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.errors import PermissionDenied, Refused

SUPERVISOR = "supervisor"


@dataclass(frozen=True)
class Refusal:
    """Why an action may not go ahead; ``permission`` when the user's role is the reason."""

    reason: str
    permission: bool = False

    def error(self) -> Refused:
        """The error the services raise for it."""
        return PermissionDenied(self.reason) if self.permission else Refused(self.reason)


def sign_refusal(
    session_id: int, *, user: str, role: str, discharged: bool, signed: bool
) -> Refusal | None:
    """A supervisor signs off ("reviewed") a discharged session not signed off now."""
    if role != SUPERVISOR:
        return Refusal(f"{user} is a nurse: only a supervisor can sign off", permission=True)
    if not discharged:
        return Refusal(f"session {session_id} is still active: discharge it first")
    if signed:
        return Refusal(f"session {session_id} is already signed off")
    return None


def reopen_refusal(session_id: int, *, user: str, role: str, signed: bool) -> Refusal | None:
    """A supervisor reopens a session signed off now."""
    if role != SUPERVISOR:
        return Refusal(f"{user} is a nurse: only a supervisor reopens", permission=True)
    if not signed:
        return Refusal(f"session {session_id} is not signed off: nothing to reopen")
    return None


def signed_refusal(session_id: int, what: str, *, signed: bool) -> Refusal | None:
    """A signed-off session takes nothing new (``what``) until a supervisor reopens it."""
    if signed:
        return Refusal(
            f"session {session_id} is signed off: it takes no new {what} until a "
            "supervisor reopens it"
        )
    return None


def change_refusal(
    reading_id: int,
    what: str,
    *,
    user: str,
    role: str,
    recorded_it: bool,
    superseded_by: int | None,
    voided: bool,
    session_id: int,
    signed: bool,
    discharged: bool = False,
) -> Refusal | None:
    """A reading in force may be corrected or voided (``what``: ``amend`` or ``void``): by a
    nurse only if they recorded it and the session is not discharged, by a supervisor any;
    never once its session is signed off (docs/clinical.md, "The record after discharge")."""
    if superseded_by is not None:
        return Refusal(
            f"reading {reading_id} was already corrected by reading {superseded_by}: "
            f"{what} {superseded_by}"
        )
    if voided:
        return Refusal(f"reading {reading_id} is voided: it counts for nothing already")
    if role != SUPERVISOR and not recorded_it:
        return Refusal(
            f"{user} is a nurse and did not record reading {reading_id}: "
            "a supervisor must correct it",
            permission=True,
        )
    if role != SUPERVISOR and discharged:
        return Refusal(
            f"session {session_id} is discharged: a supervisor corrects or voids its readings now",
            permission=True,
        )
    return signed_refusal(session_id, "correction or void", signed=signed)
