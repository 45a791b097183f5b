"""The REMS Patient Monitoring Form of an esketamine session, computed from the record
(docs/clinical.md, "The REMS Patient Monitoring Form" and the sedation / dissociation / respiratory
depression proposals; "REMS answers after discharge").

Pure: the caller hands in plain values (:class:`RemsInput`); nothing is loaded here. The form's
answers each say where they come from (:mod:`monitor.core.rems_answers`): a proposal computed
from the record, the discharging user's first answer (the ready minute), or a supervisor's
correction (kept beside them, with who and why; the latest is the answer on the form). What the
form still lacks is listed in :attr:`RemsForm.missing`; the form is due 7 calendar days after
the treatment date. After discharge, the answers whose proposal a change to the record moved,
and that no supervisor confirmed since, are :attr:`RemsForm.changed_after_discharge`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from monitor.core.gate import (
    DischargeCriteria,
    evaluate_gate,
    minutes_from_dosing,
    minutes_monitored,
)
from monitor.core.observations import Observation, chronological, in_force
from monitor.core.rems_answers import (
    CORRECTABLE,  # noqa: F401 - named here too (the station's correction dialog)
    FIELDS,
    READY_MINUTE,
    Answer,
    Correction,
    FirstAnswer,
    answer_json,
    changed_fields,
)
from monitor.core.schedule import Protocol, Windows
from monitor.core.vitals import Measure

#: The form is due this many calendar days after the treatment date.
DUE_DAYS = 7
#: The BP check at the esketamine peak.
PEAK_MIN = 40
#: The form's medication questions, by the names ``--meds`` uses.
MED_QUESTIONS = (
    ("benzodiazepines", "benzodiazepines"),
    ("sedative-hypnotics", "non-benzodiazepine sedative hypnotics"),
    ("psychostimulants", "psychostimulants"),
    ("maois", "MAOIs"),
)
#: Proposal thresholds (docs/clinical.md): sedation MOAA/S <= 3; dissociation CADSS > 4;
#: respiratory depression RR <= 8 or SpO2 <= 91, or an oxygen intervention.
SEDATION_MOAAS_MAX = 3
DISSOCIATION_CADSS_ABOVE = 4
RESP_RATE_MAX = 8
SPO2_MAX = 91


@dataclass(frozen=True)
class RemsEvent:
    """An event of the session as the form reads it."""

    kind: str
    type: str | None
    serious: bool | None
    at: datetime
    text: str


@dataclass(frozen=True)
class Submission:
    """The form marked submitted: who and when."""

    by: str
    at: datetime


@dataclass(frozen=True)
class RemsInput:
    """What the form is computed from: one esketamine session's record, as plain values."""

    session_id: int
    patient: str
    protocol: str
    dose_mg: float | None
    lot: str | None
    first_treatment: bool | None
    #: () for "none", None when not asked.
    meds: tuple[str, ...] | None
    dosed_at: datetime | None
    discharged_at: datetime | None
    #: Every saved reading with its flags (corrected and voided ones too).
    readings: Sequence[Observation]
    events: Sequence[RemsEvent] = ()
    #: The discharging user's answer to the ready-minute question, and who gave it.
    ready_minute: int | None = None
    #: The product's proposal of the ready minute as the record stands (after discharge: on
    #: the record as it is now, late entries and corrections included).
    ready_minute_proposed: int | None = None
    ready_minute_by: str | None = None
    schedule: Protocol | None = None
    criteria: DischargeCriteria | None = None
    windows: Windows | None = None
    #: Corrections in the order they were made (a later one for a field replaces the earlier).
    corrections: Sequence[Correction] = ()
    submission: Submission | None = None
    #: True while a supervisor's sign-off stands (the form then takes no correction).
    signed: bool = False
    #: The proposals stored at discharge (:meth:`RemsForm.proposals` then), None when not
    #: stored; the latest change to the record after discharge (None: none); and the proposals
    #: after each earlier change since discharge, oldest first (those after the latest are
    #: the form's own).
    at_discharge: Mapping[str, Any] | None = None
    changed_at: datetime | None = None
    earlier_changes: Sequence[tuple[datetime, Mapping[str, bool | int | None]]] = ()


