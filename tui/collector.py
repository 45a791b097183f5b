"""The garbage collector's tuning for the station: off until the first load, then frozen.

A full collection in the middle of the first load would stop the event loop for tens of
milliseconds; what is loaded by then lives as long as the app, so it is frozen out of the
collector's way and collections stay short while nurses type (docs/benchmarks.md)."""

from __future__ import annotations

import gc


class Collector:
    """Holds the collector off from the station's start until its first load is in."""

    def __init__(self) -> None:
        self._settled = False

    def hold(self) -> None:
        """The station starts: no collection until the first load is in."""
        gc.disable()

    def settle(self) -> None:
        """The first load is in: freeze what is loaded and collect again (once)."""
        if self._settled:
            return
        self._settled = True
        gc.freeze()
        gc.enable()

    def release(self) -> None:
        """The first load failed, or the station closes: never leave the process without it."""
        gc.enable()
