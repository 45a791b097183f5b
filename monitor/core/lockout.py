"""The PIN lockout (docs/interface.md, "Who is acting"; docs/storage.md, "Who acts").

``lockout_after`` refused PINs in a row lock a user for ``lockout_min`` minutes. When the lock
ends the count starts again, so one more wrong PIN does not lock again at once; each lock in a
row (no accepted PIN between) lasts twice the one before, up to a day. The last active
supervisor's lock never grows: the clinic must never be left without one. A supervisor lifts
any lock, the database owner restores a supervisor (`monitor user recover`).

PostgreSQL applies the same rule in its own sign-in function (monitor.store.identity); the
tests run both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

#: The bounds a clinic's ``[security]`` settings must keep (and the database enforces).
LOCKOUT_AFTER_RANGE = (3, 20)
LOCKOUT_MIN_RANGE = (1, 1440)
#: The longest a lock grows to, in minutes.
LOCK_CAP_MIN = 1440


@dataclass(frozen=True)
class LockState:
    """A user's refusals in a row, locks in a row, and the lock in force."""

    failed: int
    locks: int
    locked_until: datetime | None

    def locked(self, now: datetime) -> bool:
        """Whether the user is locked at ``now``."""
        return self.locked_until is not None and self.locked_until > now


def bounded(lockout_after: int, lockout_min: int) -> tuple[int, int]:
    """The settings within their bounds."""
    low, high = LOCKOUT_AFTER_RANGE
    after = min(max(lockout_after, low), high)
    low, high = LOCKOUT_MIN_RANGE
    return after, min(max(lockout_min, low), high)


def lock_minutes(lockout_min: int, locks_before: int, *, last_supervisor: bool) -> int:
    """How long the next lock lasts: doubled at each lock in a row, up to a day; the last
    active supervisor's, never longer than ``lockout_min``."""
    if last_supervisor:
        return lockout_min
    return min(lockout_min * 2 ** min(locks_before, 16), LOCK_CAP_MIN)


def after_refusal(
    state: LockState,
    now: datetime,
    lockout_after: int,
    lockout_min: int,
    *,
    last_supervisor: bool,
) -> tuple[LockState, int | None]:
    """The state after one more wrong PIN, and the minutes of the lock it starts (if any)."""
    lockout_after, lockout_min = bounded(lockout_after, lockout_min)
    failed = state.failed + 1
    if failed < lockout_after:
        return LockState(failed, state.locks, state.locked_until), None
    minutes = lock_minutes(lockout_min, state.locks, last_supervisor=last_supervisor)
    return LockState(0, state.locks + 1, now + timedelta(minutes=minutes)), minutes


ACCEPTED = LockState(0, 0, None)