@dataclass(frozen=True)
class BloodPressure:
    """One BP of the form, from the reading it was taken from."""

    systolic: int
    diastolic: int
    measured_at: datetime
    minute: int | None  # minutes after dosing (negative before)

    def __str__(self) -> str:
        when = "" if self.minute is None else f" at {self.minute:+d} min"
        return f"{self.systolic}/{self.diastolic}{when}"


@dataclass(frozen=True)
class RemsForm:
    """The form's answers for one session, what is missing, and when it is due."""

    session_id: int
    patient: str
    first_treatment: bool | None
    #: Each of :data:`MED_QUESTIONS` answered yes/no, or None when the medication was not asked.
    meds: dict[str, bool | None]
    dose: str | None
    lot: str | None
    treatment_date: date | None
    due_date: date | None
    minutes_monitored: int | None
    #: ``discharge`` or ``now`` (still in observation): where the minutes monitored end.
    monitored_until: str | None
    bp_before: BloodPressure | None
    bp_at_40: BloodPressure | None
    bp_end: BloodPressure | None
    vitals_ok_before: Answer[bool]
    vitals_ok_end: Answer[bool]
    sedation: Answer[bool]
    dissociation: Answer[bool]
    respiratory_depression: Answer[bool]
    #: The serious adverse events recorded (the evidence of :attr:`serious_adverse_event`).
    serious_adverse_events: tuple[str, ...]
    serious_adverse_event: Answer[bool]
    #: "If there were no 2-hour minimum, when would this patient have been ready to leave?"
    ready: Answer[int]
    missing: tuple[str, ...]
    submission: Submission | None = None
    corrections: tuple[Correction, ...] = field(default_factory=tuple)
    #: False while the patient is still in observation (then "not discharged" is missing, and
    #: the form is submitted only after discharge).
    discharged: bool = True
    #: True while the session is signed off (:func:`monitor.core.rems_rules.correct_refusal`).
    signed: bool = False
    #: The proposals stored at discharge (None: not stored).
    at_discharge: Mapping[str, Any] | None = None
    #: The answers whose proposal changed after discharge and that no supervisor confirmed
    #: since (:func:`monitor.core.rems_answers.changed_fields`), in the order of the form.
    changed_after_discharge: tuple[str, ...] = ()

    @property
    def ready_minute(self) -> int | None:
        """The ready minute on the form: the latest correction, else the first answer."""
        return self.ready.value

    @property
    def ready_minute_proposed(self) -> int | None:
        """The product's proposal of the ready minute."""
        return self.ready.proposal

    @property
    def ready_minute_by(self) -> str | None:
        """Who gave the ready minute on the form."""
        return self.ready.by

    def proposals(self) -> dict[str, bool | int | None]:
        """The proposal of every answer (:data:`~monitor.core.rems_answers.FIELDS`), as they
        are stored at discharge."""
        return {name: self.answer(name).proposal for name in FIELDS}

    @property
    def submitted(self) -> bool:
        """True once marked submitted."""
        return self.submission is not None

    def status(self, today: date) -> str:
        """``submitted``, ``overdue``, ``due today`` or ``due in N days``."""
        if self.submission is not None:
            return "submitted"
        if self.due_date is None:
            return "not dosed"
        days = (self.due_date - today).days
        if days < 0:
            return f"overdue ({-days} d)"
        if days == 0:
            return "due today"
        return f"due in {days} day{'s' if days != 1 else ''}"

    def answer(self, name: str) -> Answer[Any]:
        """One of the answers (:data:`~monitor.core.rems_answers.FIELDS`) by its name."""
        if name == READY_MINUTE:
            return self.ready
        if name not in FIELDS:
            raise KeyError(name)
        value: Answer[Any] = getattr(self, name)
        return value

    def as_json(self, today: date) -> dict[str, Any]:
        """The form as a JSON object (``rems show --json``, ``rems --json``)."""
        return {
            "session": self.session_id,
            "patient": self.patient,
            "first_treatment": self.first_treatment,
            "meds": self.meds,
            "dose": self.dose,
            "lot": self.lot,
            "treatment_date": _day(self.treatment_date),
            "due_date": _day(self.due_date),
            "status": self.status(today),
            "minutes_monitored": self.minutes_monitored,
            "monitored_until": self.monitored_until,
            "bp_before_dosing": _bp_json(self.bp_before),
            "bp_at_40_min": _bp_json(self.bp_at_40),
            "bp_before_end": _bp_json(self.bp_end),
            "vitals_acceptable_before_dosing": answer_json(
                self.vitals_ok_before, "vitals_ok_before"
            ),
            "vitals_acceptable_at_end": answer_json(self.vitals_ok_end, "vitals_ok_end"),
            "sedation": answer_json(self.sedation, "sedation"),
            "dissociation": answer_json(self.dissociation, "dissociation"),
            "respiratory_depression": answer_json(
                self.respiratory_depression, "respiratory_depression"
            ),
            "serious_adverse_events": list(self.serious_adverse_events),
            "ready_minute": self.ready_minute,
            "ready_minute_proposed": self.ready_minute_proposed,
            "ready_minute_by": self.ready_minute_by,
            "answers": {name: answer_json(self.answer(name), name) for name in FIELDS},
            "proposals_at_discharge": None
            if self.at_discharge is None
            else {name: self.at_discharge.get(name) for name in FIELDS},
            "changed_after_discharge": list(self.changed_after_discharge),
            "missing": list(self.missing),
            "submitted": None
            if self.submission is None
            else {"by": self.submission.by, "at": self.submission.at.isoformat()},
            "corrections": [
                {
                    "field": c.field,
                    "value": c.value,
                    "by": c.by,
                    "at": c.at.isoformat(),
                    "reason": c.reason,
                }
                for c in self.corrections
            ],
        }


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _bp_json(bp: BloodPressure | None) -> dict[str, Any] | None:
    if bp is None:
        return None
    return {
        "systolic": bp.systolic,
        "diastolic": bp.diastolic,
        "measured_at": bp.measured_at.isoformat(),
        "minute": bp.minute,
    }


