"""The discharge gate and the record after discharge of clinical revision 3, through the
services on SQLite and PostgreSQL (docs/clinical.md, "Discharge gate", "Times", "Corrections
and voids", "Review and sign-off"; the cases of issue #19)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.core.schedule import CheckKind, status_text
from monitor.errors import EntryError, GateNotMet, PermissionDenied, Refused
from tests.helpers import at

OK = "120/80 hr 70 spo2 98 rr 14 moaas 5 cadss 0"
HOME = {"escort": "partner", "instructions_given": True}


def start(service, **kwargs) -> int:
    options = {
        "patient": "P1",
        "protocol": "esketamine-84",
        "by": "ana",
        "age": 52,
        "meds": (),
    } | kwargs
    return service.start_session(**options)


def dosed(service, clock, *, protocol="esketamine-84", baseline=OK) -> int:
    """A session started at -40, its baseline at -5, dosed at 0 by ana."""
    clock.set(at(-40))
    sid = start(service, protocol=protocol)
    clock.set(at(-5))
    service.record_reading(sid, baseline, by="ana")
    clock.set(at(0))
    service.record_dose(sid, by="ana")
    return sid


def record_at(service, clock, sid, minute, entry=OK, by="ana"):
    clock.set(at(minute))
    return service.record_reading(sid, entry, by=by)


def good_session(service, clock) -> int:
    sid = dosed(service, clock)
    for minute in (40, 90, 118):
        record_at(service, clock, sid, minute)
    return sid


def reasons_of(refused: pytest.ExceptionInfo[GateNotMet]) -> list[str]:
    return list(refused.value.reasons)


# -- times ----------------------------------------------------------------------------


@pytest.mark.parametrize("ahead", [timedelta(seconds=1), timedelta(minutes=2)])
def test_a_discharge_time_in_the_future_is_refused(service, clock, ahead):
    sid = good_session(service, clock)
    now = clock.set(at(125))
    with pytest.raises(EntryError, match="in the future"):
        service.discharge(sid, by="ana", at=now + ahead, **HOME)
    assert service.session(sid).discharged_at is None
    assert service.discharge(sid, by="ana", at=now, **HOME).discharged_at == now


def test_a_reading_timed_ahead_counts_only_from_its_time(service, clock):
    # revision 3: the 2-min tolerance no longer lets a patient leave on readings timed ahead
    sid = dosed(service, clock)
    for minute in (40, 90):
        record_at(service, clock, sid, minute)
    clock.set(at(118))
    service.record_reading(sid, OK, by="ana", measured_at=at(120))  # timed 2 min ahead
    view = service.session(sid)
    assert not view.gate.ready
    assert "pre-discharge check (+120 min) not done" in view.gate.reasons
    # at real +118 the patient leaves neither at +118 (before that reading) nor at +120
    with pytest.raises(EntryError, match="before the latest reading"):
        service.discharge(sid, by="ana", **HOME)
    with pytest.raises(EntryError, match="in the future"):
        service.discharge(sid, by="ana", at=at(120), **HOME)
    clock.set(at(120))
    assert service.session(sid).gate.ready
    assert service.discharge(sid, by="ana", **HOME).stored_gate.ready


# -- a full set within 30 min ---------------------------------------------------------------


def test_no_full_set_within_30_min_blocks(service, clock):
    sid = dosed(service, clock)
    for minute in (40, 90, 116):  # the pre-discharge check done at +116
        record_at(service, clock, sid, minute)
    clock.set(at(360))
    with pytest.raises(GateNotMet) as refused:
        service.discharge(sid, by="ana", **HOME)
    assert reasons_of(refused) == [
        "no full set in the last 30 min: record bp hr spo2 moaas cadss before discharge"
    ]
    record_at(service, clock, sid, 350, "120/80 hr 70 spo2 98")
    record_at(service, clock, sid, 355, "moaas 5 cadss 0")  # a full set between them
    clock.set(at(360))
    view = service.discharge(sid, by="ana", **HOME)
    assert view.stored_gate.ready and view.override_reason is None


# -- the BP ceiling ---------------------------------------------------------------------


def dosed_by_override(service, clock) -> int:
    """Dosed at 0 without a baseline: overridden by ana, co-signed by sam."""
    clock.set(at(-30))
    sid = start(service)
    clock.set(at(0))
    service.record_dose(sid, by="ana", override_reason="baseline on paper", cosign="sam")
    return sid


def test_bp_175_105_without_a_baseline_blocks(service, clock):
    sid = dosed_by_override(service, clock)
    for minute in (40, 90):
        record_at(service, clock, sid, minute)
    reading = record_at(service, clock, sid, 118, "175/105 hr 70 spo2 98 rr 14 moaas 5 cadss 0")
    assert not [f for f in reading.flags if f.severity.needs_action]  # no flag: no baseline
    clock.set(at(121))
    with pytest.raises(GateNotMet) as refused:
        service.discharge(sid, by="ana", **HOME)
    assert reasons_of(refused) == ["latest BP is 175/105 (must be <= 159/99, no baseline)"]


def test_bp_no_higher_than_the_baseline_passes_the_ceiling(service, clock):
    clock.set(at(-40))
    sid = start(service)
    clock.set(at(-5))
    base = service.record_reading(sid, "170/100 hr 70 spo2 98 rr 14 moaas 5 cadss 0", by="ana")
    service.acknowledge_many([f.id for f in base.flags], by="sam", action="Dr K: usual BP, proceed")
    clock.set(at(0))
    service.record_dose(sid, by="ana")
    for minute in (40, 90, 118):
        record_at(service, clock, sid, minute, "165/100 hr 70 spo2 98 rr 14 moaas 5 cadss 0")
    clock.set(at(121))
    view = service.session(sid)
    ceiling = next(i for i in view.gate.items if i.label.startswith("latest BP <="))
    assert ceiling.ok
    assert view.gate.ready, view.gate.reasons
    assert service.discharge(sid, by="ana", **HOME).stored_gate.ready


# -- escort and the no-driving instruction ---------------------------------------------------


def test_escort_and_no_driving_instruction_are_required(service, clock):
    sid = good_session(service, clock)
    clock.set(at(121))
    with pytest.raises(GateNotMet) as refused:
        service.discharge(sid, by="ana")
    assert reasons_of(refused) == [
        "escort not recorded: a name or relation, or none: why",
        "no-driving instruction not given: tell the patient not to drive until the next day "
        "after a restful sleep",
    ]
    with pytest.raises(GateNotMet) as refused:
        service.discharge(sid, by="ana", escort="partner")
    assert [r.split(":")[0] for r in reasons_of(refused)] == ["no-driving instruction not given"]
    with pytest.raises(GateNotMet) as refused:
        service.discharge(sid, by="ana", instructions_given=True)
    assert [r.split(":")[0] for r in reasons_of(refused)] == ["escort not recorded"]
    with pytest.raises(EntryError, match="empty"):
        service.discharge(sid, by="ana", escort="   ", instructions_given=True)
    assert service.session(sid).discharged_at is None
    view = service.discharge(
        sid, by="ana", escort="none: walks to the hotel next door", instructions_given=True
    )
    assert (view.escort, view.instructions_given) == ("none: walks to the hotel next door", True)
    assert view.stored_gate.ready


# -- IV: the infusion end ---------------------------------------------------------------


def test_iv_without_an_infusion_end_cannot_be_discharged(service, clock):
    sid = dosed(service, clock, protocol="ketamine-iv")
    for minute in (40, 70, 100):
        record_at(service, clock, sid, minute)
    clock.set(at(102))
    with pytest.raises(GateNotMet) as refused:
        service.discharge(sid, by="ana", **HOME)
    assert reasons_of(refused) == [
        "infusion end not recorded: record when the infusion ended "
        "(i on the station, or session infusion-end)"
    ]
    assert service.record_infusion_end(sid, by="ana", at=at(40)) == at(40)
    view = service.discharge(sid, by="ana", **HOME)
    assert view.stored_gate.ready
    assert (view.infusion_ended_at, view.infusion_ended_by) == (at(40), "ana")


def test_the_infusion_end_can_be_corrected_keeping_the_first(service, clock):
    sid = dosed(service, clock, protocol="ketamine-iv")
    clock.set(at(45))
    service.record_infusion_end(sid, by="ana", at=at(40))
    with pytest.raises(Refused, match="already recorded"):
        service.record_infusion_end(sid, by="ana", at=at(42))  # no reason: not a correction
    with pytest.raises(PermissionDenied, match="did not record"):
        service.record_infusion_end(sid, by="bo", at=at(42), reason="pump log says 09:42")
    assert service.session(sid).infusion_ended_at == at(40)

    clock.set(at(46))
    service.record_infusion_end(sid, by="ana", at=at(42), reason="pump log says 09:42")
    clock.set(at(47))
    service.record_infusion_end(sid, by="sam", at=at(41), reason="pump log read again: 09:41")
    view = service.session(sid)
    assert (view.infusion_ended_at, view.infusion_ended_by) == (at(41), "ana")
    fixes = view.infusion_end_corrections
    assert [(c.previous, c.ended_at, c.by, c.reason) for c in fixes] == [
        (at(40), at(42), "ana", "pump log says 09:42"),
        (at(42), at(41), "sam", "pump log read again: 09:41"),
    ]
    assert fixes[0].previous == at(40)  # the first value kept
    # the post-infusion checks count from the corrected end
    due = {c.label: c.due_at for c in view.checks if c.kind is CheckKind.SCHEDULED}
    assert due[max(due, key=lambda label: due[label])] == at(41 + 60)
    actions = [a.action for a in service.audit(sid)]
    assert actions.count("session.infusion_end.correct") == 2


# -- overrides need a clinician ---------------------------------------------------------


def test_a_nurses_override_needs_a_supervisors_cosignature(service, clock):
    sid = dosed(service, clock)
    record_at(service, clock, sid, 40)
    clock.set(at(60))
    override = {"override_reason": "transferred to ED", **HOME}
    with pytest.raises(PermissionDenied, match="needs a clinician"):
        service.discharge(sid, by="ana", **override)
    with pytest.raises(PermissionDenied, match="must be a supervisor"):
        service.discharge(sid, by="ana", cosign="bo", **override)
    assert service.session(sid).discharged_at is None
    view = service.discharge(sid, by="ana", cosign="sam", **override)
    assert view.discharge_cosigned_by == "sam"
    assert (view.discharged_by, view.override_reason) == ("ana", "transferred to ED")
    entry = service.audit(sid)[-1]
    assert entry.action == "session.discharge" and '"cosigned_by": "sam"' in entry.after


def test_a_supervisor_overrides_alone(service, clock):
    sid = dosed(service, clock)
    clock.set(at(60))
    view = service.discharge(sid, by="sam", override_reason="transferred to ED", **HOME)
    assert (view.discharged_by, view.discharge_cosigned_by) == ("sam", None)


def test_a_nurses_dosing_override_needs_a_cosignature(service, clock):
    clock.set(at(-30))
    sid = start(service)
    clock.set(at(0))
    with pytest.raises(PermissionDenied, match="needs a clinician"):
        service.record_dose(sid, by="ana", override_reason="baseline on paper")
    assert service.session(sid).dosed_at is None
    service.record_dose(sid, by="ana", override_reason="baseline on paper", cosign="sam")
    view = service.session(sid)
    assert (view.dosed_by, view.dose_override_by, view.dose_override_cosigned_by) == (
        "ana",
        "ana",
        "sam",
    )


def test_an_early_override_ends_observation_early(service, clock):
    sid = dosed(service, clock)
    record_at(service, clock, sid, 40)
    clock.set(at(60))
    view = service.discharge(
        sid, by="ana", override_reason="left against advice", cosign="sam", **HOME
    )
    assert view.ended_early
    assert view.stored_gate.record["ended_early"] is True
    after = {
        c.label: c
        for c in view.checks
        if c.kind is CheckKind.SCHEDULED
        and c.due_at is not None
        and c.due_at > at(60) + timedelta(minutes=5)
    }
    assert set(after) == {"+90 min", "+120 min"}
    for check in after.values():
        assert check.status.value == "not_reached"
        assert status_text(check, view.discharged_at) == "observation ended early (override)"


def test_a_discharge_that_meets_the_gate_has_not_ended_early(service, clock):
    sid = good_session(service, clock)
    clock.set(at(121))
    view = service.discharge(sid, by="ana", **HOME)
    assert not view.ended_early and view.stored_gate.record["ended_early"] is False


# -- a baseline changed after dosing ------------------------------------------------------


def test_a_baseline_entered_late_rejudges_the_rise_rule(service, clock):
    sid = dosed_by_override(service, clock)
    high = "178/104 hr 70 spo2 98 rr 14 moaas 5 cadss 0"
    readings = [record_at(service, clock, sid, minute, high) for minute in (40, 90, 120)]
    assert not any(f.severity.needs_action for r in readings for f in r.flags)
    clock.set(at(125))
    service.record_reading(sid, "120/70 hr 70 spo2 98", by="ana", measured_at=at(-5))
    view = service.session(sid)
    raised = [f for r in view.readings for f in r.flags if f.raised_by == "baseline change"]
    assert {(f.reading_id, f.rule) for f in raised} == {
        (r.id, rule) for r in readings for rule in ("bp.rise.systolic", "bp.rise.diastolic")
    }
    assert all("raised when the baseline changed" in f.message for f in raised)
    assert all(f.raised_at == at(125) and not f.acknowledged for f in raised)
    assert any(r.startswith("latest BP 178/104 raises a medium flag") for r in view.gate.reasons)
    assert "6 medium/high flags not acknowledged" in view.gate.reasons
    with pytest.raises(GateNotMet):
        service.discharge(sid, by="ana", **HOME)
    # no flag ever disappears: a second late baseline raises nothing twice
    clock.set(at(126))
    service.record_reading(sid, "121/70", by="ana", measured_at=at(-4))
    again = [f for r in service.session(sid).readings for f in r.flags if f.raised_by != "reading"]
    assert {f.id for f in again} == {f.id for f in raised}


# -- the record after discharge -------------------------------------------------------------


def test_a_late_entry_after_discharge_is_accepted_and_marked(service, clock):
    sid = good_session(service, clock)
    clock.set(at(121))
    service.discharge(sid, by="ana", **HOME)
    clock.set(at(150))
    with pytest.raises(EntryError, match="after the discharge"):
        service.record_reading(sid, OK, by="ana", measured_at=at(122))
    late = service.record_reading(sid, "hr 72 spo2 97", by="bo", measured_at=at(100))
    shown = service.session(sid).reading(late.id)
    assert shown is not None and shown.entered_after_discharge and shown.late_entry
    before = [r for r in service.session(sid).readings if r.id != late.id]
    assert not any(r.entered_after_discharge for r in before)
    assert service.session(sid).stored_gate.ready  # the stored gate stands


def test_a_supervisors_correction_after_discharge_keeps_sign_off_waiting(service, clock):
    sid = good_session(service, clock)
    clock.set(at(121))
    service.discharge(sid, by="ana", **HOME)
    last = service.session(sid).readings[-1]
    clock.set(at(140))
    fixed = service.amend(last.id, "186/96", by="sam", reason="typed from the wrong row")
    high = [f for f in fixed.flags if f.severity.rank == 3]
    assert high
    view = service.session(sid)
    assert view.reading(fixed.id).entered_after_discharge
    assert {f.id for f in view.open_flags()} >= {f.id for f in high}
    assert view.stored_gate.ready
    assert view.gate_now is not None and not view.gate_now.ready
    with pytest.raises(Refused, match="unacknowledged"):
        service.sign(sid, by="sam", pin="9999")
    assert service.session(sid).signed_by is None
    service.acknowledge_many(
        [f.id for f in view.open_flags()], by="sam", action="patient called: at home, well"
    )
    # The REMS answers the correction moved wait for a supervisor's confirmation.
    changed = service.session(sid).rems_changed_after_discharge
    assert "vitals_ok_end" in changed
    with pytest.raises(Refused, match="REMS answers changed after discharge"):
        service.sign(sid, by="sam", pin="9999")
    form = service.rems(sid)
    for field in changed:
        proposal = form.answer(field).proposal
        if field == "ready_minute":  # no proposal holds now: the clinician keeps the answer
            value = proposal if proposal is not None else service.session(sid).ready_minute
        else:
            value = "no" if proposal is None else proposal
        service.rems_correct(
            sid, field=field, value=value, by="sam", reason="reviewed after the correction"
        )
    assert service.sign(sid, by="sam", pin="9999").signed_by == "sam"


def test_a_correction_is_not_a_late_entry(service, clock):
    sid = dosed(service, clock)
    on_time = record_at(service, clock, sid, 40, "120/80 hr 70 spo2 98 moaas 5 cadss 0")
    clock.set(at(70))
    fixed = service.amend(on_time.id, "hr 72", by="sam", reason="typed 70 for 72")
    view = service.session(sid)
    assert not view.reading(fixed.id).late_entry
    assert not view.reading(on_time.id).late_entry
    # a correction that adds a measure the original lacked is a late entry (for that measure)
    added = service.amend(fixed.id, "rr 14", by="sam", reason="RR was on the paper chart")
    assert service.session(sid).reading(added.id).late_entry
    # a late original keeps its own mark; its correction carries none
    clock.set(at(80))
    late = service.record_reading(sid, OK, by="ana", measured_at=at(60))
    clock.set(at(85))
    fixed_late = service.amend(late.id, "hr 71", by="ana", reason="typo")
    view = service.session(sid)
    assert view.reading(late.id).late_entry
    assert not view.reading(fixed_late.id).late_entry
