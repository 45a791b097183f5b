"""A session's REMS answers from its view, and what a change after discharge affected
(docs/clinical.md, "REMS answers after discharge").

Functions over :class:`~monitor.views.SessionView` (no database), and one read
(:func:`rems_corrections`): the discharge stores :func:`rems_proposals` in the session's
``rems_at_discharge``; the reads tell, with :func:`rems_changed_after_discharge`, which answers a
later change to the record moved and no supervisor has confirmed since
(``review.rems_changed_after_discharge``; the sign-off waits for them). Apart from
:mod:`monitor.services.rems` so that the reads of sessions
(:mod:`monitor.services.queries`) can use it without importing the REMS services.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.core.gate import DischargeCriteria, Patient
from monitor.core.intake import expected_dose
from monitor.core.ready_minute import ready_to_leave_minute
from monitor.core.rems import RemsEvent, RemsInput, Submission, rems_form
from monitor.core.rems_answers import FIELDS, READY_MINUTE, Correction
from monitor.core.schedule import Windows
from monitor.judge import event_alarms, observations
from monitor.store import models as m
from monitor.views import FlagView, SessionView


def changes_after_discharge(view: SessionView) -> list[datetime]:
    """When the record of a discharged session changed after its discharge, oldest first: a
    reading saved (a late entry, a correction), voided, an event recorded, a flag raised when
    the baseline changed, the infusion end corrected. Empty before discharge or when nothing
    changed since."""
    left = view.discharged_at
    if left is None:
        return []
    moments = {r.recorded_at for r in view.readings}
    moments |= {r.voided.at for r in view.readings if r.voided is not None}
    moments |= {f.raised_at for r in view.readings for f in r.flags if f.raised_at is not None}
    moments |= {e.recorded_at for e in view.events}
    moments |= {c.at for c in view.infusion_end_corrections}
    return sorted(m for m in moments if m > left)


def record_as_of(view: SessionView, moment: datetime) -> SessionView:
    """The record of ``view`` as it stood at ``moment``: what was saved by then (readings,
    corrections, voids, flags, events), with the acknowledgements made by then."""

    def flag_then(flag: FlagView) -> FlagView:
        if flag.acknowledged_at is not None and flag.acknowledged_at > moment:
            return replace(flag, acknowledged_at=None, acknowledged_by=None, action=None)
        return flag

    saved = [r for r in view.readings if r.recorded_at <= moment]
    ids = {r.id for r in saved}
    readings = tuple(
        replace(
            r,
            superseded_by=r.superseded_by if r.superseded_by in ids else None,
            voided=r.voided if r.voided is not None and r.voided.at <= moment else None,
            flags=tuple(
                flag_then(f) for f in r.flags if f.raised_at is None or f.raised_at <= moment
            ),
        )
        for r in saved
    )
    events = tuple(
        replace(e, alarm=None if e.alarm is None else flag_then(e.alarm))
        for e in view.events
        if e.recorded_at <= moment
    )
    return replace(view, readings=readings, events=events)


def ready_minute_proposal(
    view: SessionView,
    *,
    criteria: DischargeCriteria | None = None,
    windows: Windows | None = None,
) -> int | None:
    """The product's proposal of the ready minute on the record as it is now, up to the
    discharge (before discharge: up to the view's moment); None for a session that is not
    esketamine or not dosed. The discharge stores it, and the form recomputes it after a
    change to the record."""
    if view.dosed_at is None or view.schedule is None or expected_dose(view.protocol) is None:
        return None
    return ready_to_leave_minute(
        view.schedule,
        view.dosed_at,
        observations(view.readings),
        view.discharged_at or view.as_of,
        criteria=criteria,
        windows=windows,
        patient=Patient(view.age),
        alarms=event_alarms(view.events),
    )


def decode_proposals(stored: str | Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The proposals stored at discharge (the session's ``rems_at_discharge``), None when not
    stored or unreadable."""
    if stored is None or isinstance(stored, Mapping):
        return stored
    try:
        found = json.loads(stored)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def rems_input(
    view: SessionView,
    corrections: Sequence[Correction] = (),
    submission: Submission | None = None,
    *,
    criteria: DischargeCriteria | None = None,
    windows: Windows | None = None,
    at_discharge: str | Mapping[str, Any] | None = None,
) -> RemsInput:
    """A session view as the REMS core reads it. ``at_discharge``: the proposals stored at
    discharge (the session's ``rems_at_discharge``). Once the record changed after discharge,
    the ready minute is proposed again on the record as it is now, and, with the proposals
    stored, those after each earlier change are computed (to tell which change moved which
    answer: :func:`monitor.core.rems_answers.changed_fields`)."""
    stored = decode_proposals(at_discharge)
    moments = changes_after_discharge(view) if expected_dose(view.protocol) is not None else []
    proposed = view.ready_minute_proposed
    earlier: tuple[tuple[datetime, dict[str, bool | int | None]], ...] = ()
    if moments:
        proposed = ready_minute_proposal(view, criteria=criteria, windows=windows)
        if stored is not None:
            earlier = tuple(
                (t, rems_proposals(record_as_of(view, t), criteria=criteria, windows=windows))
                for t in moments[:-1]
            )
    return RemsInput(
        session_id=view.id,
        patient=view.patient,
        protocol=view.protocol,
        dose_mg=view.dose_mg,
        lot=view.lot,
        first_treatment=view.first_treatment,
        meds=view.meds,
        dosed_at=view.dosed_at,
        discharged_at=view.discharged_at,
        readings=observations(view.readings),
        events=tuple(RemsEvent(e.kind, e.type, e.serious, e.at, e.text) for e in view.events),
        ready_minute=view.ready_minute,
        ready_minute_proposed=proposed,
        ready_minute_by=view.ready_minute_by,
        schedule=view.schedule,
        criteria=criteria,
        windows=windows,
        corrections=tuple(corrections),
        submission=submission,
        signed=view.signed_by is not None,
        at_discharge=stored,
        changed_at=moments[-1] if moments else None,
        earlier_changes=earlier,
    )


def rems_proposals(
    view: SessionView,
    *,
    criteria: DischargeCriteria | None = None,
    windows: Windows | None = None,
) -> dict[str, bool | int | None]:
    """The proposal of every REMS answer (:data:`~monitor.core.rems_answers.FIELDS`) on the
    record as ``view`` shows it, up to its discharge (or its moment, ``as_of``, before it): what
    the discharge stores in ``rems_at_discharge``. Not esketamine: every proposal None."""
    if expected_dose(view.protocol) is None:
        return dict.fromkeys(FIELDS)
    given = rems_input(view, criteria=criteria, windows=windows)
    if view.discharged_at is None:
        # At discharge (the view judged at the discharge time): proposed up to it.
        proposed = ready_minute_proposal(view, criteria=criteria, windows=windows)
        given = replace(given, ready_minute_proposed=proposed)
    return rems_form(given, now=view.discharged_at or view.as_of).proposals()


def rems_changed_after_discharge(
    view: SessionView,
    at_discharge: str | Mapping[str, Any] | None,
    corrections: Sequence[Correction] = (),
    *,
    criteria: DischargeCriteria | None = None,
    windows: Windows | None = None,
) -> tuple[str, ...]:
    """The REMS answers of a discharged session whose proposal now differs from the one
    stored at discharge (``at_discharge``) after a change to the record, and that no
    supervisor has confirmed since (a correction of that answer made after the latest change
    that moved its proposal), in the order of :data:`~monitor.core.rems_answers.FIELDS`: JSON
    ``review.rems_changed_after_discharge``. Empty before discharge, for a session that is
    not esketamine, when nothing was stored or nothing changed."""
    if view.discharged_at is None or decode_proposals(at_discharge) is None:
        return ()
    given = rems_input(
        view, corrections, criteria=criteria, windows=windows, at_discharge=at_discharge
    )
    return rems_form(given, now=view.discharged_at).changed_after_discharge


def rems_corrections(
    session: Session, ids: Sequence[int], users: Mapping[int, str]
) -> dict[int, list[Correction]]:
    """The REMS corrections of the sessions ``ids``, oldest first per session (``users``: the
    names by id), as :func:`rems_input` and :func:`rems_changed_after_discharge` take them."""
    found: dict[int, list[Correction]] = defaultdict(list)
    if not ids:
        return found
    for c in session.scalars(
        select(m.RemsCorrection)
        .where(m.RemsCorrection.session_id.in_(ids))
        .order_by(m.RemsCorrection.id)
    ):
        value = c.minute if c.field == READY_MINUTE else c.value
        assert value is not None  # the table's CHECK constraint
        found[c.session_id].append(
            Correction(c.field, value, users.get(c.by_id, "?"), c.at, c.reason)
        )
    return found