def due_date(treatment_date: date) -> date:
    """The form is due 7 calendar days after the treatment date."""
    return treatment_date + timedelta(days=DUE_DAYS)


def treatment_date(dosed_at: datetime, zone: tzinfo | None = None) -> date:
    """The local date of dosing (``zone``; ``None`` is this machine's zone)."""
    return dosed_at.astimezone(zone).date()


def _bp(reading: Observation, dosed_at: datetime | None) -> BloodPressure:
    systolic, diastolic = reading.vitals.systolic, reading.vitals.diastolic
    assert systolic is not None
    assert diastolic is not None
    minute = None if dosed_at is None else minutes_from_dosing(dosed_at, reading.measured_at)
    return BloodPressure(systolic, diastolic, reading.measured_at, minute)


def _minute(moment: datetime, dosed_at: datetime | None) -> str:
    if dosed_at is None:
        return moment.isoformat(timespec="minutes")
    return f"{minutes_from_dosing(dosed_at, moment):+d} min"


def _proposal(
    found: list[str] | tuple[str, ...], correction: Correction | None, *, known: bool = True
) -> Answer[bool]:
    proposal = bool(found) if known or found else None
    return _judged(proposal, tuple(found), correction)


def _judged(
    proposal: bool | None, evidence: tuple[str, ...], correction: Correction | None
) -> Answer[bool]:
    """A yes/no answer: the correction in force, else the proposal."""
    value = bool(correction.value) if correction is not None else proposal
    return Answer(value, proposal, evidence, correction)


