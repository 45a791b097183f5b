"""One page of the review queue, read in a worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from monitor.services import Service
from monitor.services.review import SessionFacts
from tui.review.filters import ReviewFilter


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue as loaded: its rows, whether more follow, and where it began."""

    rows: tuple[SessionFacts, ...]
    more: bool
    cursor: PageStart


@dataclass(frozen=True)
class PageStart:
    """Where a page begins: discharged at or before ``until``, leaving out ``shown`` (the
    sessions of the page before discharged at that same moment)."""

    until: datetime | None = None
    shown: frozenset[int] = field(default_factory=frozenset)


def load_page(
    service: Service, chosen: ReviewFilter, start: PageStart, now: datetime, size: int
) -> QueuePage:
    """One page of the queue (runs in a worker). Pages follow each other by the discharge
    time, newest first: the next page starts at the last session shown, leaving out those
    already shown at that moment."""
    since, until = chosen.bounds(now)
    if start.until is not None:
        until = start.until if until is None else min(until, start.until)
    page = service.review_queue(
        since=since,
        until=until,
        unsigned=chosen.unsigned,
        nurse=chosen.nurse,
        protocol=chosen.protocol,
        flagged=chosen.flagged,
        override=chosen.override,
        late=chosen.late,
        late_entries=chosen.late_entries,
        adverse=chosen.adverse,
        limit=size + len(start.shown),
    )
    rows = tuple(r for r in page.rows if r.id not in start.shown)
    return QueuePage(rows, page.more, start)


def next_start(page: QueuePage) -> PageStart:
    """Where the page after ``page`` begins."""
    last = page.rows[-1].discharged_at
    same = frozenset(r.id for r in page.rows if r.discharged_at == last)
    if page.cursor.until == last:
        same |= page.cursor.shown  # a run of one moment longer than a page
    return PageStart(last, same)
