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

    def started(self) -> None:
        """A reload starts now."""
        self.started_at = time.monotonic()

    def finished(self) -> None:
        """The reload that started last is done (or failed)."""
        self.took = time.monotonic() - self.started_at

    def wait(self) -> float:
        """Seconds before the next reload may start (0 or less: now)."""
        gap = max(STALE_RELOAD_GAP_SECONDS, 2 * self.took)
        return self.started_at + gap - time.monotonic()
