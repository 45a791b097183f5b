"""The quality summary for supervisors (issue #11, deliverable 6): one period's figures.

The period is on the **discharge** time, as the review queue's: a session's figures are final
once it is discharged (its checks are judged at the discharge, its gate stored), so a summary
of a past period never changes while later sessions go on. Sessions still in observation are
in no summary yet. The sessions are read by the discharge index a batch at a time and judged
with the views ``session show`` builds (:mod:`monitor.services.review`); the cost follows the
number of sessions in the period, and the memory only the number of high flags in it.

Figures (docs/clinical.md, "Quality summary"): sessions by protocol; the checks after dosing
(schedule and BP rechecks) done on time, late, missed, and not reached at the discharge (of them,
those an early discharge by override left, counted apart and never as missed), with their shares
of all those checks; the minutes from a high flag (its reading saved) to its
acknowledgement, median and nearest-rank 90th percentile, unacknowledged ones counted apart;
sessions with a severe BP flag (:data:`monitor.core.quality.SEVERE_BP_RULES`); discharges by
override; late entries (readings, and sessions with one); adverse events by type, and how many were
serious; REMS forms overdue.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.core.quality import QualityReport, median, percentile, rems_overdue
from monitor.services.history import check_page
from monitor.services.review import ReviewServices, SessionFacts, discharged_between
from monitor.store import models as m

#: Why the REMS figure may be missing.
REMS_NOT_AVAILABLE = (
    "not available: this database keeps no record of REMS forms submitted "
    "(monitor.services.report.ReportServices._rems_submitted is the hook)"
)


class ReportServices(ReviewServices):
    """The quality summary."""

    def _rems_submitted(self, session: Session, ids: list[int]) -> set[int] | None:
        """Which of these esketamine sessions have their REMS form marked submitted
        (``rems submit``); ``None`` would make the overdue figure "not available"."""
        if not ids:
            return set()
        found = session.scalars(
            select(m.RemsSubmission.session_id).where(m.RemsSubmission.session_id.in_(ids))
        )
        return set(found)

    def quality_report(self, since: datetime | None, until: datetime | None) -> QualityReport:
        """The figures of the sessions discharged within ``since``..``until`` (aware times,
        both included)."""
        check_page(since, until, None)
        today = self.now().astimezone().date()
        protocols: Counter[str] = Counter()
        adverse: Counter[str] = Counter()
        waits: list[float] = []
        past_due: list[int] = []
        totals: Counter[str] = Counter()
        unreadable: list[str] = []
        with self._snapshot_session() as session:
            for batch in self._facts_batches(session, discharged_between(since, until)):
                for facts in batch:
                    protocols[facts.protocol] += 1
                    adverse.update(facts.adverse)
                    waits.extend(facts.high_waits)
                    totals.update(_counts(facts))
                    unreadable.extend(facts.unreadable)
                    if facts.esketamine and rems_overdue(_treated_on(facts), today):
                        past_due.append(facts.id)
            submitted = self._rems_submitted(session, past_due)
        checks = sum(totals[k] for k in ("on_time", "late", "missed", "open"))
        return QualityReport(
            since=since,
            until=until,
            sessions=sum(protocols.values()),
            by_protocol=dict(sorted(protocols.items())),
            checks=checks,
            checks_on_time=totals["on_time"],
            checks_late=totals["late"],
            checks_missed=totals["missed"],
            checks_open=totals["open"],
            checks_ended_early=totals["ended_early"],
            high_flags=len(waits) + totals["high_unacknowledged"],
            high_acknowledged=len(waits),
            high_unacknowledged=totals["high_unacknowledged"],
            high_ack_median_min=median(waits),
            high_ack_p90_min=percentile(waits, 90),
            severe_bp_sessions=totals["severe_bp"],
            override_discharges=totals["override"],
            late_entries=totals["late_entries"],
            late_entry_sessions=totals["late_entry_sessions"],
            adverse_events=sum(adverse.values()),
            adverse_by_type=dict(sorted(adverse.items())),
            serious_adverse_events=totals["serious_adverse"],
            rems_past_due=len(past_due),
            rems_overdue=None if submitted is None else len(set(past_due) - submitted),
            rems_note=REMS_NOT_AVAILABLE if submitted is None else None,
            unreadable=tuple(unreadable),
        )


def _treated_on(facts: SessionFacts) -> date:
    """The day the REMS form counts from: the discharge's local calendar day."""
    return facts.discharged_at.astimezone().date()


def _counts(facts: SessionFacts) -> dict[str, int]:
    return {
        "on_time": facts.checks_on_time,
        "late": facts.checks_late,
        "missed": facts.checks_missed,
        "open": facts.checks_open,
        "ended_early": facts.checks_ended_early,
        "high_unacknowledged": facts.high_unacknowledged,
        "severe_bp": int(facts.severe_bp),
        "override": int(facts.override),
        "late_entries": facts.late_entries,
        "late_entry_sessions": int(facts.late_entries > 0),
        "serious_adverse": facts.serious_adverse,
    }
