"""The garbage collector's tuning for the station: off until the first load, then frozen, and
full collections made by the station at quiet moments instead of whenever Python decides.

A full collection in the middle of the first load would stop the event loop for tens of
milliseconds; what is loaded by then lives as long as the app, so it is frozen out of the
collector's way. After that, Python would make a full collection every few reloads under a
stream of changes (a bedside monitors' gateway: each reload makes views that live until the
next), each stopping the station for 40-100 ms with many readings on the floor, in whichever
thread makes it, while nurses type. So the station keeps Python's young collections (short:
new objects only) and makes the full ones itself (:meth:`Collector.tick`): once a minute at
most, when no key came and nothing was read for two seconds, and at the latest every ten
minutes whatever happens; never while the station is idle (fewer middle collections since the
last full one than Python itself waits for), so that an idle station stays idle
(docs/station.md, "Keeping up to date")."""

from __future__ import annotations

import gc
import time

#: Python's automatic full collections are considered only after this many young ones:
#: never, in practice, so that the station chooses their moment.
_NO_AUTOMATIC_FULL = 1_000_000
#: A full collection is made when the station is quiet, at most once this often...
QUIET_FULL_EVERY_SECONDS = 60.0
#: ... and at the latest this long after the last, quiet or not (a stream for hours).
FORCED_FULL_AFTER_SECONDS = 600.0
#: Quiet: no key and no read of the floor for this long.
QUIET_SECONDS = 2.0
#: Python's own thresholds, as the process had them before any station changed them.
_PYTHONS = gc.get_threshold()


class Collector:
    """Holds the collector off from the station's start until its first load is in, then
    chooses when full collections happen."""

    def __init__(self) -> None:
        self._settled = False
        self.last_full = time.monotonic()

    def hold(self) -> None:
        """The station starts: no collection until the first load is in."""
        gc.disable()

    def settle(self) -> None:
        """The first load is in: freeze what is loaded, collect young objects again, and
        leave the full collections to :meth:`tick` (once)."""
        if self._settled:
            return
        self._settled = True
        gc.freeze()
        young, middle, _ = _PYTHONS
        gc.set_threshold(young, middle, _NO_AUTOMATIC_FULL)
        gc.enable()
        self.last_full = time.monotonic()

    def tick(self, quiet_since: float) -> bool:
        """Every second: make a full collection if one is due (``quiet_since``: the monotonic
        moment since which no key came and nothing was read). Returns whether it made one."""
        if not self._settled:
            return False
        if gc.get_count()[2] < _PYTHONS[2]:
            return False  # fewer middle collections than Python itself waits for: idle
        now = time.monotonic()
        since = now - self.last_full
        quiet = now - quiet_since >= QUIET_SECONDS
        if since < FORCED_FULL_AFTER_SECONDS and not (quiet and since >= QUIET_FULL_EVERY_SECONDS):
            return False
        gc.collect()
        self.last_full = time.monotonic()
        return True

    def release(self) -> None:
        """The first load failed, or the station closes: never leave the process without its
        collector, nor with its full collections off."""
        gc.set_threshold(*_PYTHONS)
        gc.enable()
