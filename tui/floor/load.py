"""What one refresh of the floor reads, in a worker, and brings back: the views, and what the
floor shows of each that does not depend on the moment (its row's basis, until when its
judgement stands), worked out here and not on the event loop: both take time in proportion
to a session's readings, which grow all along under a bedside monitor's stream
(docs/station.md, "Keeping up to date")."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.core.schedule import Windows
from monitor.judge import next_change
from monitor.present.floor import RowBasis, row_basis
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
    #: For each view of ``views`` by id: its row's basis and the moment time alone changes
    #: its judgement (:class:`tui.floor.judgements.Judgements`).
    prepared: dict[int, tuple[RowBasis, datetime | None]] = field(default_factory=dict)


def load_floor(
    service: Service,
    clock: Callable[[], datetime],
    *,
    known: int | None,
    full: bool,
    check_clock: bool,
    shown: Mapping[int, SessionView],
    windows: Windows,
) -> Loaded:
    """Read the active sessions unless the record is still at version ``known`` (and no
    ``full`` reload is due): since ``known``, only those changed or not among ``shown``;
    ``full``, all. Ask the database's clock when ``check_clock``. Prepare each view's row
    with the clinic's ``windows`` (:attr:`Loaded.prepared`). ``shown`` maps each id to the
    view on screen: a reading read again unchanged is then that view's object
    (:func:`same_readings`). Runs in a worker."""
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
    if views is not None:
        views = [same_readings(v, shown.get(v.id)) for v in views]
    at = clock()
    offset = service.clock_offset(clock()) if check_clock else None
    prepared = {v.id: (row_basis(v), next_change(v, windows)) for v in views or ()}
    return Loaded(views, at, check_clock, offset, mark, active, prepared)


def same_readings(view: SessionView, before: SessionView | None) -> SessionView:
    """``view`` with each of its readings that equals (every field: values, flags and their
    acknowledgements, corrections, voids, validation) one of ``before``'s replaced by that
    object. The views on screen then keep their objects from load to load and only what is
    new is new: without it, each reload of a session of many readings would make as many
    objects again, and the garbage collector's full collections, which stop the station for
    tens of milliseconds, would come every few reloads instead of seldom."""
    if before is None or not before.readings:
        return view
    kept = {r.id: r for r in before.readings}
    readings = tuple(
        old if (old := kept.get(r.id)) is not None and old == r else r for r in view.readings
    )
    return replace(view, readings=readings)


class Handover:
    """A refresh worker's work, and what it read, handed over once (:meth:`take`).

    A finished Textual worker is cyclic garbage: it lives until the garbage collector's next
    full collection, and with it whatever it holds (its function, with the views on screen it
    was given, and its result, with every view it read). Under a stream of changes that was
    hundreds of floors' worth of views for each full collection to find and free, 150-250 ms
    of it. Here the worker holds this box, emptied as soon as each part is used."""

    def __init__(self, work: Callable[[], Loaded]) -> None:
        self._work: Callable[[], Loaded] | None = work
        self._loaded: Loaded | None = None

    def __call__(self) -> Handover:
        """(In the worker.) Do the work, once, and keep only its result."""
        work, self._work = self._work, None
        if work is not None:
            self._loaded = work()
        return self

    def take(self) -> Loaded | None:
        """(On the event loop.) The result, once."""
        loaded, self._loaded = self._loaded, None
        return loaded