def _ready(given: RemsInput, correction: Correction | None) -> Answer[int]:
    """The ready minute: the correction in force, else the discharging user's answer."""
    first = None
    if given.ready_minute is not None:
        first = FirstAnswer(given.ready_minute, given.ready_minute_by)
    value = int(correction.value) if correction is not None else given.ready_minute
    return Answer(value, given.ready_minute_proposed, (), correction, first)


def rems_form(given: RemsInput, *, now: datetime, zone: tzinfo | None = None) -> RemsForm:
    """The form's answers for one esketamine session at ``now`` (the end of monitoring is the
    discharge, or ``now`` while the patient is still in observation)."""
    dosed = given.dosed_at
    end = given.discharged_at or now
    current = chronological(in_force(given.readings))
    missing: list[str] = []
    latest = latest_corrections(given.corrections)

    if given.first_treatment is None:
        missing.append("first treatment not answered")
    if given.meds is None:
        missing.append("concomitant medication not answered")
        meds: dict[str, bool | None] = {key: None for key, _ in MED_QUESTIONS}
    else:
        meds = {key: key in given.meds for key, _ in MED_QUESTIONS}
    if given.dose_mg is None:
        dose = None
        missing.append("no dose recorded")
    elif given.dose_mg in (56, 84):
        dose = f"{given.dose_mg:g} mg"
    else:
        dose = f"other ({given.dose_mg:g} mg)"
    if not given.lot:
        missing.append("no lot number")

    treated = treatment_date(dosed, zone) if dosed is not None else None
    if dosed is None:
        missing.append("dose not given")

    minutes = minutes_monitored(dosed, end)
    until = "discharge" if given.discharged_at is not None else "now"
    if given.discharged_at is None:
        missing.append("not discharged")

    with_bp = [r for r in current if r.has_bp() and r.measured_at <= end]
    bp_before = bp_40 = bp_end = None
    if dosed is not None:
        before = [r for r in with_bp if r.measured_at <= dosed]
        after = [r for r in with_bp if r.measured_at > dosed]
        if before:
            bp_before = _bp(before[-1], dosed)
        windows = given.windows or Windows()
        peak = dosed + timedelta(minutes=PEAK_MIN)
        near = [
            r
            for r in after
            if peak - timedelta(minutes=windows.early_min)
            <= r.measured_at
            <= peak + timedelta(minutes=windows.late_min)
        ]
        if near:
            bp_40 = _bp(min(near, key=lambda r: (abs(r.measured_at - peak), r.measured_at)), dosed)
        if after:
            bp_end = _bp(after[-1], dosed)
    if bp_before is None:
        missing.append("no BP before dosing")
    if bp_40 is None:
        missing.append("no BP near 40 min after dosing")
    if bp_end is None:
        missing.append("no BP after dosing before the end")

    # Vitals acceptable before dosing: the latest value of each measure before dosing carries
    # no medium or high flag.
    ok_before: Answer[bool]
    if dosed is None or not any(r.measured_at <= dosed for r in current):
        ok_before = _judged(None, ("no reading before dosing",), latest.get("vitals_ok_before"))
    else:
        problems = _flagged_latest([r for r in current if r.measured_at <= dosed])
        ok_before = _judged(not problems, tuple(problems), latest.get("vitals_ok_before"))
    # At the end: the gate's value conditions on the latest values (no medium/high flag on
    # any, MOAA/S, CADSS and SpO2 within the discharge criteria).
    ok_end: Answer[bool]
    if dosed is None or given.schedule is None:
        ok_end = _judged(None, ("dose not given",), latest.get("vitals_ok_end"))
    else:
        gate = evaluate_gate(
            given.schedule,
            dosed,
            [r for r in given.readings if r.measured_at <= end],
            end,
            criteria=given.criteria,
            windows=given.windows,
            include_minimum=False,
            include_pre_discharge=False,
        )
        failures = [
            i.detail or i.label for i in gate.items if i.label.startswith("latest") and not i.ok
        ]
        ok_end = _judged(not failures, tuple(failures), latest.get("vitals_ok_end"))

    sedated = [
        f"MOAA/S {r.vitals.moaas} at {_minute(r.measured_at, dosed)}"
        for r in current
        if r.vitals.moaas is not None and r.vitals.moaas <= SEDATION_MOAAS_MAX
    ]
    dissociated = [
        f"CADSS {r.vitals.cadss} at {_minute(r.measured_at, dosed)}"
        for r in current
        if r.vitals.cadss is not None and r.vitals.cadss > DISSOCIATION_CADSS_ABOVE
    ]
    breathing = [
        f"{measure.abbreviation} {value} at {_minute(r.measured_at, dosed)}"
        for r in current
        for measure, limit in ((Measure.RESP_RATE, RESP_RATE_MAX), (Measure.SPO2, SPO2_MAX))
        if (value := r.vitals.get(measure)) is not None and value <= limit
    ] + [
        f"oxygen given at {_minute(e.at, dosed)}: {e.text}"
        for e in given.events
        if e.kind == "intervention" and e.type == "oxygen"
    ]
    has = {m: any(r.vitals.get(m) is not None for r in current) for m in Measure}
    if not has[Measure.MOAAS]:
        missing.append("no MOAA/S recorded (sedation)")
    if not has[Measure.CADSS]:
        missing.append("no CADSS recorded (dissociation)")
    if not (has[Measure.SPO2] or has[Measure.RESP_RATE]):
        missing.append("no SpO2 or RR recorded (respiratory depression)")

    serious = tuple(
        f"{e.type or 'adverse event'} at {_minute(e.at, dosed)}: {e.text}"
        for e in given.events
        if e.kind == "adverse" and e.serious
    )
    ready = _ready(given, latest.get(READY_MINUTE))
    if given.discharged_at is not None and ready.value is None:
        missing.append("no ready-to-leave minute confirmed")

    form = RemsForm(
        session_id=given.session_id,
        patient=given.patient,
        first_treatment=given.first_treatment,
        meds=meds,
        dose=dose,
        lot=given.lot or None,
        treatment_date=treated,
        due_date=None if treated is None else due_date(treated),
        minutes_monitored=minutes,
        monitored_until=until if minutes is not None else None,
        bp_before=bp_before,
        bp_at_40=bp_40,
        bp_end=bp_end,
        vitals_ok_before=ok_before,
        vitals_ok_end=ok_end,
        sedation=_proposal(sedated, latest.get("sedation"), known=has[Measure.MOAAS]),
        dissociation=_proposal(dissociated, latest.get("dissociation"), known=has[Measure.CADSS]),
        respiratory_depression=_proposal(
            breathing,
            latest.get("respiratory_depression"),
            known=has[Measure.SPO2] or has[Measure.RESP_RATE],
        ),
        serious_adverse_events=serious,
        serious_adverse_event=_proposal(serious, latest.get("serious_adverse_event")),
        ready=ready,
        missing=tuple(missing),
        submission=given.submission,
        corrections=tuple(given.corrections),
        discharged=given.discharged_at is not None,
        signed=given.signed,
    )
    if given.discharged_at is None or given.at_discharge is None:
        return form
    changed: tuple[str, ...] = ()
    if given.changed_at is not None:
        history = [*given.earlier_changes, (given.changed_at, form.proposals())]
        changed = changed_fields(given.at_discharge, history, given.corrections)
    return replace(form, at_discharge=given.at_discharge, changed_after_discharge=changed)


def _flagged_latest(readings: list[Observation]) -> list[str]:
    """A line for each measure whose latest value carries a medium or high flag."""
    problems = []
    for measure in Measure:
        holding = [r for r in readings if r.vitals.get(measure) is not None]
        if not holding:
            continue
        last = holding[-1]
        for f in last.flags:
            if f.flag.measure == measure.value and f.flag.severity.needs_action:
                problems.append(f"{f.flag.severity.value}: {f.flag.message}")
    return problems


def latest_corrections(corrections: Sequence[Correction]) -> Mapping[str, Correction]:
    """The correction in force per field: the latest made."""
    found: dict[str, Correction] = {}
    for c in corrections:
        found[c.field] = c
    return found
