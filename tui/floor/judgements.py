"""The floor's judgement cache: each session judged again only when time alone changes it.

Every second the floor is judged again from the clock (docs/station.md); 40 sessions judged
every second would cost the event loop 15 ms a second, so a judgement is kept until the next
moment at which time changes it (:func:`monitor.judge.next_change`), and each row's
moment-independent part is kept while its judgement stands."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.core.config import ClinicConfig
from monitor.judge import next_change, rejudge
from monitor.present.floor import RowBasis, row_basis
from monitor.views import SessionView


class Judgements:
    """Per session: the data judged, its judgement, and until when that stands."""

    def __init__(self, config: ClinicConfig) -> None:
        self.config = config
        self._judged: dict[int, tuple[SessionView, SessionView, datetime | None]] = {}
        self._bases: dict[int, tuple[SessionView, RowBasis]] = {}

    def loaded(self, view: SessionView, prepared: tuple[RowBasis, datetime | None]) -> None:
        """A view as loaded is judged already: good until time changes it. ``prepared``: its
        row's basis and that moment, as the load worked them out (off the event loop)."""
        basis, until = prepared
        self._judged[view.id] = (view, view, until)
        self._bases[view.id] = (view, basis)

    def at(self, view: SessionView, now: datetime) -> SessionView:
        """``view`` judged at ``now``, reusing the last judgement of the same data until the
        next moment at which time alone changes it."""
        cached = self._judged.get(view.id)
        if cached is not None:
            source, judged, until = cached
            # (A view judged by the database's clock may be a moment ahead of this station's.)
            fresh = judged.as_of <= now + timedelta(seconds=2)
            if source is view and fresh and (until is None or now < until):
                return judged
        judged = rejudge(view, now, self.config)
        self._judged[view.id] = (view, judged, next_change(judged, self.config.windows))
        return judged

    def keep_only(self, session_ids: set[int]) -> set[int]:
        """Forget the sessions no longer on the floor; returns their ids."""
        gone = set(self._judged) - session_ids
        for session_id in gone:
            del self._judged[session_id]
            self._bases.pop(session_id, None)
        return gone

    def basis(self, judged: SessionView) -> RowBasis:
        """The moment-independent part of a row, kept while its judgement stands."""
        kept = self._bases.get(judged.id)
        if kept is not None and kept[0] is judged:
            return kept[1]
        basis = row_basis(judged)
        self._bases[judged.id] = (judged, basis)
        return basis
