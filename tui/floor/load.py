"""What one refresh of the floor reads, in a worker, and brings back."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.views import SessionView

if TYPE_CHECKING:
    from monitor.services import Service


@dataclass(frozen=True)
class Loaded:
    """What one refresh brought back from the database."""

    views: list[SessionView] | None
    #: The station clock when the data was read.
    at: datetime
    #: Whether the database clock was asked this time, and how far ahead of ours it is
    #: (``None``: a file database, no other clock).
    clock_checked: bool = False
    clock_offset: float | None = None
    #: The record's version (the newest audit id) the views were read at. ``views`` is
    #: ``None`` when it had not moved since the last load: nothing to reload.
    mark: int | None = None
    #: Set when only the sessions changed since the last load were read (``views``): every
    #: active session's id, in order; the others are as shown.
    active: list[int] | None = None


def load_floor(
    service: Service,
    clock: Callable[[], datetime],
    *,
    known: int | None,
    full: bool,
    check_clock: bool,
    shown: Collection[int] = (),
) -> Loaded:
    """Read the active sessions unless the record is still at version ``known`` (and no
    ``full`` reload is due): since ``known``, only those changed or not among ``shown``;
    ``full``, all. Ask the database's clock when ``check_clock``. Runs in a worker."""
    # The cheap question first: has anything been saved since the last load? Read before the
    # views, so that a save in between is caught by the next question.
    mark = service.change_mark()
    views: list[SessionView] | None = None
    active: list[int] | None = None
    if full or known is None:
        views = service.active_sessions()
    elif mark != known:
        changes = service.active_sessions_since(known, shown)
        if changes is None:
            views = service.active_sessions()
        else:
            views, active = changes.views, changes.active
    at = clock()
    offset = service.clock_offset(clock()) if check_clock else None
    return Loaded(views, at, check_clock, offset, mark, active)
