"""REMS forms of esketamine sessions: the answers computed from the record
(:mod:`monitor.core.rems`), "mark submitted", and a supervisor's corrections of any answer
(docs/clinical.md, "The REMS Patient Monitoring Form").

Submitting and correcting are supervisors' actions, each one transaction with its audit row.
Who may do them, and when, are the core's rules (:mod:`monitor.core.rems_rules`): this module
raises what they refuse. A form is submitted at most once (the database refuses a second row
too).

The record after discharge (docs/clinical.md, "REMS answers after discharge"): the discharge
stores the proposals as they stood (:func:`~monitor.services.rems_record.rems_proposals`, in the
session's ``rems_at_discharge``); a later change to the record may move a proposal, and the
answers so affected that no supervisor has confirmed since
(:func:`~monitor.services.rems_record.rems_changed_after_discharge`,
:meth:`RemsServices._rems_unconfirmed`) hold the sign-off until a ``rems correct`` confirms or
corrects each.

Reads load a batch of sessions at a time with a fixed number of queries, so a long list of due
forms never sits in memory at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from typing import cast

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from monitor.core.intake import expected_dose
from monitor.core.rems import DUE_DAYS, RemsForm, Submission, rems_form
from monitor.core.rems_answers import READY_MINUTE, Correction, answer_value
from monitor.core.rems_rules import (
    CORRECTING,
    SUBMITTING,
    correct_state_refusal,
    discharged_refusal,
    dosed_refusal,
    esketamine_refusal,
    field_refusal,
    minute_refusal,
    submit_state_refusal,
    submitted_value_refusal,
    supervisor_refusal,
    value_refusal,
)
from monitor.core.review import Refusal
from monitor.services.base import ServiceBase, clean_text
from monitor.services.queries import QueryServices
from monitor.services.rems_record import (  # rems_input: the exports import it from here too
    rems_corrections,
    rems_input,
)
from monitor.store import models as m

#: Sessions judged at a time when a list of forms is read.
REMS_BATCH = 50
_ESKETAMINE = m.TreatmentSession.protocol.like("esketamine-%")


@dataclass(frozen=True)
class RemsPage:
    """A list of forms (read as they are computed) and whether a limit left some out."""

    forms: Iterator[RemsForm]
    more: bool


def _refuse(refusal: Refusal | None) -> None:
    """Raise what a rule of :mod:`monitor.core.rems_rules` refuses, if it does."""
    if refusal is not None:
        raise refusal.error()


class RemsServices(ServiceBase):
    """REMS forms: read, mark submitted, correct an answer."""

    #: The zone of the treatment date (None: this machine's local zone).
    rems_zone: tzinfo | None = None

    def today(self) -> date:
        """Today's local date, by the service clock."""
        return self.now().astimezone(self.rems_zone).date()

    # -- reads -------------------------------------------------------------------------

    def _rems_extras(
        self, session: Session, ids: Sequence[int]
    ) -> tuple[dict[int, list[Correction]], dict[int, Submission]]:
        users = {row.id: row.name for row in session.execute(select(m.User.id, m.User.name))}
        corrections = rems_corrections(session, ids, users)
        submissions: dict[int, Submission] = {}
        if not ids:
            return corrections, submissions
        for s in session.scalars(
            select(m.RemsSubmission).where(m.RemsSubmission.session_id.in_(ids))
        ):
            submissions[s.session_id] = Submission(users.get(s.by_id, "?"), s.at)
        return corrections, submissions

    def _forms(self, session: Session, rows: Sequence[m.TreatmentSession]) -> list[RemsForm]:
        # The reads of sessions are QueryServices'; Service composes both.
        views = QueryServices._views(cast(QueryServices, self), session, rows)
        corrections, submissions = self._rems_extras(session, [r.id for r in rows])
        now = self.now()
        forms = []
        for view, row in zip(views, rows, strict=True):
            given = rems_input(
                view,
                corrections.get(view.id, ()),
                submissions.get(view.id),
                criteria=self.config.discharge,
                windows=self.config.windows,
                at_discharge=row.rems_at_discharge,
            )
            forms.append(rems_form(given, now=now, zone=self.rems_zone))
        return forms

    def _rems_unconfirmed(self, session: Session, session_id: int) -> list[str]:
        """The REMS answers of a session that a change after discharge affected and that no
        supervisor has confirmed since (``review sign`` is refused while any is: see
        :func:`monitor.core.rems_rules.unconfirmed_refusal`). Empty for a session that is not
        esketamine, not discharged, or whose proposals were not stored at discharge."""
        row = self._session_row(session, session_id)
        if (
            expected_dose(row.protocol) is None
            or row.discharged_at is None
            or row.rems_at_discharge is None
        ):
            return []
        return list(self._forms(session, [row])[0].changed_after_discharge)

    def rems(self, session_id: int) -> RemsForm:
        """One esketamine session's REMS form as of now."""
        with self._read() as session:
            row = self._session_row(session, session_id)
            _refuse(esketamine_refusal(row.id, row.protocol))
            return self._forms(session, [row])[0]

    def rems_list(self, *, due: bool = False, limit: int | None = None) -> RemsPage:
        """The forms of dosed esketamine sessions. ``due``: those not yet submitted whose due
        date is within the next 7 days or past, oldest first; otherwise every form, newest
        first, the newest ``limit`` (all when None). Read a batch of sessions at a time."""
        today = self.today()
        query = select(m.TreatmentSession.id).where(
            _ESKETAMINE, m.TreatmentSession.dosed_at.is_not(None)
        )
        if due:
            # Due within 7 days means treated by today (local): a day of margin on the UTC
            # side, then the exact date on each form.
            horizon = self.now() + timedelta(days=1)
            query = query.where(
                ~exists().where(m.RemsSubmission.session_id == m.TreatmentSession.id),
                m.TreatmentSession.dosed_at <= horizon,
            ).order_by(m.TreatmentSession.dosed_at, m.TreatmentSession.id)
        else:
            query = query.order_by(m.TreatmentSession.dosed_at.desc(), m.TreatmentSession.id.desc())
        if limit is not None:
            query = query.limit(limit + 1)
        with self._read() as session:
            ids = list(session.scalars(query))
        more = limit is not None and len(ids) > limit
        if more:
            ids = ids[:limit]

        def forms() -> Iterator[RemsForm]:
            for start in range(0, len(ids), REMS_BATCH):
                chunk = ids[start : start + REMS_BATCH]
                with self._read() as session:
                    rows = list(
                        session.scalars(
                            select(m.TreatmentSession).where(m.TreatmentSession.id.in_(chunk))
                        )
                    )
                    rows.sort(key=lambda r: chunk.index(r.id))
                    for form in self._forms(session, rows):
                        if due and (
                            form.due_date is None or (form.due_date - today).days > DUE_DAYS
                        ):
                            continue
                        yield form

        return RemsPage(forms(), more)

    # -- actions -----------------------------------------------------------------------

    def rems_submit(self, session_id: int, *, by: str) -> RemsForm:
        """Mark a session's REMS form submitted (a supervisor): who, when, and the answers as
        they stand are kept. Refused while the patient is in observation, and a second time."""
        now = self.now()
        with self._action() as session:
            user = self._user(session, by)
            _refuse(supervisor_refusal(SUBMITTING, user=user.name, role=user.role))
            row = self._session_row(session, session_id, lock=True)
            _refuse(esketamine_refusal(row.id, row.protocol))
            _refuse(dosed_refusal(row.id, dosed=row.dosed_at is not None))
            earlier = session.scalar(
                select(m.RemsSubmission).where(m.RemsSubmission.session_id == row.id)
            )
            submitted = None
            if earlier is not None:
                who = session.get(m.User, earlier.by_id)
                submitted = Submission(who.name if who else "?", earlier.at)
            _refuse(
                submit_state_refusal(
                    row.id, discharged=row.discharged_at is not None, submission=submitted
                )
            )
            form = self._forms(session, [row])[0]
            today = now.astimezone(self.rems_zone).date()
            answers = form.as_json(today)
            submission = m.RemsSubmission(
                session_id=row.id,
                by_id=user.id,
                at=now,
                answers=json.dumps(answers, sort_keys=True),
            )
            session.add(submission)
            session.flush()
            self._audit(
                session,
                now,
                user,
                "rems.submit",
                "rems_submission",
                submission.id,
                session_id=row.id,
                after={"submitted_by": user.name, "missing": answers["missing"]},
            )
            return self._forms(session, [row])[0]

    def rems_correct(
        self, session_id: int, *, field: str, value: object, reason: str, by: str
    ) -> RemsForm:
        """A supervisor's answer to one of the form's questions (any of
        :data:`~monitor.core.rems_answers.FIELDS`), with the reason; kept beside the proposal
        and the first answer, and the answer on the form until a later one. ``value``: yes/no
        (a bool, or typed ``yes``/``no``/``true``/``false``); for the ready minute a whole
        number from 1 to the minutes monitored. Refused after the form was submitted, except
        the confirmation of an answer a change after discharge affected, with the value the
        form has."""
        _refuse(field_refusal(field))
        answer = answer_value(field, value)
        why = clean_text(reason, "the reason for the correction (--reason)")
        assert why is not None
        now = self.now()
        with self._action() as session:
            user = self._user(session, by)
            _refuse(supervisor_refusal(CORRECTING, user=user.name, role=user.role))
            row = self._session_row(session, session_id, lock=True)
            _refuse(esketamine_refusal(row.id, row.protocol))
            _refuse(dosed_refusal(row.id, dosed=row.dosed_at is not None))
            _refuse(discharged_refusal(row.id, field, discharged=row.discharged_at is not None))
            form = self._forms(session, [row])[0]
            confirming = field in form.changed_after_discharge
            _refuse(
                correct_state_refusal(
                    row.id,
                    signed=self._signed(session, row.id),
                    submitted=form.submitted,
                    confirming=confirming,
                )
            )
            current = form.answer(field)
            if field == READY_MINUTE:
                _refuse(minute_refusal(int(answer), form.minutes_monitored))
            if form.submitted:
                _refuse(submitted_value_refusal(row.id, field, current, answer))
            _refuse(value_refusal(field, current, answer, confirming=confirming))
            correction = m.RemsCorrection(
                session_id=row.id,
                field=field,
                value=None if field == READY_MINUTE else bool(answer),
                minute=int(answer) if field == READY_MINUTE else None,
                by_id=user.id,
                at=now,
                reason=why,
            )
            session.add(correction)
            session.flush()
            self._audit(
                session,
                now,
                user,
                "rems.correct",
                "rems_correction",
                correction.id,
                session_id=row.id,
                before={field: current.value, "proposal": current.proposal},
                # A confirmation of an answer a change after discharge affected says so.
                after={field: answer, **({"confirmed after a change": True} if confirming else {})},
                reason=why,
            )
            return self._forms(session, [row])[0]
