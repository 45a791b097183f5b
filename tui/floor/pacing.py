"""How often the floor reloads under a stream of changes made elsewhere (a bedside monitors'
gateway saving many readings a second): a change on a quiet floor is read at once; under a
stream, a reload starts at most once every :data:`STALE_RELOAD_GAP_SECONDS`, or twice as long
as the last read took, so that the worker reads at most half the time and the event loop keeps
the rest (docs/station.md, "Keeping up to date")."""

from __future__ import annotations

import time

#: Under a stream of changes, the least time from one reload's start to the next's: at most
#: four reads a second, each of every session changed meanwhile.
STALE_RELOAD_GAP_SECONDS = 0.25


class ReloadPacing:
    """When the last reload started and how long it took (monotonic seconds)."""

    def __init__(self) -> None:
        self.started_at = float("-inf")
        self.took = 0.0
        self._full = False

    def started(self, *, full: bool = False) -> None:
        """A reload starts now; ``full``: of every session (every five minutes), not only
        the changed ones."""
        self.started_at = time.monotonic()
        self._full = full

    def finished(self) -> None:
        """The reload that started last is done (or failed). A full reload's time does not
        pace the reloads of changes that follow it: it is rare, and reads every session."""
        if not self._full:
            self.took = time.monotonic() - self.started_at

    def wait(self) -> float:
        """Seconds before the next reload may start (0 or less: now)."""
        gap = max(STALE_RELOAD_GAP_SECONDS, 2 * self.took)
        return self.started_at + gap - time.monotonic()
